/**
 * Sends a browser to the provider: a new login transaction (its own cookie) and a 302 to the
 * authorization endpoint. Used by /oauth2/start and by the guard for signed-out navigations.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OidcProvider } from '../oidc/provider.js';
import type { Transactions } from '../session/transaction.js';

/** Answers 302 to the provider; `rd` must already be a safe same-origin target. */
export type BeginLogin = (request: FastifyRequest, reply: FastifyReply, rd: string) => FastifyReply;

/** Creates beginLogin for one gateway: its transactions, its provider and the scopes it asks for. */
export function createBeginLogin(deps: { transactions: Transactions; provider: OidcProvider; scopes: readonly string[] }): BeginLogin {
  const { transactions, provider, scopes } = deps;
  return function beginLogin(request, reply, rd) {
    const { transaction, writes } = transactions.begin(rd, request.authgate.cookies);
    const url = provider.authorizationUrl(transaction, scopes);
    for (const write of writes) reply.setCookie(write.name, write.value, write.options);
    return reply.header('cache-control', 'no-store').redirect(url.href, 302);
  };
}
