/**
 * The one way the road reads the current session: loaded once per request and judged against the timeouts
 * and the access token's expiry. Judging decides, and records on the request, what the write-back step does
 * with the session: nothing, save it (re-sealed under the first key, idle clock moved on, new tokens), or
 * destroy it (past its timeouts, or its refresh refused). Nothing is written here.
 */
import type { FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { isSessionExpired, needsTouch, type Lifetime } from './lifetime.js';
import type { Providers } from '../oidc/providers.js';
import type { Refresher } from './refresh.js';
import type { LoadedSession, SessionData, SessionStore } from './types.js';

/** What the write-back step does with the request's session. */
export type SessionWrite = 'none' | 'save' | 'destroy';

/** The services reading a session needs. */
export interface SessionAccess {
  store: SessionStore;
  refresher: Refresher;
  lifetime: Lifetime;
  /** A session whose provider is no longer configured is over. */
  providers: Pick<Providers, 'ofSession'>;
  /** The clock session lifetimes are judged by (ms). */
  now: () => number;
}

/**
 * The request's valid session, or null when signed out. A session past its timeouts, or whose refresh the
 * provider refused, is null and marked for destruction; due tokens are refreshed. Rejects with a 503
 * GatewayError when the access token has expired and the provider cannot be reached (the session is kept).
 */
export async function loadSession(access: SessionAccess, request: FastifyRequest): Promise<SessionData | null> {
  const state = request.authgate;
  if (state.session === undefined) state.session = await access.store.load(request);
  const loaded = state.session;
  if (!loaded) return null;
  const now = access.now();
  const { session } = loaded;
  if (isSessionExpired(session, access.lifetime, now) || !access.providers.ofSession(session)) return end(request);

  if (access.refresher.isDue(session, now)) {
    const result = await access.refresher.refresh(session);
    if (result.kind === 'ended') return end(request);
    if (result.kind === 'refreshed') return keep(request, { ...result.session, lastSeenAt: now });
  }
  const expiresAt = session.tokens.expiresAt;
  if (expiresAt !== undefined && expiresAt <= now) {
    if (!session.tokens.refreshToken) return end(request);
    throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable to renew your session. Please try again in a moment.');
  }
  if (loaded.needsRewrite || needsTouch(session, access.lifetime, now)) return keep(request, touchedCopy(loaded, access.lifetime, now));
  return session;
}

/** Signed out from here on; the write-back step clears the cookies (and the record) on this very answer. */
function end(request: FastifyRequest): null {
  request.authgate.session = null;
  request.authgate.sessionWrite = 'destroy';
  return null;
}

/** The request goes on with `session`, which the write-back step saves. */
function keep(request: FastifyRequest, session: SessionData): SessionData {
  request.authgate.session = { session, needsRewrite: false };
  request.authgate.sessionWrite = 'save';
  return session;
}

/**
 * The touched copy made for each loaded session, kept while it is itself fresh. Until a client sends the
 * new cookie (requests already in flight, a client that ignores Set-Cookie), every request with the old
 * cookie gets the same copy, which the cookie store seals once: not a new seal and a new cookie per request.
 * A copy, not a change: the loaded session may be the stores' cached one, which must keep saying what its
 * text says. Keyed weakly: a loaded session the stores forget takes its copy with it.
 */
const touchedCopies = new WeakMap<LoadedSession, SessionData>();
function touchedCopy(loaded: LoadedSession, lifetime: Lifetime, now: number): SessionData {
  const known = touchedCopies.get(loaded);
  if (known !== undefined && !needsTouch(known, lifetime, now)) return known;
  const touched = { ...loaded.session, lastSeenAt: now };
  touchedCopies.set(loaded, touched);
  return touched;
}
