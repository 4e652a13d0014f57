/**
 * The callback's end of a step-up login (docs/step-up.md). openid-client does not check `acr`, so the
 * gateway checks the new ID token itself against what the login asked: `acr` one of the asked values,
 * `auth_time` within `max_age` (with `oidc.clockSkew`). A login that falls short is a 401 page with a way
 * to try again, never a redirect (no loop with a provider that keeps answering a weaker acr) and never a 403.
 * A login that meets it upgrades the session it names (new id, same sign-in time) when the same user came
 * back; another user is refused and the old session kept (the switch is a sign-out and a sign-in).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { OidcProvider } from '../oidc/provider.js';
import { askedRule, meetsStepUp, type StepUpAsk } from '../policy/step-up.js';
import { isSessionExpired, type Lifetime } from '../session/lifetime.js';
import { sameUser, sessionFingerprint, upgradedSession } from '../session/step-up-session.js';
import type { SessionData, SessionStore } from '../session/types.js';

/** The stored session, or why the login does not sign in (the outcome label and the page to show). */
export type StepUpOutcome = { session: SessionData } | { refused: 'step_up_refused' | 'step_up_other_user'; error: GatewayError };

/** What finishing a step-up needs. */
export interface StepUpCallbackDeps {
  store: SessionStore;
  metrics: Metrics;
  lifetime: Lifetime;
  provider: OidcProvider;
}

/**
 * Checks `fresh` (the session the login would create) against `ask`, then stores it: as the upgrade of the
 * session `ask.up` names when that is the request's session and still valid, else as a new session.
 */
export async function finishStepUp(request: FastifyRequest, reply: FastifyReply, deps: StepUpCallbackDeps, ask: StepUpAsk, fresh: SessionData): Promise<StepUpOutcome> {
  const { store, metrics, lifetime, provider } = deps;
  const now = fresh.createdAt;
  if (!meetsStepUp(askedRule(ask), fresh.acr, fresh.authAt, now, provider.settings.clockSkew)) {
    metrics.stepUps.inc({ provider: provider.id, result: 'refused' });
    request.log.warn({ sub: fresh.identity.sub, acr: fresh.acr, authTime: fresh.authAt, asked: { acr: ask.acr, maxAge: ask.maxAge } }, 'step-up refused: the sign-in did not meet the route');
    reply.header('www-authenticate', 'Bearer realm="authgate", error="insufficient_user_authentication"');
    return { refused: 'step_up_refused', error: new GatewayError(ErrorCode.stepUpRequired, 401, 'A stronger or more recent sign-in is needed for this page.') };
  }
  const loaded = ask.up === undefined ? null : await store.load(request);
  const old = loaded && sessionFingerprint(loaded.session.id) === ask.up && !isSessionExpired(loaded.session, lifetime, now) ? loaded.session : undefined;
  if (old === undefined) {
    // Signed out meanwhile (or the login started signed out): an ordinary new session, strong enough.
    await store.create(request, reply, fresh);
    metrics.stepUps.inc({ provider: provider.id, result: 'completed' });
    return { session: fresh };
  }
  if (!sameUser(old, fresh)) {
    metrics.stepUps.inc({ provider: provider.id, result: 'other_user' });
    request.log.warn({ sub: old.identity.sub, otherSub: fresh.identity.sub, provider: provider.id }, 'step-up refused: another user signed in; the session is kept');
    reply.header('www-authenticate', 'Bearer realm="authgate"');
    return { refused: 'step_up_other_user', error: new GatewayError(ErrorCode.stepUpOtherUser, 401, 'Another account signed in at the identity provider; you are still signed in as before.') };
  }
  const upgraded = upgradedSession(old, fresh);
  // The old id ends (its record, its WebSockets) and the upgraded session is stored under a new one. Cleared
  // first: a cookie set after the clear replaces it in the answer.
  await store.destroy(request, reply);
  await store.create(request, reply, upgraded);
  metrics.stepUps.inc({ provider: provider.id, result: 'completed' });
  request.log.info({ sub: upgraded.identity.sub, provider: provider.id, acr: upgraded.acr }, 'session upgraded by step-up');
  return { session: upgraded };
}
