/**
 * GET /oauth2/callback: the provider's answer. Steps, in order: find the login transaction by state
 * (and clear it) → claim it in the store (single use, even for a replayed cookie) → the response's issuer
 * (RFC 9207) → refuse provider errors
 * → code grant and ID token checks → a new session with a fresh id → 302 to the saved target.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { sendGatewayError } from '../http/replies.js';
import type { Metrics } from '../observability/metrics.js';
import type { OidcProvider } from '../oidc/provider.js';
import { TRANSACTION_TTL_SECONDS, type Transactions } from '../session/transaction.js';
import type { ReplayGuard, SessionData, SessionStore } from '../session/types.js';

/** How long a used transaction is remembered: as long as its cookie could be replayed. */
const TRANSACTION_TTL_MS = TRANSACTION_TTL_SECONDS * 1000;
/** The User-Agent a session keeps, in characters at most (the cookie store carries it in every cookie). */
const USER_AGENT_MAX = 200;

/** What the callback needs. */
export interface CallbackDeps {
  provider: OidcProvider;
  transactions: Transactions;
  store: SessionStore;
  replayGuard: ReplayGuard;
  metrics: Metrics;
  /** The clock a new session's lifetime starts by (ms). */
  now: () => number;
}

/** Registers /oauth2/callback. */
export function registerCallback(app: FastifyInstance, deps: CallbackDeps): void {
  const { provider, transactions, store, replayGuard, metrics, now: clock } = deps;
  const retry = { href: '/oauth2/start', text: 'Sign in again' };

  app.get('/oauth2/callback', async (request: FastifyRequest, reply: FastifyReply) => {
    const query = new URLSearchParams(request.authgate.query);
    const state = query.get('state');
    // `withRetry` false: signing in again would end the same way (unavailable, or a session too large).
    const fail = (outcome: string, err: GatewayError, withRetry = err.status !== 503) => {
      metrics.logins.inc({ outcome });
      request.log.warn({ err, outcome }, 'login failed');
      return sendGatewayError(request, reply, err, withRetry ? retry : undefined);
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
      if (err instanceof GatewayError) return fail('unavailable', err);
      throw err;
    }
    if (!first) return expired();

    if (!provider.responseIssuerMatches(query)) {
      return fail('failed', new GatewayError(ErrorCode.loginFailed, 400, 'The sign-in response could not be verified: it did not come from the expected identity provider. Please sign in again.'));
    }
    const providerError = query.get('error');
    if (providerError !== null) {
      const description = query.get('error_description');
      const message = `The provider refused the sign-in: ${providerError}${description ? ` (${description})` : ''}`;
      return fail('provider_error', new GatewayError(ErrorCode.providerError, providerError === 'access_denied' ? 403 : 400, message.slice(0, 300)));
    }

    let login;
    try {
      login = await provider.completeLogin(query, transaction);
    } catch (err) {
      if (err instanceof GatewayError) return fail(err.status === 503 ? 'unavailable' : 'failed', err);
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
      // For the admin API's list only (never used to decide anything); cut short to keep the session small.
      userAgent: request.headers['user-agent']?.slice(0, USER_AGENT_MAX),
      remoteAddr: request.ip,
    };
    try {
      await store.create(request, reply, session);
    } catch (err) {
      if (err instanceof GatewayError && err.code === ErrorCode.sessionTooLarge) return fail('session_too_large', err, false);
      throw err;
    }
    request.authgate.session = { session, needsRewrite: false };
    metrics.logins.inc({ outcome: 'success' });
    request.log.info({ sub: login.identity.sub }, 'login succeeded');
    return reply.header('cache-control', 'no-store').redirect(transaction.rd, 302);
  });
}
