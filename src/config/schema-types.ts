/**
 * The value types the configuration sections share: durations, booleans from `${VAR}`, listen addresses,
 * URLs, origins, CIDRs and secrets. Each carries a `title`, the type name docs/configuration.md uses for it.
 */
import { z } from 'zod';
import { parseRedisUrl } from './redis-url.js';

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
  })
  .meta({ title: 'duration' });

/** A boolean; a `${VAR}` always yields text, so it also accepts "true" and "false". */
export const flag = z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean());

/** A listen address, "host:port" ("[::1]:4180" for IPv6), parsed to its host and port. */
export const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, { message: 'expected "host:port", e.g. "0.0.0.0:4180"' })
  .transform((value) => {
    const at = value.lastIndexOf(':');
    return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
  })
  .refine((l) => l.port <= 65535, { message: 'port must be 0..65535' })
  .meta({ title: 'host:port' });

/** An absolute http(s) URL. */
export const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an absolute http(s) URL' }).meta({ title: 'URL' });

/** An origin (scheme, host, port), normalised to its serialised form: "https://app.example.com". */
export const origin = httpUrl
  .refine(
    (value) => {
      const url = parseUrl(value);
      // An unparsable URL is already reported by httpUrl.
      return url === undefined || (url.pathname === '/' && !value.includes('?') && !value.includes('#') && !url.username && !url.password);
    },
    { message: 'must be an origin only, e.g. "https://app.example.com" (no path, query or fragment)' },
  )
  .transform((value) => new URL(value).origin)
  .meta({ title: 'origin' });

/** An IP address or CIDR range of trusted peers; never a /0 prefix. */
export const cidr = z
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
  })
  .meta({ title: 'IP or CIDR' });

/** A JavaScript regular expression (Unicode mode), kept as its source text. */
export const regExp = z
  .string()
  .refine((pattern) => isRegExp(pattern), { message: 'expected a regular expression, e.g. "^(admins|staff|team-.*)$"' })
  .meta({ title: 'regular expression' });

/** A secret that should come from `${VAR}` or a `File` key rather than sit in the YAML. */
export const secret = (emptyHint: string) => z.string().min(1, { message: emptyHint }).meta({ title: 'secret' });

/** One session key: at least 32 bytes, written as hex or base64. Decoded in session/keys.ts. */
export const sessionKey = z
  .string()
  .refine((value) => decodedKeyLength(value) >= 32, {
    message: 'a session key must decode to at least 32 bytes (hex or base64); generate one with `openssl rand -base64 32`',
  })
  .meta({ title: 'session key' });

/** A Redis connection URL, checked here so --check reports it. */
export const redisUrl = z
  .string()
  .refine((url) => isRedisUrl(url), {
    message: 'expected redis://host:port[/db], rediss://…, redis+sentinel://host:26379,…/masterName or redis+cluster://host:6379,…',
  })
  .meta({ title: 'Redis URL' });

/** How many bytes a hex or base64 key decodes to; hex wins when the text is valid hex. */
export function decodedKeyLength(value: string): number {
  const text = value.trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return text.length / 2;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return 0;
  return Buffer.from(text, 'base64').length;
}

/** The URL a string parses to, or undefined. */
export function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function isRedisUrl(url: string): boolean {
  try {
    parseRedisUrl(url);
    return true;
  } catch {
    return false;
  }
}
