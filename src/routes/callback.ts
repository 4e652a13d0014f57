/**
 * GET /oauth2/callback: the provider's answer (one redirect URI for every provider). Steps, in order: find
 * the login transaction by state (and clear it) → claim it in the store (single use, even for a replayed
 * cookie) → the provider the transaction names, and only it (mix-up defence: its RFC 9207 issuer, its token
 * endpoint, its keys for the ID token) → refuse provider errors
 * → code grant and ID token checks → a new session with a fresh id → 302 to the saved target. A step-up
 * login (docs/step-up.md) is checked against what it asked (acr, auth_time) and upgrades the session it
 * names: step-up-callback.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { sendGatewayError } from '../http/replies.js';
import type { ErrorPageHints } from '../pages/error-view.js';
import type { Metrics } from '../observability/metrics.js';
import type { Providers } from '../oidc/providers.js';
import { TRANSACTION_TTL_SECONDS, type Transactions } from '../session/transaction.js';
import type { ReplayGuard, SessionData, SessionStore } from '../session/types.js';
import type { Lifetime } from '../session/lifetime.js';
import { finishStepUp } from './step-up-callback.js';

/** How long a used transaction is remembered: as long as its cookie could be replayed. */
const TRANSACTION_TTL_MS = TRANSACTION_TTL_SECONDS * 1000;
/** The User-Agent a session keeps, in characters at most (the cookie store carries it in every cookie). */
const USER_AGENT_MAX = 200;

/** What the callback needs. */
export interface CallbackDeps {
  providers: Providers;
  transactions: Transactions;
  store: SessionStore;
  replayGuard: ReplayGuard;
  metrics: Metrics;
  /** The clock a new session's lifetime starts by (ms). */
  now: () => number;
  /** The session timeouts: a step-up upgrades only a session still within them. */
  lifetime: Lifetime;
  /** The RFC 8707 resources a login at this provider asks for (kept in the session: upstream-tokens.ts). */
  loginResources?: (providerId: string) => readonly string[];
}

/** Registers /oauth2/callback. */
export function registerCallback(app: FastifyInstance, deps: CallbackDeps): void {
  const { providers, transactions, store, replayGuard, metrics, now: clock } = deps;

  app.get('/oauth2/callback', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = new URLSearchParams(request.authgate.query);
    const state = query.get('state');
    // `hints`: the page's "Sign in again" keeps the transaction's target once the transaction is known.
    // The provider is known once the transaction is: before that, a failure is no provider's.
    let providerId = 'unknown';
    const fail = (outcome: string, err: GatewayError, hints?: ErrorPageHints) => {
      metrics.logins.inc({ outcome, provider: providerId });
      request.log.warn({ err, outcome, provider: providerId }, 'login failed');
      return sendGatewayError(request, reply, err, hints);
    };
    if (!state) return fail('invalid_state', new GatewayError(ErrorCode.badRequest, 400, 'The sign-in response has no state. Please sign in again.'));

    const { transaction, clear } = transactions.finish(state, request.authgate.cookies);
    reply.setCookie(clear.name, clear.value, clear.options);
    const expired = () =>
      fail('invalid_state', new GatewayError(ErrorCode.loginExpired, 400, 'This sign-in has expired or was already used. Please sign in again.'));
    if (!transaction) return expired();
    // Clearing the cookie does not stop a client that kept it: the transaction is claimed once, in the store
    // (across replicas with Redis), before its code can reach the token endpoint.
    let first;
    try {
      first = await replayGuard.claimOnce(`callback:${createHash('sha256').update(state).digest('base64url')}`, TRANSACTION_TTL_MS);
    } catch (err) {
      if (err instanceof GatewayError) return fail('unavailable', err, { target: transaction.rd });
      throw err;
    }
    if (!first) return expired();
    // A transaction names its provider; one no longer configured cannot finish (nor be finished by another).
    const provider = transaction.provider === undefined ? providers.primary : providers.byId(transaction.provider);
    if (!provider) return expired();
    providerId = provider.id;
    const target = { target: transaction.rd };

    if (!provider.responseIssuerMatches(query)) {
      return fail('failed', new GatewayError(ErrorCode.loginFailed, 400, 'The sign-in response could not be verified: it did not come from the expected identity provider. Please sign in again.'), target);
    }
    const providerError = query.get('error');
    if (providerError !== null) {
      const description = query.get('error_description');
      const said = `${providerError}${description ? ` (${description})` : ''}`.slice(0, 300);
      const status = providerErrorStatus(providerError);
      if (status === 401) reply.header('www-authenticate', 'Bearer realm="authgate"'); // RFC 9110 15.5.2
      const err = new GatewayError(ErrorCode.providerError, status, `The provider refused the sign-in: ${said}`.slice(0, 300));
      return fail('provider_error', err, { ...target, detail: `The identity provider said: ${said}` });
    }

    let login;
    try {
      login = await provider.completeLogin(query, transaction);
    } catch (err) {
      if (err instanceof GatewayError) return fail(err.status === 503 ? 'unavailable' : 'failed', err, target);
      throw err;
    }

    const now = clock();
    const session: SessionData = {
      v: 1,
      id: randomBytes(24).toString('base64url'),
      identity: login.identity,
      tokens: login.tokens,
      providerSid: login.providerSid,
      gen: 0,
      createdAt: now,
      lastSeenAt: now,
      // The primary provider's sessions do not name it (session/types.ts).
      provider: provider === providers.primary ? undefined : provider.id,
      // For the admin API's list only (never used to decide anything); cut short to keep the session small.
      userAgent: request.headers['user-agent']?.slice(0, USER_AGENT_MAX),
      remoteAddr: request.ip,
      ...(login.acr === undefined ? {} : { acr: login.acr }),
      ...(login.authTime === undefined ? {} : { authAt: login.authTime }),
    };
    const resources = deps.loginResources?.(provider.id) ?? [];
    if (resources.length > 0) session.resources = [...resources];
    let stored = session;
    try {
      if (transaction.stepUp === undefined) {
        await store.create(request, reply, session);
      } else {
        const step = await finishStepUp(request, reply, { ...deps, provider }, transaction.stepUp, session);
        if ('refused' in step) return fail(step.refused, step.error, target);
        stored = step.session;
      }
    } catch (err) {
      if (err instanceof GatewayError && err.code === ErrorCode.sessionTooLarge) return fail('session_too_large', err, target);
      throw err;
    }
    request.authgate.session = { session: stored, needsRewrite: false };
    metrics.logins.inc({ outcome: 'success', provider: provider.id });
    request.log.info({ sub: login.identity.sub, provider: provider.id }, 'login succeeded');
    return reply.header('cache-control', 'no-store').redirect(transaction.rd, 302);
  });
}

/**
 * The status of a provider's `error=` answer. A user who cancels, or whom the provider refuses
 * (access_denied, login_required, ...), is simply not signed in: 401, not the 403 of an application that
 * knows the user and says no. The provider's own trouble (RFC 6749 4.1.2.1) is 502 or 503.
 */
function providerErrorStatus(error: string): number {
  if (error === 'temporarily_unavailable') return 503;
  if (error === 'server_error') return 502;
  return 401;
}
