/**
 * GET /oauth2/start?rd=TARGET: begins a login. TARGET must be same-origin; anything else becomes "/".
 */
import type { FastifyInstance } from 'fastify';
import type { BeginLogin } from '../http/begin-login.js';
import { safeRedirectTarget } from '../session/transaction.js';

/** Registers /oauth2/start. */
export function registerStart(app: FastifyInstance, deps: { beginLogin: BeginLogin; publicUrl: string }): void {
  const { beginLogin, publicUrl } = deps;
  app.get('/oauth2/start', async (request, reply) => {
    const { rd } = request.query as { rd?: unknown };
    return beginLogin(request, reply, safeRedirectTarget(rd, publicUrl));
  });
}
