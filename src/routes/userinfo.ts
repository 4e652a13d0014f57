/**
 * GET /oauth2/userinfo: who the gateway thinks the user is and the provider that said so, as JSON; 401 when
 * signed out.
 */
import type { FastifyInstance } from 'fastify';
import { sendUnauthenticated } from '../http/replies.js';
import { userOf } from '../identity.js';
import { loadSession, type SessionAccess } from '../session/access.js';

/** Registers /oauth2/userinfo. */
export function registerUserinfo(app: FastifyInstance, access: SessionAccess): void {
  app.get('/oauth2/userinfo', async (request, reply) => {
    const session = await loadSession(access, request);
    if (!session) return sendUnauthenticated(reply);
    reply.header('cache-control', 'no-store');
    const { email, preferredUsername, groups } = session.identity;
    const provider = access.providers.ofSession(session)?.id ?? null;
    return { user: userOf(session.identity), email: email ?? null, preferredUsername: preferredUsername ?? null, groups, provider };
  });
}
