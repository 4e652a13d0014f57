/**
 * The session control API (docs/admin-api.md), on its own fastify instance that listens only on
 * `admin.listen`: never on the road's listener, where `/admin/*` stays an ordinary upstream path.
 *
 *   GET    /admin/sessions?user=SUB   the user's sessions (Redis store; the cookie store answers 501)
 *   DELETE /admin/sessions/ID         ends one session everywhere (cookie store: refused in this process)
 *   DELETE /admin/sessions?user=SUB   ends every session of the user
 *
 * Every request needs `Authorization: Bearer <one of admin.tokens>`; each action is logged once with the
 * index of the token used, never the token.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { Lifetime } from '../session/lifetime.js';
import type { Providers } from '../oidc/providers.js';
import type { SessionControl, SessionData } from '../session/types.js';
import { createAdminAuthorizer } from './admin-auth.js';

/** A session id as the stores make them (192 random bits, base64url); anything else is no session. */
const SESSION_ID = /^[A-Za-z0-9_-]{16,128}$/;
/** The user's agent as kept (session/types.ts) is already short; a sub longer than this is no user. */
const MAX_SUB_LENGTH = 512;

/** What the admin API shows of one session: who, where from, when; never a token. */
export interface SessionSummary {
  id: string;
  user: string;
  email: string | null;
  provider: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string | null;
  remoteAddr: string | null;
}

/** The summary of a session; times as ISO 8601 strings (UTC); `primary`: the id of a session naming no provider. */
export function summarise(session: SessionData, lifetime: Lifetime, primary: string): SessionSummary {
  const expiresAt = Math.min(session.createdAt + lifetime.absoluteTimeout, session.lastSeenAt + lifetime.idleTimeout);
  return {
    id: session.id,
    user: session.identity.sub,
    email: session.identity.email ?? null,
    provider: session.provider ?? primary,
    createdAt: new Date(session.createdAt).toISOString(),
    lastSeenAt: new Date(session.lastSeenAt).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    userAgent: session.userAgent ?? null,
    remoteAddr: session.remoteAddr ?? null,
  };
}

/** Builds the admin API's instance (not listening: the caller listens on admin.listen). */
export function createAdminServer(
  config: Config['admin'],
  deps: { sessionControl: SessionControl; lifetime: Lifetime; log: Logger; now: () => number; providers: Pick<Providers, 'primary' | 'byId'> },
): FastifyInstance {
  const { sessionControl: control, lifetime, now } = deps;
  const primary = deps.providers.primary.id;
  const log = deps.log.child({ component: 'admin' });
  const authorize = createAdminAuthorizer(config.tokens);
  const app = Fastify({ logger: false });
  const tokenOf = new WeakMap<FastifyRequest, number>();
  const fail = (reply: FastifyReply, status: number, error: string, message: string) =>
    reply.code(status).header('cache-control', 'no-store').send({ error, message });

  app.addHook('onRequest', async (request, reply) => {
    const token = authorize(request.headers.authorization);
    if (token === -1) {
      log.warn({ method: request.method, path: request.url.split('?')[0], remoteAddr: request.ip }, 'admin request refused: no valid token');
      reply.header('www-authenticate', 'Bearer realm="authgate admin"');
      return fail(reply, 401, 'unauthorized', 'Send Authorization: Bearer <one of admin.tokens>.');
    }
    tokenOf.set(request, token);
  });
  const audit = (request: FastifyRequest, action: string, fields: Record<string, unknown>) =>
    log.info({ tokenIndex: tokenOf.get(request), action, ...fields }, 'admin action');

  /** The `user` query parameter, or undefined after answering 400. */
  const userOf = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
    const user = (request.query as { user?: unknown }).user;
    if (typeof user === 'string' && user !== '' && user.length <= MAX_SUB_LENGTH) return user;
    void fail(reply, 400, 'invalid_request', 'Give one user: ?user=SUB (the subject, `sub`, the provider gave the user).');
    return undefined;
  };

  /**
   * The optional `provider` query parameter: every provider when absent (`all`), else a configured id; null
   * after answering 400. The same `sub` at two providers is two people: this tells them apart.
   */
  const providerOf = (request: FastifyRequest, reply: FastifyReply): { id: string } | 'all' | null => {
    const provider = (request.query as { provider?: unknown }).provider;
    if (provider === undefined) return 'all';
    if (typeof provider === 'string' && deps.providers.byId(provider)) return { id: provider };
    void fail(reply, 400, 'invalid_request', 'provider=ID names one configured provider (providers[].id, or "default" with oidc:); leave it out for all.');
    return null;
  };

  app.get('/admin/sessions', async (request, reply) => {
    const user = userOf(request, reply);
    if (user === undefined) return reply;
    const provider = providerOf(request, reply);
    if (provider === null) return reply;
    if (!control.canList) {
      return fail(reply, 501, 'not_implemented', 'The cookie session store keeps sessions in browsers: they cannot be listed. Use session.store: redis.');
    }
    const sessions = (await control.listUserSessions(user))
      .map((session) => summarise(session, lifetime, primary))
      .filter((session) => provider === 'all' || session.provider === provider.id);
    audit(request, 'list', { user, count: sessions.length });
    return reply.header('cache-control', 'no-store').send({ sessions });
  });

  app.delete('/admin/sessions/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const ended = SESSION_ID.test(id) && (await control.endSession(id));
    audit(request, 'end-session', { count: ended ? 1 : 0 });
    if (!ended) return fail(reply, 404, 'not_found', 'No such session (it may have ended already).');
    return reply.code(204).header('cache-control', 'no-store').send();
  });

  app.delete('/admin/sessions', async (request, reply) => {
    const user = userOf(request, reply);
    if (user === undefined) return reply;
    const provider = providerOf(request, reply);
    if (provider === null) return reply;
    // The primary provider's sessions name no provider (session/types.ts).
    const only = provider === 'all' ? undefined : { provider: provider.id === primary ? undefined : provider.id };
    const revoked = await control.endUserSessions(user, now(), only);
    audit(request, 'end-user-sessions', { user, count: revoked, ...(provider === 'all' ? {} : { provider: provider.id }) });
    return reply.header('cache-control', 'no-store').send({ revoked });
  });

  app.setNotFoundHandler((_request, reply) => fail(reply, 404, 'not_found', 'No such admin endpoint; see docs/admin-api.md.'));
  app.setErrorHandler((err, request, reply) => {
    const status = err instanceof GatewayError ? err.status : 500;
    log.warn({ err, path: request.url.split('?')[0] }, 'admin request failed');
    return fail(reply, status, status === 503 ? 'unavailable' : 'error', status === 503 ? 'The session store is unavailable; try again.' : 'The request failed.');
  });
  return app;
}
