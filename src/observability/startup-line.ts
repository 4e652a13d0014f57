/**
 * The one info line a gateway writes once it listens: what runs (version, Node.js), where (listen and
 * /metrics addresses), against what (session store, provider, upstreams). Written by the process that
 * listens, or with `server.workers` by the primary once every worker listens. Nothing in it is a secret:
 * no Redis address (it may carry a password), no client secret, upstream URLs without credentials or query.
 */
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import { packageVersion } from '../version.js';

/** The message of the start-up line (what to grep for). */
export const STARTUP_MESSAGE = 'authgate started';

/** One upstream as the start-up line names it. */
export interface StartupUpstream {
  name: string;
  path: string;
  /** The Host it is routed by, when it has one. */
  host?: string;
  /** Where requests go: origin and path, without user info, query or fragment. */
  url?: string;
}

/** "host:port" of a bound address, IPv6 in brackets. */
export function formatAddress(address: AddressInfo | string | null | undefined): string {
  if (!address) return '';
  if (typeof address === 'string') return address; // a pipe or a Unix socket
  return address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

/** The upstream's target without anything that may be a secret. */
function safeUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/**
 * The start-up line's fields. `listen` is the address bound; `metrics` where /metrics is served (its own
 * address with `server.metricsListen`, else `listen`).
 */
export function startupFields(config: Config, where: { listen: string; metrics: string; workers?: number }): Record<string, unknown> {
  const upstreams: StartupUpstream[] = config.upstreams.map((u) => ({
    name: u.name,
    path: u.path,
    ...(u.host === undefined ? {} : { host: u.host }),
    ...(u.url === undefined ? {} : { url: safeUrl(u.url) }),
  }));
  return {
    version: packageVersion(),
    node: process.version,
    listen: where.listen,
    metrics: where.metrics,
    ...(where.workers === undefined ? {} : { workers: where.workers }),
    publicUrl: config.server.publicUrl,
    store: config.session.store,
    issuer: config.oidc.issuer,
    ...(config.providers.length > 1 ? { providers: config.providers.map((p) => ({ id: p.id, issuer: p.issuer })) } : {}),
    upstreams,
  };
}
