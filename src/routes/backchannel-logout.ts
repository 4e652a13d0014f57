/**
 * POST /oauth2/backchannel_logout (OpenID Connect Back-Channel Logout 1.0): the provider tells the gateway
 * that a user's provider session ended. A valid logout token ends the matching sessions (by `sid`, else by
 * `sub`): deleted in Redis, so on every replica; remembered in a per-process revocation list with cookies.
 * 200 on success; 400 with an OAuth error body otherwise, as the specification asks.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import { createLogoutTokenVerifier, InvalidLogoutToken, type LogoutTokenVerifier } from '../oidc/logout-token.js';
import type { OidcProvider } from '../oidc/provider.js';
import type { ProviderSessionIndex, ReplayGuard } from '../session/types.js';

/** Registers /oauth2/backchannel_logout. */
export function registerBackchannelLogout(
  app: FastifyInstance,
  deps: { provider: OidcProvider; clientId: string; replayGuard: ReplayGuard; providerSessions: ProviderSessionIndex; metrics: Metrics; now: () => number },
): void {
  const { provider, clientId, replayGuard, providerSessions, metrics, now } = deps;
  let verifier: LogoutTokenVerifier | undefined;
  const getVerifier = (): LogoutTokenVerifier | undefined => {
    const metadata = provider.metadata;
    if (!verifier && metadata?.jwks_uri) {
      verifier = createLogoutTokenVerifier({
        issuer: metadata.issuer,
        clientId,
        jwksUri: metadata.jwks_uri,
        fetch: provider.fetch,
        signingAlgorithms: metadata.id_token_signing_alg_values_supported,
        claimJti: (key, ttlMs) => replayGuard.claimOnce(key, ttlMs),
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
      metrics.backchannelLogouts.inc({ outcome: 'invalid' });
      return refuse(reply, 'invalid_request', 'expected an application/x-www-form-urlencoded body with logout_token');
    }
    const verify = getVerifier();
    if (!verify) {
      metrics.backchannelLogouts.inc({ outcome: 'unavailable' });
      return refuse(reply, 'temporarily_unavailable', 'the provider metadata is not loaded yet');
    }
    try {
      const logout = await verify(token);
      const ended = await providerSessions.endProviderSessions({ sid: logout.sid, sub: logout.sid === undefined ? logout.sub : undefined, at: now() });
      metrics.backchannelLogouts.inc({ outcome: 'accepted' });
      request.log.info({ sid: logout.sid, sub: logout.sub, ended }, 'back-channel logout');
      return reply.code(200).header('cache-control', 'no-store').send();
    } catch (err) {
      if (err instanceof InvalidLogoutToken) {
        metrics.backchannelLogouts.inc({ outcome: err.message.includes('replayed') ? 'replayed' : 'invalid' });
        request.log.warn({ err }, 'back-channel logout refused');
        return refuse(reply, 'invalid_request', err.message);
      }
      metrics.backchannelLogouts.inc({ outcome: 'unavailable' });
      request.log.warn({ err }, 'back-channel logout failed');
      return refuse(reply, 'temporarily_unavailable', 'the logout could not be processed; try again');
    }
  });
}
