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
import type { SessionData } from './types.js';

/**
 * The request's valid session, or null when signed out. Ends (and clears the cookies of) a session past its
 * timeouts, or whose refresh the provider refused; refreshes tokens that are due. Throws a 503 GatewayError
 * when the access token has expired and the provider cannot be reached (the session is kept for later).
 */
export async function loadActiveSession(ctx: SessionContext, request: FastifyRequest, reply: FastifyReply): Promise<SessionData | null> {
  const state = request.authgate;
  if (state.session === undefined) state.session = await ctx.store.load(request);
  const loaded = state.session;
  if (!loaded) return null;
  const now = Date.now();
  let { session } = loaded;
  const end = async () => {
    state.session = null;
    state.sessionDirty = false;
    await ctx.store.destroy(request, reply);
    return null;
  };
  if (isSessionExpired(session, ctx.lifetime, now)) return end();

  if (ctx.refresher.isDue(session, now)) {
    const result = await ctx.refresher.refresh(session);
    if (result.kind === 'ended') return end();
    if (result.kind === 'refreshed') {
      session = { ...result.session, lastSeenAt: now };
      state.session = { session, needsRewrite: false };
      state.sessionDirty = true;
      return session;
    }
  }
  const expiresAt = session.tokens.expiresAt;
  if (expiresAt !== undefined && expiresAt <= now) {
    if (!session.tokens.refreshToken) return end();
    throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable to renew your session. Please try again in a moment.');
  }
  if (loaded.needsRewrite || needsTouch(session, ctx.lifetime, now)) {
    // A copy: the loaded session may be the stores' cached one, which must keep saying what its text says.
    session = { ...session, lastSeenAt: now };
    state.session = { ...loaded, session };
    state.sessionDirty = true;
  }
  return session;
}

/** Writes the session back when the request changed it (onSend); a request that did not re-sends nothing. */
export async function saveSessionIfChanged(ctx: SessionContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const state = request.authgate;
  if (!state.sessionDirty || !state.session) return;
  state.sessionDirty = false;
  await ctx.store.save(request, reply, state.session.session);
}
