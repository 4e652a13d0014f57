/**
 * POST /oauth2/backchannel_logout (OpenID Connect Back-Channel Logout 1.0): the provider tells the gateway
 * that a user's provider session ended. A valid logout token ends the matching sessions (by `sid`, else by
 * `sub`): deleted in Redis, so on every replica; remembered in a per-process revocation list with cookies.
 * 200 on success; 400 with an OAuth error body otherwise, as the specification asks.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { GatewayContext } from '../context.js';
import { createLogoutTokenVerifier, InvalidLogoutToken, type LogoutTokenVerifier } from '../oidc/logout-token.js';

/** Registers /oauth2/backchannel_logout. */
export function registerBackchannelLogout(app: FastifyInstance, ctx: GatewayContext): void {
  let verifier: LogoutTokenVerifier | undefined;
  const getVerifier = (): LogoutTokenVerifier | undefined => {
    const metadata = ctx.provider.metadata;
    if (!verifier && metadata?.jwks_uri) {
      verifier = createLogoutTokenVerifier({
        issuer: metadata.issuer,
        clientId: ctx.config.oidc.clientId,
        jwksUri: metadata.jwks_uri,
        signingAlgorithms: metadata.id_token_signing_alg_values_supported,
        claimJti: (key, ttlMs) => ctx.replayGuard.claimOnce(key, ttlMs),
      });
    }
    return verifier;
  };
  const refuse = (reply: FastifyReply, error: string, description: string) =>
    reply.code(400).header('cache-control', 'no-store').send({ error, error_description: description });

  app.post('/oauth2/backchannel_logout', async (request, reply) => {
    const body = request.body instanceof URLSearchParams ? request.body : undefined;
    const token = body?.get('logout_token');
    if (!token) {
      ctx.metrics.backchannelLogouts.inc({ outcome: 'invalid' });
      return refuse(reply, 'invalid_request', 'expected an application/x-www-form-urlencoded body with logout_token');
    }
    const verify = getVerifier();
    if (!verify) {
      ctx.metrics.backchannelLogouts.inc({ outcome: 'unavailable' });
      return refuse(reply, 'temporarily_unavailable', 'the provider metadata is not loaded yet');
    }
    try {
      const logout = await verify(token);
      const ended = await ctx.providerSessions.endProviderSessions({ sid: logout.sid, sub: logout.sid === undefined ? logout.sub : undefined, at: Date.now() });
      ctx.metrics.backchannelLogouts.inc({ outcome: 'accepted' });
      request.log.info({ sid: logout.sid, sub: logout.sub, ended }, 'back-channel logout');
      return reply.code(200).header('cache-control', 'no-store').send();
    } catch (err) {
      if (err instanceof InvalidLogoutToken) {
        ctx.metrics.backchannelLogouts.inc({ outcome: err.message.includes('replayed') ? 'replayed' : 'invalid' });
        request.log.warn({ err }, 'back-channel logout refused');
        return refuse(reply, 'invalid_request', err.message);
      }
      ctx.metrics.backchannelLogouts.inc({ outcome: 'unavailable' });
      request.log.warn({ err }, 'back-channel logout failed');
      return refuse(reply, 'temporarily_unavailable', 'the logout could not be processed; try again');
    }
  });
}
