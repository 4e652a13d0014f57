/**
 * The systems the benchmark knows: their ids in report order, what each is, which sign in, and which need
 * software that may be missing (those are skipped with a note, never silently).
 */
import { apacheAvailable, openidcAvailable } from './systems/apache.js';
import { nginxAvailable } from './systems/nginx.js';
import { redisAvailable } from './systems/redis.js';

/** The systems the benchmark knows, in the order they are reported: the no-auth floors first. */
export const SYSTEM_IDS = [
  'nginx-bare',
  'apache-bare',
  'bare',
  'express-oidc',
  'apache-oidc-server',
  'apache-oidc-cookie',
  'authgate-cookie',
  'authgate-dpop',
  'authgate-redis',
  'authgate-tokens',
] as const;
/** One system under test. */
export type SystemId = (typeof SYSTEM_IDS)[number];

/** What each system is, for tables. */
export const SYSTEM_LABELS: Record<SystemId, string> = {
  'nginx-bare': 'nginx, 1 worker process, no auth (Debian package)',
  'apache-bare': 'Apache httpd, mpm_event with 1 child process, mod_proxy_http, no auth (Debian package)',
  bare: 'bare proxy (fastify 5 + @fastify/http-proxy, no auth)',
  'express-oidc': 'express 5 + express-openid-connect 3 + http-proxy-middleware 3',
  'apache-oidc-server': 'Apache httpd + mod_auth_openidc, server-side sessions (OIDCSessionType server-cache, shm cache)',
  'apache-oidc-cookie': 'Apache httpd + mod_auth_openidc, cookie sessions (OIDCSessionType client-cookie)',
  'authgate-cookie': 'authgate, cookie session store',
  'authgate-dpop': 'authgate, cookie session store, oidc.dpop: true (a DPoP proof signed per proxied request)',
  'authgate-redis': 'authgate, Redis session store',
  'authgate-tokens': 'authgate, cookie session store, the upstream given a token of its own (accessToken.resource, cached)',
};

/** The systems without authentication: nothing to sign in to, every request goes straight upstream. */
export const NO_AUTH: ReadonlySet<SystemId> = new Set(['nginx-bare', 'apache-bare', 'bare']);

/** The Apache + mod_auth_openidc systems (the C peer). */
export const OIDC_MODULE: ReadonlySet<SystemId> = new Set(['apache-oidc-server', 'apache-oidc-cookie']);

/** Why a system cannot run on this machine (with the command that fixes it), or undefined when it can. */
export function missingSoftware(id: SystemId): string | undefined {
  if (id === 'authgate-redis' && !redisAvailable()) return '/usr/bin/redis-server is not installed (apt-get install redis-server)';
  if (id === 'nginx-bare' && !nginxAvailable()) return '/usr/sbin/nginx is not installed (apt-get install nginx)';
  if (id === 'apache-bare' && !apacheAvailable()) return '/usr/sbin/apache2 is not installed (apt-get install apache2)';
  if (OIDC_MODULE.has(id) && !openidcAvailable()) {
    return 'Apache httpd with mod_auth_openidc is not installed (apt-get install apache2 libapache2-mod-auth-openidc)';
  }
  return undefined;
}
