/**
 * Forward-auth: the gateway judges a request another proxy received, against the policy of the upstream
 * that matches it. The original request is believed only from peers in `server.trustedProxies`.
 * - `GET /oauth2/auth` (nginx auth_request, Traefik ForwardAuth): the original URI and host come from
 *   `X-Forwarded-Uri` + `X-Forwarded-Host` or `X-Original-URL`; when both speak and disagree both are judged
 *   and both must pass, so a proxy that sets one while passing a client's copy of the other cannot be
 *   steered. Answers 202.
 * - `/oauth2/auth/<original path>`, any method (Envoy ext_authz HTTP service with `path_prefix:
 *   /oauth2/auth`): the original path is the suffix, the host the request's own. Answers 200, as Envoy
 *   counts only 200 as allowed.
 * Fails closed: when the original request cannot be known (an untrusted peer, or a trusted one that names
 * no original URI) and any route is protected, the answer is 403, never a judgement of some other path.
 * Allowed: X-Auth-Request-User/-Email/-Preferred-Username/-Groups, percent-encoded where needed, and
 * -Access-Token only to a trusted peer for routes that set `authRequestAccessToken`; 401 signed out (302 to
 * sign-in for a browser navigation when the proxy asks, see auth-signin-redirect.ts); 403 denied.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { canonicalHost } from '../url/host.js';
import { sendUnauthenticated } from '../http/replies.js';
import { userOf } from '../identity.js';
import type { TrustedProxyMatcher } from '../http/trusted-proxies.js';
import { sendStepUpChallenge } from '../http/step-up-reply.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import type { StepUpRule } from '../policy/step-up.js';
import type { StepUpGate } from '../proxy/step-up-gate.js';
import { encodeHeaderList, encodeHeaderValue } from '../proxy/header-value.js';
import { normaliseTarget } from '../url/normalise-path.js';
import { acceptedBy, type ResolvePrincipal } from '../proxy/principal.js';
import { matchUpstream, type CompiledUpstream, type RouteTable } from '../proxy/upstreams.js';
import type { UpstreamTokens } from '../proxy/upstream-tokens.js';
import type { Metrics } from '../observability/metrics.js';
import { createSignInRedirect, type ReportedOriginal } from './auth-signin-redirect.js';

const ENVOY_PREFIX = '/oauth2/auth';
const ANY_METHOD = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** The request another proxy asks about. */
type OriginalRequest = ReportedOriginal;

/** What a trusted peer's headers say: the original(s), nothing, or a refusal. */
type OriginalsFromHeaders = { originals: OriginalRequest[] } | { missing: true } | { error: 'bad-original-uri' | 'bad-original-host' };

/** Why the original request cannot be known; each is logged once per gateway. */
type UnknownCause = 'untrusted-peer' | 'no-original-uri';

/** The warning for each cause: what the operator must change. */
const UNKNOWN_CAUSE_MESSAGE: Record<UnknownCause, string> = {
  'untrusted-peer':
    'forward-auth: a peer not listed in server.trustedProxies asked /oauth2/auth; its original request is unknown, so it gets 403 until its address is listed in server.trustedProxies',
  'no-original-uri':
    'forward-auth: a trusted peer asked /oauth2/auth without X-Forwarded-Uri or X-Original-URL; its original request is unknown, so it gets 403 until the proxy sends X-Forwarded-Uri (and X-Forwarded-Host)',
};

/** What forward-auth needs; `isTrustedProxy` is the matcher fastify's trustProxy uses too. */
export interface ForwardAuthDeps {
  routes: RouteTable;
  resolvePrincipal: ResolvePrincipal;
  metrics: Metrics;
  isTrustedProxy: TrustedProxyMatcher;
  config: Pick<Config, 'server'>;
  stepUp: StepUpGate;
  /** Upstreams' own tokens: the one handed as X-Auth-Request-Access-Token for a route that has one. */
  upstreamTokens: UpstreamTokens;
}

/** Registers /oauth2/auth and /oauth2/auth/*. */
export function registerForwardAuth(app: FastifyInstance, deps: ForwardAuthDeps): void {
  const { routes, resolvePrincipal, metrics, isTrustedProxy: isTrusted, stepUp, upstreamTokens } = deps;
  const signInRedirect = createSignInRedirect(deps.config.server.publicUrl);
  // One warning per cause for the life of this gateway: a misconfigured proxy asks on every request.
  const warned = new Set<UnknownCause>();

  /** Judges every original the proxy reported (normally one); all must pass, the strictest answer wins. */
  async function judge(request: FastifyRequest, reply: FastifyReply, originals: OriginalRequest[], allowedStatus: 200 | 202, trustedPeer: boolean) {
    reply.header('cache-control', 'no-store');
    const upstreams: CompiledUpstream[] = [];
    for (const original of originals) {
      const target = normaliseTarget(original.uri);
      if (!target) return reply.code(400).send({ error: 'bad-original-uri' });
      const upstream = matchUpstream(routes.current.upstreams, original.host, target.path);
      if (!upstream) return reply.code(403).send({ error: 'no-route' });
      upstreams.push(upstream);
    }
    if (trustedPeer && upstreams.every((u) => u.config.skipAuthPreflight) && isOriginalPreflight(request)) {
      // As for proxied routes: a CORS preflight passes, and carries no identity.
      for (const upstream of upstreams) metrics.recordDecision(upstream.name, 'preflight');
      return reply.code(allowedStatus).send();
    }
    const needsPrincipal = upstreams.some((u) => u.config.auth !== 'public');
    const resolved = needsPrincipal ? await resolvePrincipal(request) : { principal: undefined, invalidBearer: false };
    if (!resolved.principal && resolved.invalidBearer) {
      return sendUnauthenticated(reply, 'invalid_token');
    }
    // A principal from a provider one of the upstreams does not accept counts as none (proxy/principal.ts).
    const principal = upstreams.reduce(
      (kept: typeof resolved.principal, upstream) => (upstream.config.auth === 'public' ? kept : acceptedBy(upstream, kept)),
      resolved.principal,
    );
    let unmet: StepUpRule | undefined;
    const decisions = upstreams.map((upstream) => {
      const decision = evaluatePolicy(upstream.config.auth, upstream.config.allow, principal?.identity);
      // Step-up, as at the guard: judged for an admitted principal; the first unmet rule is the one answered.
      const stepUpUnmet = decision.allow && principal !== undefined && upstream.config.auth !== 'public' ? stepUp.unmet(upstream.config.allow, principal) : undefined;
      unmet ??= stepUpUnmet;
      metrics.recordDecision(upstream.name, stepUpUnmet === undefined ? decision.reason : 'step-up');
      return decision;
    });
    const denied = decisions.find((d) => !d.allow && d.reason === 'unauthenticated') ?? decisions.find((d) => !d.allow);
    if (denied && !denied.allow) {
      if (denied.reason === 'unauthenticated') {
        // Opt-in, trusted peers only (untrusted ones never get here), and only for a browser navigation.
        if (trustedPeer && signInRedirect.requested(request, allowedStatus === 200 /* the Envoy form */) && signInRedirect.isNavigation(request)) {
          return reply.redirect(signInRedirect.location(request, originals), 302);
        }
        return sendUnauthenticated(reply);
      }
      return reply.code(403).send({ error: 'forbidden', reason: denied.reason });
    }
    if (unmet !== undefined) {
      // A browser the proxy lets us redirect goes to /oauth2/start, which starts the step-up login for the target.
      if (trustedPeer && principal?.source === 'session' && signInRedirect.requested(request, allowedStatus === 200) && signInRedirect.isNavigation(request)) {
        return reply.redirect(signInRedirect.location(request, originals), 302);
      }
      return sendStepUpChallenge(reply, unmet);
    }
    if (principal && upstreams.every((u) => u.config.auth !== 'public')) {
      // Names and groups in any script, or with "," or control characters, must neither break the answer
      // (a 500 for a value outside Latin-1) nor change meaning (a group "a,b" read as two).
      const { email, preferredUsername, groups } = principal.identity;
      reply.header('x-auth-request-user', encodeHeaderValue(userOf(principal.identity)));
      reply.header('x-auth-request-provider', principal.provider); // an id of [a-z0-9-]: nothing to encode
      if (email !== undefined) reply.header('x-auth-request-email', encodeHeaderValue(email));
      if (preferredUsername !== undefined) reply.header('x-auth-request-preferred-username', encodeHeaderValue(preferredUsername));
      if (groups.length > 0) reply.header('x-auth-request-groups', encodeHeaderList(groups));
      // The token is for the proxy to hand to the app, never for whoever can read this answer.
      if (trustedPeer && upstreams.every((u) => u.config.authRequestAccessToken)) {
        // A route with a token of its own (accessToken resource/audience/scopes) gets that one, as proxied;
        // originals that would need different tokens get none rather than the session's broader one.
        const [first] = upstreams;
        const ask = first?.tokenAsk;
        const oneToken = upstreams.every((u) => u.tokenAsk?.key === ask?.key);
        if (oneToken && ask === undefined) {
          reply.header('x-auth-request-access-token', principal.accessToken);
        } else if (oneToken && first !== undefined && ask !== undefined) {
          request.authgate.principal = principal;
          const failed = await upstreamTokens.attach(request, reply, first, ask);
          if (failed !== undefined) return failed;
          reply.header('x-auth-request-access-token', request.authgate.principal.accessToken);
        }
      }
    }
    return reply.code(allowedStatus).send();
  }

  /**
   * The original request is unknown. With any protected route, judging something else (the peer's own `/`)
   * could allow what the real request's route denies: refuse, and tell the operator why, once. A
   * configuration of public routes only has nothing to protect and still answers for `/` of the own Host.
   */
  function unknownOriginal(request: FastifyRequest, reply: FastifyReply, cause: UnknownCause) {
    if (!routes.current.upstreams.some((u) => u.config.auth !== 'public')) {
      return judge(request, reply, [{ host: request.headers.host, uri: '/' }], 202, false);
    }
    if (!warned.has(cause)) {
      warned.add(cause);
      request.log.warn({ peer: request.socket.remoteAddress, cause }, UNKNOWN_CAUSE_MESSAGE[cause]);
    }
    return reply.code(403).header('cache-control', 'no-store').send({ error: 'unknown-original-request' });
  }

  app.get('/oauth2/auth', async (request, reply) => {
    if (!isTrusted(request.socket.remoteAddress)) return unknownOriginal(request, reply, 'untrusted-peer');
    const found = originalsFromHeaders(request);
    if ('missing' in found) return unknownOriginal(request, reply, 'no-original-uri');
    if ('error' in found) return reply.code(400).header('cache-control', 'no-store').send({ error: found.error });
    if (found.originals.length > 1) request.log.info('forward-auth: X-Original-URL and X-Forwarded-Uri/-Host disagree; judging both');
    return judge(request, reply, found.originals, 202, true);
  });

  app.route({
    method: [...ANY_METHOD],
    url: `${ENVOY_PREFIX}/*`,
    handler: async (request, reply) => {
      if (!isTrusted(request.socket.remoteAddress)) {
        return reply.code(403).header('cache-control', 'no-store').send({ error: 'untrusted-peer' });
      }
      const { path, query } = request.authgate;
      const uri = path.slice(ENVOY_PREFIX.length) + (query ? `?${query}` : '');
      return judge(request, reply, [{ host: request.headers.host, uri }], 200, true);
    },
  });
}

/**
 * True when the original request is a CORS preflight: OPTIONS (by X-Forwarded-Method from Traefik,
 * X-Original-Method from ingress-nginx, or the Envoy form's own method) with Origin and
 * Access-Control-Request-Method, which the proxies pass on from the original request.
 */
function isOriginalPreflight(request: FastifyRequest): boolean {
  const said = request.headers['x-forwarded-method'] ?? request.headers['x-original-method'];
  const method = (Array.isArray(said) ? said[0] : said)?.toUpperCase() ?? request.method;
  return method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
}

/**
 * What a trusted proxy says the original request was: from X-Forwarded-Uri (+ -Host), from X-Original-URL,
 * or both when both are present and disagree. A proxy that sets one header may pass a client's copy of the
 * other (ingress-nginx sets only X-Original-URL), so neither is preferred: both are judged. A host that
 * cannot name a host (see canonicalHost) is refused, never matched loosely.
 */
function originalsFromHeaders(request: FastifyRequest): OriginalsFromHeaders {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const forwardedUri = header('x-forwarded-uri');
  const originalUrl = header('x-original-url');
  if (forwardedUri === undefined && originalUrl === undefined) return { missing: true };
  const rawForwardedHost = header('x-forwarded-host');
  let forwardedHost = request.headers.host;
  if (rawForwardedHost !== undefined) {
    const host = canonicalHost(rawForwardedHost);
    if (!host) return { error: 'bad-original-host' };
    forwardedHost = host.value;
  }
  const fromForwarded = forwardedUri !== undefined ? { host: forwardedHost, uri: forwardedUri } : undefined;
  let fromOriginal: OriginalRequest | undefined;
  if (originalUrl !== undefined) {
    if (originalUrl.startsWith('/')) {
      fromOriginal = { host: forwardedHost, uri: originalUrl };
    } else {
      let url: URL;
      try {
        url = new URL(originalUrl);
      } catch {
        return { error: 'bad-original-uri' };
      }
      const host = canonicalHost(url.host);
      if (!host) return { error: 'bad-original-host' };
      fromOriginal = { host: host.value, uri: url.pathname + url.search, scheme: url.protocol.slice(0, -1) };
    }
  }
  if (fromForwarded && fromOriginal) {
    const same = fromForwarded.uri === fromOriginal.uri && (fromForwarded.host ?? '').toLowerCase() === (fromOriginal.host ?? '').toLowerCase();
    return { originals: same ? [fromForwarded] : [fromForwarded, fromOriginal] };
  }
  return { originals: [(fromForwarded ?? fromOriginal) as OriginalRequest] };
}
