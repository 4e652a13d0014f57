/**
 * Sends a browser to the provider: a new login transaction (its own cookie) and a 302 to the
 * authorization endpoint. Used by /oauth2/start and by the guard for signed-out navigations.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from '../context.js';

/** Answers 302 to the provider; `rd` must already be a safe same-origin target. */
export async function beginLogin(ctx: GatewayContext, request: FastifyRequest, reply: FastifyReply, rd: string): Promise<FastifyReply> {
  const { transaction, writes } = ctx.transactions.begin(rd, request.authgate.cookies);
  const url = ctx.provider.authorizationUrl(transaction, ctx.config.oidc.scopes);
  for (const write of writes) reply.setCookie(write.name, write.value, write.options);
  return reply.header('cache-control', 'no-store').redirect(url.href, 302);
}
