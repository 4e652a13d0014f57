/**
 * What a valid configuration may still get wrong without meaning to: a route any signed-in user may pass
 * although nothing says so on purpose, a route whose emails or groups any of several providers may vouch
 * for, an upstream path the gateway's own paths hide, and an upstream token asked for a route sent none. `--check` prints
 * these on stderr (and still exits 0); the gateway logs them at start and at each reload.
 */
import { canonicalPrefix } from '../url/normalise-path.js';
import type { Config, UpstreamConfig } from './schema.js';

/** Paths the gateway answers itself, whatever the upstreams say (proxy/route-request.ts). */
const GATEWAY_EXACT = ['/ping', '/ready', '/metrics'];
const GATEWAY_TREE = '/oauth2';

/** One line per thing worth a second look, each starting with the YAML path it is about. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.defaults?.auth === 'public') {
    warnings.push('defaults.auth: public makes every upstream that does not set auth itself reachable without signing in; set auth: public on the routes meant to be public instead');
  }
  config.upstreams.forEach((upstream, index) => {
    const at = `upstreams[${index}]`;
    if (admitsEverySignedInUser(upstream)) {
      warnings.push(
        `${at}.allow: "${upstream.name}" admits every signed-in user of the provider: give allow.emailDomains, emails, groups or claims ` +
          '(here or in defaults.allow), or say so on purpose with allow.anyAuthenticatedUser: true',
      );
    }
    if (config.providers.length > 1 && upstream.auth !== 'public' && upstream.providers === undefined && hasIdentityRule(upstream)) {
      warnings.push(
        `${at}.providers: "${upstream.name}" checks emails, groups or claims that any of the ${config.providers.length} providers may assert ` +
          '(a partner provider can vouch for a company address or group): list the providers trusted to vouch for them',
      );
    }
    const shadowed = shadowedBy(upstream.path);
    if (shadowed) warnings.push(`${at}.path: "${upstream.path}" ${shadowed}`);
    const { resource, audience, scopes } = upstream.accessToken;
    if ((resource !== undefined || audience !== undefined || scopes !== undefined) && (upstream.auth === 'public' || !upstream.forwardAccessToken)) {
      warnings.push(`${at}.accessToken: "${upstream.name}" is sent no token (auth: public or forwardAccessToken: false), so resource, audience and scopes do nothing here`);
    }
  });
  return warnings;
}

/** True when the route's rule reads what a provider asserts (an email, a group, a claim). */
function hasIdentityRule(upstream: UpstreamConfig): boolean {
  const { allow } = upstream;
  return allow.emails.length > 0 || allow.emailDomains.length > 0 || allow.groups.length > 0 || Object.keys(allow.claims).length > 0;
}

function admitsEverySignedInUser(upstream: UpstreamConfig): boolean {
  const { allow } = upstream;
  return (
    upstream.auth !== 'public' &&
    !allow.anyAuthenticatedUser &&
    allow.emails.length === 0 &&
    allow.emailDomains.length === 0 &&
    allow.groups.length === 0 &&
    Object.keys(allow.claims).length === 0
  );
}

/** How the gateway's own paths hide some of `path` from its upstream, or undefined when they do not. */
function shadowedBy(path: string): string | undefined {
  const prefix = canonicalPrefix(path) ?? path;
  if (prefix === GATEWAY_TREE) return `reaches this upstream only as "${GATEWAY_TREE}" itself: the gateway answers every path under ${GATEWAY_TREE}/`;
  if (prefix.startsWith(`${GATEWAY_TREE}/`)) return `is under ${GATEWAY_TREE}/, which the gateway answers itself: no request reaches this upstream`;
  const exact = GATEWAY_EXACT.find((p) => p === prefix);
  if (exact) return `itself is the gateway's ${exact}; only paths below it reach this upstream`;
  return undefined;
}
