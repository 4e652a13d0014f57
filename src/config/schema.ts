/**
 * The one configuration schema: field types, secure defaults and the hints shown when a value is wrong.
 * Pure: no I/O, no environment. `config/load.ts` feeds it a YAML tree whose `${VAR}` and `xxxFile`
 * references have already been resolved.
 */
import { z } from 'zod';
import { canonicalHost } from '../url/host.js';
import { canonicalPrefix } from '../url/normalise-path.js';
import { parseRedisUrl } from './redis-url.js';

/** True when session.redis.url can be parsed (checked here so --check reports it). */
function isRedisUrl(url: string): boolean {
  try {
    parseRedisUrl(url);
    return true;
  } catch {
    return false;
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_HINT = 'expected a duration such as "90s", "15m", "12h" or a number of seconds';

/**
 * A duration: "90s", "15m", "12h", "1d", "500ms", or a number of seconds (also as text, which is what a
 * `${VAR}` gives); parsed to milliseconds.
 */
export const duration = z
  .union([z.number().nonnegative({ message: 'a duration must not be negative' }), z.string().regex(DURATION, { message: DURATION_HINT })], {
    error: DURATION_HINT,
  })
  .transform((value) => {
    if (typeof value === 'number') return Math.round(value * 1000);
    const [, amount, unit = 's'] = DURATION.exec(value) as RegExpExecArray;
    return Math.round(Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]);
  });

/** A `${VAR}` always yields text, so a boolean field also accepts "true" and "false". */
const flag = z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean());

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, { message: 'expected "host:port", e.g. "0.0.0.0:4180"' })
  .transform((value) => {
    const at = value.lastIndexOf(':');
    return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
  })
  .refine((l) => l.port <= 65535, { message: 'port must be 0..65535' });

const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an absolute http(s) URL' });

/** An origin (scheme, host, port), normalised to its serialised form: "https://app.example.com". */
const origin = httpUrl
  .refine(
    (value) => {
      const url = parseUrl(value);
      // An unparsable URL is already reported by httpUrl.
      return url === undefined || (url.pathname === '/' && !value.includes('?') && !value.includes('#') && !url.username && !url.password);
    },
    { message: 'must be an origin only, e.g. "https://app.example.com" (no path, query or fragment)' },
  )
  .transform((value) => new URL(value).origin);

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

const cidr = z
  .string()
  .refine(
    (value) => {
      const [addr, bits, extra] = value.split('/');
      if (extra !== undefined || !addr) return false;
      const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(addr);
      const v6 = addr.includes(':');
      if (!v4 && !v6) return false;
      return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (v4 ? 32 : 128));
    },
    { message: 'expected an IP address or CIDR, e.g. "10.0.0.0/8" or "127.0.0.1"' },
  )
  // fastify's matcher refuses a /0 prefix at start-up; --check says so first, and why it is wrong anyway.
  .refine((value) => !/\/0+$/.test(value), {
    message: 'a /0 prefix would trust every peer to say who the client is and what forward-auth judges; list your proxies',
  });

/** One session key: at least 32 bytes, written as hex or base64. Decoded in session/keys.ts. */
const sessionKey = z
  .string()
  .refine((value) => decodedKeyLength(value) >= 32, {
    message: 'a session key must decode to at least 32 bytes (hex or base64); generate one with `openssl rand -base64 32`',
  });

/** How many bytes a hex or base64 key decodes to; hex wins when the text is valid hex. */
export function decodedKeyLength(value: string): number {
  const text = value.trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return text.length / 2;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return 0;
  return Buffer.from(text, 'base64').length;
}

const claimValue = z.union([z.string(), z.number(), z.boolean()]);

const allowSchema = z
  .strictObject({
    emails: z.array(z.string().min(3)).default([]),
    emailDomains: z.array(z.string().min(1).regex(/^[^@\s]+$/, { message: 'a domain without "@", e.g. "example.com"' })).default([]),
    groups: z.array(z.string().min(1)).default([]),
    claims: z
      .record(z.string(), z.union([claimValue, z.array(claimValue)], { error: 'expected a string, number or boolean, or a list of them' }))
      .default({}),
  })
  .prefault({});

/** An upstream's path prefix: from "/", no query or fragment, no control whitespace (a space is "%20"). */
const PATH_PREFIX = /^\/[^?#\t\n\v\f\r]*$/;

const upstreamSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'letters, digits, "_", "." or "-" (it is used in metrics and logs)' }),
  /** Kept as written; the route table compares its canonical form (canonicalPrefix), as for request paths. */
  path: z
    .string()
    .regex(PATH_PREFIX, { message: 'a path prefix starting with "/", without query or fragment' })
    // Reported only for a path of the right shape: one problem, one message.
    .refine((path) => !PATH_PREFIX.test(path) || canonicalPrefix(path) !== null, {
      message: 'no request can spell this path: a "\\" or an encoded "/" or "\\", a control character, a "%" that starts no escape (write "%25"), or escapes that are not UTF-8',
    })
    .default('/'),
  /** In canonical form, as Host headers are compared: lower case, without a trailing dot ("Secure.Local." → "secure.local"). */
  host: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, { message: 'a host name such as "app.example.com", optionally with ":port"' })
    .transform((h, ctx) => {
      const canonical = canonicalHost(h);
      if (canonical) return canonical.value;
      ctx.addIssue({ code: 'custom', message: 'not a host name (empty label such as "a..b", or a bad port)' });
      return z.NEVER;
    })
    .optional(),
  /** Where requests are proxied; may be left out for an upstream used only through forward-auth. */
  url: httpUrl.optional(),
  auth: z.enum(['required', 'optional', 'public']).default('required'),
  forwardAccessToken: flag.default(true),
  /** Forward-auth: X-Auth-Request-Access-Token in the answer to a trusted proxy (oauth2-proxy's --pass-access-token). */
  authRequestAccessToken: flag.default(false),
  stripPrefix: flag.default(false),
  preserveHost: flag.default(false),
  timeout: duration.prefault('30s'),
  websocket: flag.default(true),
  allowedOrigins: z.array(origin).default([]),
  allow: allowSchema,
});

const redisSchema = z
  .strictObject({
    url: z
      .string()
      .refine((url) => isRedisUrl(url), {
        message: 'expected redis://host:port[/db], rediss://…, redis+sentinel://host:26379,…/masterName or redis+cluster://host:6379,…',
      })
      .default('redis://127.0.0.1:6379'),
    timeout: duration.prefault('2s'),
    clientCache: flag.default(true),
  })
  .prefault({});

const workers = z.preprocess(
  (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
  z.union([z.number().int().min(1).max(256), z.literal('auto')], { error: 'expected a number of processes from 1 to 256, or "auto"' }),
);

/** The configuration file's shape; cross-field checks and derived defaults are added in `configSchema`. */
const configShape = z.strictObject({
  server: z.strictObject({
    listen: listen.prefault('0.0.0.0:4180'),
    publicUrl: origin,
    trustedProxies: z.array(cidr).default([]),
    metricsListen: z.union([z.literal(''), listen], { error: 'expected "host:port", e.g. "0.0.0.0:9090", or "" (serve /metrics on listen)' }).default(''),
    shutdownGrace: duration.prefault('30s'),
    /** Default: 5 s, or half of shutdownGrace when that is shorter (set in configSchema). */
    shutdownDelay: duration.optional(),
    headersTimeout: duration.prefault('10s'),
    requestTimeout: duration.prefault('5m'),
    workers: workers.default(1),
  }),
  oidc: z.strictObject({
    issuer: httpUrl,
    clientId: z.string().min(1, { message: 'must not be empty' }),
    clientSecret: z.string().min(1, { message: 'the client secret is empty; give clientSecret or clientSecretFile' }),
    clientAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'a scope is one word of printable characters' }))
      .refine((scopes) => scopes.includes('openid'), { message: 'must include "openid"' })
      .default(['openid', 'profile', 'email', 'offline_access']),
    groupsClaim: z.string().min(1).default('groups'),
    /** A regular expression; only the groups it matches are kept in the session and sent upstream. */
    groupsFilter: z
      .string()
      .refine((pattern) => isRegExp(pattern), { message: 'expected a regular expression, e.g. "^(admins|staff|team-.*)$"' })
      .optional(),
    /** Email rules and X-Forwarded-Email accept an email the provider did not mark email_verified: true. */
    trustUnverifiedEmail: flag.default(false),
    /** How far in the future an ID token's iat may be (clock differences). */
    clockSkew: duration.prefault('60s'),
    /** How old an ID token's iat may be when the gateway receives it. */
    maxIdTokenAge: duration.prefault('10m'),
    /** How often the provider's metadata and JWKS are fetched again. */
    metadataRefresh: duration.prefault('24h'),
    allowInsecureHttp: flag.default(false),
  }),
  session: z.strictObject({
    keys: z.array(sessionKey).min(1, { message: 'give at least one session key' }),
    cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/, { message: 'letters, digits, "_" or "-"' }).optional(),
    store: z.enum(['cookie', 'redis']).default('cookie'),
    redis: redisSchema,
    idleTimeout: duration.prefault('1h'),
    absoluteTimeout: duration.prefault('12h'),
    refreshSkew: duration.prefault('60s'),
  }),
  api: z
    .strictObject({
      acceptBearerTokens: flag.default(false),
      introspectOpaqueTokens: flag.default(false),
      audiences: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  upstreams: z.array(upstreamSchema).min(1, { message: 'give at least one upstream' }),
});

type Shape = z.output<typeof configShape>;
type IssuePath = readonly PropertyKey[];

/**
 * Whether nothing was reported at `path`, inside it or above it, so a cross-field check may read the value
 * there. An unknown key says nothing about its neighbours' values and does not count.
 */
function parsedCleanly(issues: readonly z.core.$ZodRawIssue[], path: IssuePath): boolean {
  return issues.every((issue) => {
    if (issue.code === 'unrecognized_keys') return true;
    const at = issue.path ?? [];
    const shared = Math.min(at.length, path.length);
    return at.slice(0, shared).some((part, i) => part !== path[i]);
  });
}

/**
 * Checks that involve more than one field. They run even when other fields are invalid, so one `--check`
 * reports every problem at once; each check reads only values that parsed cleanly (the rest of `config`
 * may still hold raw input, whatever its static type says).
 */
function checkAcrossFields(config: Shape, ctx: z.core.$RefinementCtx<Shape>): void {
  if (typeof config !== 'object' || config === null) return; // the file's top level is reported already
  const issuesBefore = [...ctx.issues];
  const clean = (...paths: IssuePath[]) => paths.every((path) => parsedCleanly(issuesBefore, path));

  if (clean(['oidc', 'issuer'], ['oidc', 'allowInsecureHttp']) && parseUrl(config.oidc.issuer)?.protocol === 'http:' && !config.oidc.allowInsecureHttp) {
    ctx.addIssue({
      code: 'custom',
      path: ['oidc', 'issuer'],
      message: 'an http:// issuer is refused; use https, or set oidc.allowInsecureHttp: true for local development only',
    });
  }
  if (clean(['session', 'cookieName'], ['server', 'publicUrl'])) {
    const name = config.session.cookieName;
    if (name !== undefined && /^__(Host|Secure)-/i.test(name) && !config.server.publicUrl.startsWith('https:')) {
      ctx.addIssue({
        code: 'custom',
        path: ['session', 'cookieName'],
        message: 'browsers only accept __Host- and __Secure- cookies over https; publicUrl is http',
      });
    }
  }
  if (
    clean(['server', 'shutdownDelay'], ['server', 'shutdownGrace']) &&
    config.server.shutdownDelay !== undefined &&
    config.server.shutdownDelay >= config.server.shutdownGrace
  ) {
    ctx.addIssue({ code: 'custom', path: ['server', 'shutdownDelay'], message: 'must be shorter than server.shutdownGrace' });
  }
  if (
    clean(['server', 'headersTimeout'], ['server', 'requestTimeout']) &&
    config.server.requestTimeout > 0 &&
    config.server.headersTimeout > config.server.requestTimeout
  ) {
    ctx.addIssue({ code: 'custom', path: ['server', 'headersTimeout'], message: 'must not be longer than server.requestTimeout' });
  }
  if (clean(['session', 'idleTimeout'], ['session', 'absoluteTimeout']) && config.session.absoluteTimeout < config.session.idleTimeout) {
    ctx.addIssue({ code: 'custom', path: ['session', 'absoluteTimeout'], message: 'must not be shorter than session.idleTimeout' });
  }
  if (clean(['server', 'listen'], ['server', 'metricsListen']) && config.server.metricsListen !== '') {
    if (sameSocket(config.server.listen, config.server.metricsListen)) {
      ctx.addIssue({ code: 'custom', path: ['server', 'metricsListen'], message: 'must differ from server.listen (or be "" to serve /metrics there)' });
    }
  }
  if (Array.isArray(config.upstreams)) checkUpstreamsApart(config.upstreams, clean, ctx);
}

/** Two upstreams may share neither a name nor a host and path (the second could never be reached). */
function checkUpstreamsApart(
  upstreams: Shape['upstreams'],
  clean: (...paths: IssuePath[]) => boolean,
  ctx: z.core.$RefinementCtx<Shape>,
): void {
  const names = new Map<string, number>();
  const routes = new Map<string, number>();
  upstreams.forEach((upstream, index) => {
    const at = (field: string) => ['upstreams', index, field];
    if (clean(at('name'))) {
      const sameName = names.get(upstream.name);
      if (sameName !== undefined) {
        ctx.addIssue({ code: 'custom', path: at('name'), message: `duplicates upstreams[${sameName}].name` });
      }
      names.set(upstream.name, index);
    }
    if (clean(at('host'), at('path'))) {
      // The route table compares canonical paths case-insensitively, so "/API", "/api/" and "/%61pi" are one route.
      const key = `${upstream.host ?? '*'} ${(canonicalPrefix(upstream.path) ?? upstream.path).toLowerCase()}`;
      const sameRoute = routes.get(key);
      if (sameRoute !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: at('path'),
          message: `upstreams[${sameRoute}] already has this host and path; one of them would never be reached`,
        });
      }
      routes.set(key, index);
    }
  });
}

/** Whether two listen addresses would bind the same port on an overlapping address. */
function sameSocket(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const any = (host: string) => host === '0.0.0.0' || host === '::' || host === '';
  return a.host === b.host || any(a.host) || any(b.host);
}

/** The whole configuration file. Objects are strict so a misspelt key is reported, not ignored. */
export const configSchema = configShape
  .superRefine(checkAcrossFields, { when: () => true })
  // api.audiences defaults to the client id, which lives in another section.
  .transform((config) => (config.api.audiences.length > 0 ? config : { ...config, api: { ...config.api, audiences: [config.oidc.clientId] } }))
  // server.shutdownDelay defaults to 5 s, but never to as much as the grace period it must fit in.
  .transform((config) => ({
    ...config,
    server: { ...config.server, shutdownDelay: config.server.shutdownDelay ?? Math.min(5_000, Math.floor(config.server.shutdownGrace / 2)) },
  }));

/** The validated configuration as the rest of the gateway sees it (durations in milliseconds). */
export type Config = z.output<typeof configSchema>;
/** One upstream's validated settings. */
export type UpstreamConfig = Config['upstreams'][number];
/** One upstream's `allow` rule. */
export type AllowRule = UpstreamConfig['allow'];
