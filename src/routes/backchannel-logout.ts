/**
 * POST /oauth2/backchannel_logout (OpenID Connect Back-Channel Logout 1.0): a provider tells the gateway
 * that a user's provider session ended. The logout token's `iss` names the provider (one endpoint for
 * all); it is then verified with that provider's keys, for this gateway's client there, and ends only that
 * provider's matching sessions (by `sid`, else by `sub`): deleted in Redis, so on every replica; remembered
 * in a per-process revocation list with cookies. 200 on success; 400 with an OAuth error body otherwise, as
 * the specification asks.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { decodeJwt } from 'jose';
import type { Metrics } from '../observability/metrics.js';
import { createLogoutTokenVerifier, InvalidLogoutToken, type LogoutTokenVerifier } from '../oidc/logout-token.js';
import type { OidcProvider } from '../oidc/provider.js';
import type { Providers } from '../oidc/providers.js';
import type { ProviderSessionIndex, ReplayGuard } from '../session/types.js';

/** Registers /oauth2/backchannel_logout. */
export function registerBackchannelLogout(
  app: FastifyInstance,
  deps: { providers: Providers; replayGuard: ReplayGuard; providerSessions: ProviderSessionIndex; metrics: Metrics; now: () => number },
): void {
  const { providers, replayGuard, providerSessions, metrics, now } = deps;
  const verifiers = new Map<OidcProvider, LogoutTokenVerifier>();
  const getVerifier = (provider: OidcProvider): LogoutTokenVerifier | undefined => {
    const metadata = provider.metadata;
    let verifier = verifiers.get(provider);
    if (!verifier && metadata?.jwks_uri) {
      verifier = createLogoutTokenVerifier({
        issuer: metadata.issuer,
        clientId: provider.settings.clientId,
        jwksUri: metadata.jwks_uri,
        fetch: provider.fetch,
        signingAlgorithms: metadata.id_token_signing_alg_values_supported,
        // Token ids are each issuer's own: one provider cannot spend another's.
        claimJti: (key, ttlMs) => replayGuard.claimOnce(provider === providers.primary ? key : `${provider.id} ${key}`, ttlMs),
      });
      verifiers.set(provider, verifier);
    }
    return verifier;
  };
  /** The provider the token says issued it; only chooses whose keys check it (the verifier requires that issuer). */
  const issuerOf = (token: string): OidcProvider | undefined => {
    try {
      const { iss } = decodeJwt(token);
      return typeof iss === 'string' ? providers.byIssuer(iss) : undefined;
    } catch {
      return undefined;
    }
  };
  const refuse = (reply: FastifyReply, error: string, description: string) =>
    reply.code(400).header('cache-control', 'no-store').send({ error, error_description: description });

  app.post('/oauth2/backchannel_logout', async (request, reply) => {
    const body = request.body instanceof URLSearchParams ? request.body : undefined;
    const token = body?.get('logout_token');
    if (!token) {
      metrics.backchannelLogouts.inc({ outcome: 'invalid', provider: 'unknown' });
      return refuse(reply, 'invalid_request', 'expected an application/x-www-form-urlencoded body with logout_token');
    }
    const provider = issuerOf(token);
    if (!provider) {
      metrics.backchannelLogouts.inc({ outcome: 'invalid', provider: 'unknown' });
      request.log.warn('back-channel logout refused: issued by no configured provider');
      return refuse(reply, 'invalid_request', 'the logout token was not issued by a provider of this gateway');
    }
    const count = (outcome: string) => metrics.backchannelLogouts.inc({ outcome, provider: provider.id });
    const verify = getVerifier(provider);
    if (!verify) {
      count('unavailable');
      return refuse(reply, 'temporarily_unavailable', 'the provider metadata is not loaded yet');
    }
    try {
      const logout = await verify(token);
      const scope = provider === providers.primary ? undefined : provider.id;
      const ended = await providerSessions.endProviderSessions({
        provider: scope,
        sid: logout.sid,
        sub: logout.sid === undefined ? logout.sub : undefined,
        at: now(),
      });
      count('accepted');
      request.log.info({ sid: logout.sid, sub: logout.sub, provider: provider.id, ended }, 'back-channel logout');
      return reply.code(200).header('cache-control', 'no-store').send();
    } catch (err) {
      if (err instanceof InvalidLogoutToken) {
        count(err.message.includes('replayed') ? 'replayed' : 'invalid');
        request.log.warn({ err }, 'back-channel logout refused');
        return refuse(reply, 'invalid_request', err.message);
      }
      count('unavailable');
      request.log.warn({ err }, 'back-channel logout failed');
      return refuse(reply, 'temporarily_unavailable', 'the logout could not be processed; try again');
    }
  });
}
