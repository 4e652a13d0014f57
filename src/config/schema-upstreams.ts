/** One entry of `upstreams`: where a route goes, how it is matched, who may pass (`allow`). */
import { z } from 'zod';
import { canonicalHost } from '../url/host.js';
import { canonicalPrefix } from '../url/normalise-path.js';
import { duration, flag, httpUrl, origin } from './schema-types.js';

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

/** One upstream's shape (names and routes are compared across upstreams in schema-checks.ts). */
export const upstreamSchema = z.strictObject({
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
    .meta({ title: 'host name' })
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
