/**
 * GET or POST /oauth2/sign_out?rd=PATH: ends the session here, then at the provider (RP-initiated logout
 * with id_token_hint) when it has an end_session_endpoint; otherwise straight to rd.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';
import { safeRedirectTarget } from '../oidc/transaction.js';

/** Registers /oauth2/sign_out. */
export function registerSignOut(app: FastifyInstance, ctx: GatewayContext): void {
  const publicUrl = ctx.config.server.publicUrl;
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const { rd } = request.query as { rd?: unknown };
    const target = safeRedirectTarget(rd, publicUrl);
    const loaded = request.authgate.session ?? (await ctx.store.load(request));
    await ctx.store.destroy(request, reply);
    request.authgate.session = null;
    if (loaded) request.log.info({ sub: loaded.session.identity.sub }, 'signed out');
    const endSession = loaded ? ctx.provider.endSessionUrl(loaded.session.tokens.idToken, new URL(target, publicUrl).href) : null;
    return reply.header('cache-control', 'no-store').redirect(endSession?.href ?? target, 302);
  };
  app.get('/oauth2/sign_out', handler);
  app.post('/oauth2/sign_out', handler);
}
