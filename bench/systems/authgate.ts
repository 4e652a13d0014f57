/**
 * Systems 3 and 4: the built gateway (`node dist/cli.js`, as operators run it) with the cookie or the Redis
 * session store, configured like a plain deployment: one upstream at "/", any signed-in user, defaults elsewhere
 * (authgate-dpop: the cookie store with `oidc.dpop: true`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, spawnProcess, type BenchProcess } from '../proc.js';

/** How to start one authgate. */
export interface AuthgateOptions {
  name: string;
  port: number;
  issuer: string;
  upstreamUrl: string;
  clientId: string;
  clientSecret: string;
  store: 'cookie' | 'redis';
  /** oidc.dpop: the session holds a DPoP-bound token, each proxied request signs a proof. */
  dpop?: boolean;
  redisUrl?: string;
  /** Where the YAML config (and, with `keepLogs`, the log) is written. */
  workDir: string;
  /** server.workers; default 1. */
  workers?: number | 'auto';
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  cpus: string | undefined;
  /** LOG_LEVEL for the gateway; default info (its one access-log line per request, written to /dev/null). */
  logLevel?: string;
  /** Write stdout (the JSON log) to <workDir>/<name>.log instead of /dev/null. */
  keepLogs?: boolean;
  /** Give the upstream a token of its own (`accessToken.resource`): cached after the first request. */
  upstreamToken?: boolean;
}

/** The gateway's configuration file as an operator would write it. */
export function authgateConfig(options: AuthgateOptions): string {
  return stringify({
    server: {
      listen: `127.0.0.1:${options.port}`,
      publicUrl: `http://127.0.0.1:${options.port}`,
      workers: options.workers ?? 1,
    },
    oidc: {
      issuer: options.issuer,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      allowInsecureHttp: true,
      ...(options.dpop ? { dpop: true } : {}),
    },
    session: {
      keys: [randomBytes(32).toString('base64')],
      store: options.store,
      ...(options.redisUrl ? { redis: { url: options.redisUrl } } : {}),
    },
    upstreams: [{ name: 'app', path: '/', url: options.upstreamUrl, ...(options.upstreamToken ? { accessToken: { resource: 'https://app.bench/' } } : {}) }],
  });
}

/**
 * The node flags the Docker image starts authgate with (between node and the script in its ENTRYPOINT), so
 * the benchmark measures the gateway as it ships.
 */
export function imageNodeFlags(): string[] {
  const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT ['));
  if (!line) throw new Error('Dockerfile: no ENTRYPOINT in exec form');
  const form = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  return form.slice(1, -1);
}

/** Writes the config and starts `node <the image's flags> dist/cli.js --config FILE`. */
export function spawnAuthgate(options: AuthgateOptions): BenchProcess {
  const configFile = join(options.workDir, `${options.name}.yaml`);
  writeFileSync(configFile, authgateConfig(options));
  return spawnProcess({
    name: options.name,
    args: [...imageNodeFlags(), ...(options.nodeArgs ?? []), 'dist/cli.js', '--config', configFile],
    env: { LOG_LEVEL: options.logLevel ?? 'info' },
    cpus: options.cpus,
    stdoutFile: options.keepLogs ? join(options.workDir, `${options.name}.log`) : undefined,
  });
}
