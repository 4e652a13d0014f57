/**
 * Route-table fixtures for the proxy tests: upstreams go through the real configuration schema, so the
 * defaults and transformations (lower-cased host, default path, stripPrefix false…) are the ones the
 * gateway runs with.
 */
import { configSchema, type UpstreamConfig } from '../../src/config/schema.js';
import { compileUpstreams, type CompiledUpstream } from '../../src/proxy/upstreams.js';

/** The public origin every fixture configuration uses. */
export const PUBLIC_URL = 'https://app.example.com';

/** What a test writes for one upstream; everything else takes the schema's default. */
export type UpstreamInput = { name: string } & Record<string, unknown>;

/** Validates a minimal configuration holding these upstreams and returns them as the gateway sees them. */
export function parseUpstreams(upstreams: readonly UpstreamInput[]): UpstreamConfig[] {
  const config = configSchema.parse({
    server: { publicUrl: PUBLIC_URL },
    oidc: { issuer: 'https://idp.example.com', clientId: 'gateway', clientSecret: 'secret' },
    session: { keys: [Buffer.alloc(32, 1).toString('base64')] },
    upstreams: upstreams.map((u) => ({ url: 'http://127.0.0.1:3000', ...u })),
  });
  return config.upstreams;
}

/** The compiled route table for these upstreams. */
export function buildTable(upstreams: readonly UpstreamInput[]): CompiledUpstream[] {
  return compileUpstreams(parseUpstreams(upstreams));
}
