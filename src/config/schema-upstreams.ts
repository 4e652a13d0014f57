/** One entry of `upstreams`: where a route goes, how it is matched, who may pass (`allow`). */
import { z } from 'zod';
import { providerId } from './schema-providers.js';
import { canonicalHost } from '../url/host.js';
import { canonicalPrefix } from '../url/normalise-path.js';
import { duration, flag, httpUrl, origin } from './schema-types.js';

const claimValue = z.union([z.string(), z.number(), z.boolean()]);
/** One `acr` value: it travels space-separated in `acr_values` and quoted in a WWW-Authenticate challenge. */
const ACR_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const allowSchema = z
  .strictObject({
    emails: z.array(z.string().min(3)).default([]),
    emailDomains: z.array(z.string().min(1).regex(/^[^@\s]+$/, { message: 'a domain without "@", e.g. "example.com"' })).default([]),
    groups: z.array(z.string().min(1)).default([]),
    claims: z
      .record(z.string(), z.union([claimValue, z.array(claimValue)], { error: 'expected a string, number or boolean, or a list of them' }))
      .default({}),
    /** Says on purpose that any signed-in user may pass, which silences --check's warning; no list may be given with it. */
    anyAuthenticatedUser: flag.default(false),
    /** Step-up (docs/step-up.md): the login's `acr` must be one of these; asked for as `acr_values`, in this order. */
    acr: z.array(z.string().regex(ACR_VALUE, { message: 'an acr value: visible ASCII without spaces, quotes or "\\"' })).optional(),
    /** Step-up: the user must have authenticated (`auth_time`) within this; asked for as `max_age`. */
    maxAge: duration.optional(),
  })
  .refine(
    (allow) =>
      !allow.anyAuthenticatedUser ||
      (allow.emails.length === 0 && allow.emailDomains.length === 0 && allow.groups.length === 0 && Object.keys(allow.claims).length === 0),
    { message: 'anyAuthenticatedUser: true admits every signed-in user; remove it, or remove the emails, emailDomains, groups and claims rules' },
  )
  .prefault({});

/**
 * Headers an upstream's token may not be sent in: the ones HTTP or the gateway itself gives a meaning
 * (framing, the Host, cookies, forwarding and identity headers).
 */
const RESERVED_TOKEN_HEADERS = new Set([
  'host',
  'cookie',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'expect',
  'forwarded',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-provider',
  'x-request-id',
  'dpop',
]);

/** True for a header name an upstream's token may not be sent in (compared as proxies see it: any case, "_" for "-"). */
function isReservedTokenHeader(name: string): boolean {
  const canonical = name.toLowerCase().replaceAll('_', '-');
  if (canonical === 'x-forwarded-access-token') return false;
  return RESERVED_TOKEN_HEADERS.has(canonical) || canonical.startsWith('proxy-') || canonical.startsWith('x-auth-request-');
}

/** RFC 8707 2: an absolute URI without a fragment. */
const resourceIndicator = z
  .string()
  .refine((value) => URL.canParse(value) && !value.includes('#'), { message: 'an absolute URI without a fragment, e.g. "https://orders.internal/"' })
  .meta({ title: 'resource indicator' });

/**
 * What an upstream receives as its token: the session's, or one of its own (`resource`: a refresh grant
 * for that resource, RFC 8707; `audience`: a token exchange, RFC 8693; `scopes`: down-scoped).
 */
const accessTokenSchema = z
  .strictObject({
    /** RFC 8707: this upstream's token comes from a refresh grant with `resource=` (asked for at login too). */
    resource: resourceIndicator.optional(),
    /** RFC 8693: the session's access token is exchanged for one with this audience. */
    audience: z.string().min(1, { message: 'an audience, e.g. "orders-api"' }).optional(),
    /** The scopes asked for this upstream's token (a subset of what was granted at login). */
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'a scope: printable ASCII without spaces, quotes or "\\"' }))
      .min(1, { message: 'name at least one scope, or leave scopes out' })
      .optional(),
    /** Authorization carries "Bearer <token>"; any other header (X-Forwarded-Access-Token) the raw token. */
    header: z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: 'a header name, e.g. "X-Forwarded-Access-Token"' })
      .refine((name) => !isReservedTokenHeader(name), {
        message: 'this header has another meaning; use Authorization or a header of its own such as X-Forwarded-Access-Token',
      })
      .meta({ title: 'header name' })
      .default('Authorization'),
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
  accessToken: accessTokenSchema,
  /** A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) passes without a session. */
  skipAuthPreflight: flag.default(false),
  /** Forward-auth: X-Auth-Request-Access-Token in the answer to a trusted proxy (oauth2-proxy's --pass-access-token). */
  authRequestAccessToken: flag.default(false),
  stripPrefix: flag.default(false),
  preserveHost: flag.default(false),
  timeout: duration.prefault('30s'),
  websocket: flag.default(true),
  allowedOrigins: z.array(origin).default([]),
  allow: allowSchema,
  /** The providers whose sessions are accepted here (ids from `providers:`); every provider when not given. */
  providers: z.array(providerId).min(1, { message: 'name at least one provider, or leave providers out for all' }).optional(),
});

/** The keys an upstream inherits from `defaults:` unless it sets them: all but those that say where it is. */
export const defaultsSection = upstreamSchema.omit({ name: true, path: true, host: true, url: true }).partial();
