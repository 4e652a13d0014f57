/**
 * The one way the pipeline reads the current session: loaded once per request, judged against the
 * timeouts and the access token's expiry, and marked for write-back when it must be re-sealed (older key)
 * or its idle clock moved on.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { isSessionExpired, needsTouch } from './lifetime.js';
import type { SessionData } from './types.js';

/** The request's valid session, or null when signed out; clears the cookies of a timed-out session. */
export async function loadActiveSession(ctx: GatewayContext, request: FastifyRequest, reply: FastifyReply): Promise<SessionData | null> {
  const state = request.authgate;
  if (state.session === undefined) state.session = await ctx.store.load(request);
  const loaded = state.session;
  if (!loaded) return null;
  const now = Date.now();
  const { session } = loaded;
  const tokenExpired = session.tokens.expiresAt !== undefined && session.tokens.expiresAt <= now;
  if (isSessionExpired(session, ctx.lifetime, now) || tokenExpired) {
    state.session = null;
    state.sessionDirty = false;
    await ctx.store.destroy(request, reply);
    return null;
  }
  if (loaded.needsRewrite || needsTouch(session, ctx.lifetime, now)) {
    session.lastSeenAt = now;
    state.sessionDirty = true;
  }
  return session;
}

/** Writes the session back when the request changed it (onSend); a request that did not re-sends nothing. */
export async function saveSessionIfChanged(ctx: GatewayContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const state = request.authgate;
  if (!state.sessionDirty || !state.session) return;
  state.sessionDirty = false;
  await ctx.store.save(request, reply, state.session.session);
}
