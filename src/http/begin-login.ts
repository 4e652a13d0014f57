/**
 * Sends a browser to a provider: a new login transaction (its own cookie, naming the provider) and a 302 to
 * that provider's authorization endpoint. Used by /oauth2/start and by the guard for signed-out
 * navigations; when more than one provider could sign the user in for the target, the browser goes to the
 * sign-in page (/oauth2/sign_in) to choose.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import type { OidcProvider } from '../oidc/provider.js';
import type { Providers } from '../oidc/providers.js';
import type { StepUpAsk } from '../policy/step-up.js';
import type { Transactions } from '../session/transaction.js';
import { signInPageHref } from '../url/login-paths.js';


/**
 * Answers 302 to the provider, or to the sign-in page when `accepted` (the target's `providers`, all when
 * undefined) leaves more than one; `rd` must already be a safe same-origin target. `stepUp`: what the
 * target's route asks of the login (acr_values, max_age; docs/step-up.md).
 */
export type BeginLogin = (request: FastifyRequest, reply: FastifyReply, rd: string, accepted?: readonly string[], stepUp?: StepUpAsk) => Promise<FastifyReply>;

/**
 * Answers 302 to this provider's authorization endpoint; `rd` must already be a safe same-origin target.
 * Rejects with a ProviderError (the page to show) when the provider cannot take the request (PAR).
 */
export type LoginAt = (request: FastifyRequest, reply: FastifyReply, rd: string, provider: OidcProvider, stepUp?: StepUpAsk) => Promise<FastifyReply>;

/** Creates the two ways into a login for one gateway. */
export function createBeginLogin(deps: {
  transactions: Transactions;
  providers: Providers;
  metrics: Metrics;
  /** The RFC 8707 resources a login at this provider asks for (upstreams' own tokens); none by default. */
  resources?: (providerId: string) => readonly string[];
}): { beginLogin: BeginLogin; loginAt: LoginAt } {
  const { transactions, providers, metrics, resources } = deps;
  const loginAt: LoginAt = async (request, reply, rd, provider, stepUp) => {
    const { transaction, writes } = transactions.begin(rd, provider.id, request.authgate.cookies, stepUp);
    // Before the cookie is set: a login the provider refuses to take leaves no transaction behind.
    const url = await provider.authorizationUrl(transaction, provider.settings.scopes, stepUp, resources?.(provider.id));
    if (stepUp !== undefined) metrics.stepUps.inc({ provider: provider.id, result: 'started' });
    for (const write of writes) reply.setCookie(write.name, write.value, write.options);
    return reply.header('cache-control', 'no-store').redirect(url.href, 302);
  };
  const beginLogin: BeginLogin = async (request, reply, rd, accepted, stepUp) => {
    const only = accepted === undefined ? (providers.list.length === 1 ? providers.primary : undefined) : accepted.length === 1 ? providers.byId(accepted[0]) : undefined;
    if (only) return loginAt(request, reply, rd, only, stepUp);
    return reply.header('cache-control', 'no-store').redirect(signInPageHref(rd), 302);
  };
  return { beginLogin, loginAt };
}
