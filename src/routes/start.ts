/**
 * GET /oauth2/start?rd=TARGET: begins a login. TARGET must be same-origin; anything else becomes "/".
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { beginLogin } from '../oidc/begin-login.js';
import { safeRedirectTarget } from '../oidc/transaction.js';

/** Registers /oauth2/start. */
export function registerStart(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/oauth2/start', async (request, reply) => {
    const { rd } = request.query as { rd?: unknown };
    return beginLogin(ctx, request, reply, safeRedirectTarget(rd, ctx.config.server.publicUrl));
  });
}
