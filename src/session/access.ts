/**
 * The one way the pipeline reads the current session: loaded once per request, judged against the
 * timeouts and the access token's expiry, and marked for write-back when it must be re-sealed (older key)
 * or its idle clock moved on.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { ErrorCode, GatewayError } from '../errors.js';

/** The services reading a session needs. */
export type SessionContext = Pick<GatewayContext, 'store' | 'refresher' | 'lifetime'>;
import { isSessionExpired, needsTouch } from './lifetime.js';
import type { LoadedSession, SessionData } from './types.js';

/** A value, or a promise of it where I/O was needed: the per-request path allocates no promise it can avoid. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The request's valid session, or null when signed out. Ends (and clears the cookies of) a session past its
 * timeouts, or whose refresh the provider refused; refreshes tokens that are due. Throws (or, when it went
 * async, rejects with) a 503 GatewayError when the access token has expired and the provider cannot be
 * reached (the session is kept for later). Synchronous when the store answered synchronously and nothing
 * had to be refreshed or ended.
 */
export function loadActiveSession(ctx: SessionContext, request: FastifyRequest, reply: FastifyReply): MaybePromise<SessionData | null> {
  const state = request.authgate;
  if (state.session === undefined) {
    const loaded = ctx.store.load(request);
    if (loaded instanceof Promise) {
      return loaded.then((session) => {
        state.session = session;
        return judgeSession(ctx, request, reply);
      });
    }
    state.session = loaded;
  }
  return judgeSession(ctx, request, reply);
}

/** The loaded session judged: ended, refreshed, touched or as it is. */
function judgeSession(ctx: SessionContext, request: FastifyRequest, reply: FastifyReply): MaybePromise<SessionData | null> {
  const state = request.authgate;
  const loaded = state.session;
  if (!loaded) return null;
  const now = Date.now();
  const { session } = loaded;
  const end = async () => {
    state.session = null;
    state.sessionDirty = false;
    await ctx.store.destroy(request, reply);
    return null;
  };
  if (isSessionExpired(session, ctx.lifetime, now)) return end();

  if (ctx.refresher.isDue(session, now)) {
    return ctx.refresher.refresh(session).then((result) => {
      if (result.kind === 'ended') return end();
      if (result.kind === 'refreshed') {
        const refreshed = { ...result.session, lastSeenAt: now };
        state.session = { session: refreshed, needsRewrite: false };
        state.sessionDirty = true;
        return refreshed;
      }
      return usable(ctx, state, loaded, session, now, end);
    });
  }
  return usable(ctx, state, loaded, session, now, end);
}

/** A session whose token was not refreshed: still usable unless its access token has expired. */
function usable(
  ctx: SessionContext,
  state: FastifyRequest['authgate'],
  loaded: LoadedSession,
  session: SessionData,
  now: number,
  end: () => Promise<null>,
): MaybePromise<SessionData | null> {
  const expiresAt = session.tokens.expiresAt;
  if (expiresAt !== undefined && expiresAt <= now) {
    if (!session.tokens.refreshToken) return end();
    throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable to renew your session. Please try again in a moment.');
  }
  if (loaded.needsRewrite || needsTouch(session, ctx.lifetime, now)) {
    const touched = touchedCopy(loaded, ctx, now);
    state.session = { session: touched, needsRewrite: false };
    state.sessionDirty = true;
    return touched;
  }
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
function touchedCopy(loaded: LoadedSession, ctx: SessionContext, now: number): SessionData {
  const known = touchedCopies.get(loaded);
  if (known !== undefined && !needsTouch(known, ctx.lifetime, now)) return known;
  const touched = { ...loaded.session, lastSeenAt: now };
  touchedCopies.set(loaded, touched);
  return touched;
}

/** Writes the session back when the request changed it (onSend); a request that did not re-sends nothing. */
export async function saveSessionIfChanged(ctx: SessionContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const state = request.authgate;
  if (!state.sessionDirty || !state.session) return;
  state.sessionDirty = false;
  await ctx.store.save(request, reply, state.session.session);
}
