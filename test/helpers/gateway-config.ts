/**
 * The test gateway's fixed values (session keys, client id and secret, repository root) and the
 * configuration tree every test gateway starts from.
 */
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import type { configShape } from '../../src/config/schema-shape.js';

/** A valid 32-byte session key for tests (base64). */
export const TEST_SESSION_KEY = Buffer.alloc(32, 0x5a).toString('base64');
/** A second key, for rotation tests. */
export const OTHER_SESSION_KEY = Buffer.alloc(32, 0x3c).toString('base64');
/** The test client's secret; tests assert it never appears in logs. */
export const TEST_CLIENT_SECRET = 'test-client-secret-do-not-log-4f9a';
/** The test client id. */
export const TEST_CLIENT_ID = 'authgate-test';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A configuration file's content, typed as the schema's input (what a YAML file may say). */
export type AnyConfigTree = z.input<typeof configShape>;
/** A configuration with one provider under `oidc:`, as most tests write it. */
export type ConfigTree = AnyConfigTree & { oidc: NonNullable<AnyConfigTree['oidc']> };

/** A configuration tree for one upstream at `/`, open to any signed-in user. */
export function baseConfig(options: { publicUrl: string; issuer: string; upstreamUrl: string; listenPort: number }): ConfigTree {
  return {
    server: { listen: `127.0.0.1:${options.listenPort}`, publicUrl: options.publicUrl, shutdownDelay: '100ms' },
    oidc: {
      issuer: options.issuer,
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      allowInsecureHttp: true,
      scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    },
    session: { keys: [TEST_SESSION_KEY] },
    upstreams: [{ name: 'app', path: '/', url: options.upstreamUrl }],
  };
}
