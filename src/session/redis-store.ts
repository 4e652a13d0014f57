/**
 * The Redis session store, for several replicas: the cookie holds only the session's random id (192 bits,
 * inside the encrypted cookie); the record in Redis is sealed with the session keys, so a Redis dump holds
 * no readable token. Records expire with the idle and absolute timeouts; sign-out and back-channel logout
 * delete them, so a copied cookie is dead everywhere.
 * Its parts, one per SessionBackend duty: the records (redis-records.ts, with the keys and the tracked
 * cache), the refresh lock (redis-refresh-lock.ts), the provider-session index (redis-session-index.ts);
 * here the cookie, the replay guard and the connection's life.
 * When Redis does not answer, every operation throws a 503 GatewayError and the cookie is left alone, so
 * the same cookie works again once Redis is back.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { CookieNames } from './cookie-names.js';
import type { Lifetime } from './lifetime.js';
import { OpenedCache } from './opened-cache.js';
import type { RedisClient } from './redis-client.js';
import { createRedisRecords, OPENED_CACHE_SIZE, OPENED_CACHE_TTL_MS, recordKey } from './redis-records.js';
import { createRedisRefreshLock } from './redis-refresh-lock.js';
import { createRedisSessionIndex } from './redis-session-index.js';
import { createRedisSessionEndings } from './redis-session-endings.js';
import { createRedisUpstreamTokens } from './redis-upstream-tokens.js';
import type { SealBox } from './seal.js';
import type { LoadedSession, ReplayGuard, SessionBackend, SessionControl, SessionData, SessionStore } from './types.js';

/** A session cookie opened: the record's id and key, and whether the cookie was sealed under an older key. */
interface SessionCookie {
  id: string;
  key: string;
  stale: boolean;
}

/** Creates the Redis store. */
export function createRedisStore(options: {
  redis: RedisClient;
  names: CookieNames;
  /** Seals the cookie (the id). */
  cookieBox: SealBox;
  /** Seals the record in Redis. */
  recordBox: SealBox;
  lifetime: Lifetime;
  metrics: Metrics;
  log: Logger;
  /** How long start() waits for the first connection. */
  startWaitMs: number;
  /** Keep read records in memory while Redis reports their changes (redis-tracking.ts); not for a Cluster. */
  clientCache: boolean;
}): SessionBackend {
  const { redis, names, cookieBox, lifetime, log, startWaitMs } = options;
  const attributes = { path: '/', httpOnly: true, sameSite: 'lax', secure: names.secure } as const;
  const cookieMaxAge = Math.ceil(lifetime.absoluteTimeout / 1000);
  /** Requests whose cookie was sealed under an older key (re-set it on save). */
  const staleCookies = new WeakSet<FastifyRequest>();
  const endings = createRedisSessionEndings(redis, log);
  const records = createRedisRecords({ ...options, onRemoved: (ids) => endings.publish({ ids }) });
  const index = createRedisSessionIndex(redis, records, lifetime);
  // Opening the same cookie again is skipped.
  const openedCookies = new OpenedCache<SessionCookie>({ max: OPENED_CACHE_SIZE, ttlMs: OPENED_CACHE_TTL_MS });

  function idFromCookie(request: FastifyRequest): SessionCookie | null {
    const cookie = request.authgate.cookies.get(names.session);
    if (cookie === undefined) return null;
    const known = openedCookies.get(cookie);
    if (known) return known;
    const opened = cookieBox.open(cookie);
    const id = opened?.data.rid;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{32,}$/.test(id)) return null;
    const result = { id, key: recordKey(id), stale: opened?.staleKey === true };
    openedCookies.set(cookie, result);
    return result;
  }

  function loaded(request: FastifyRequest, cookie: SessionCookie, record: LoadedSession): LoadedSession {
    if (!cookie.stale) return record;
    staleCookies.add(request);
    return { session: record.session, needsRewrite: true };
  }

  function setIdCookie(reply: FastifyReply, id: string): void {
    const cookie = cookieBox.seal({ v: 1, rid: id });
    openedCookies.set(cookie, { id, key: recordKey(id), stale: false });
    reply.setCookie(names.session, cookie, { ...attributes, maxAge: cookieMaxAge });
  }

  const store: SessionStore = {
    async load(request: FastifyRequest): Promise<LoadedSession | null> {
      const cookie = idFromCookie(request);
      if (!cookie) return null;
      const cached = records.cached(cookie.key);
      if (cached) return loaded(request, cookie, cached);
      return records.read(cookie.id).then((record) => record && loaded(request, cookie, record));
    },

    async create(_request, reply, session) {
      // The record and its indexes leave in one write; the cookie is set only if both were stored.
      records.corkTurn();
      await Promise.all([records.persist(session), index.add(session)]);
      setIdCookie(reply, session.id);
    },

    async save(request, reply, session) {
      const written = await records.saveIfCurrent(session);
      if (written && staleCookies.has(request)) setIdCookie(reply, session.id);
    },

    async destroy(request, reply) {
      const cookie = idFromCookie(request);
      if (cookie) await records.remove([cookie.id]);
      reply.clearCookie(names.session, attributes);
    },

    async start() {
      // Commands fail fast while disconnected (no offline queue), so do not take traffic before the first
      // connection: wait for it, but not forever; /ready tells the rest.
      if (redis.status === 'ready') return;
      const connected = await Promise.race([once(redis, 'ready').then(() => true), sleep(startWaitMs).then(() => false)]);
      if (!connected) log.warn({ waitedMs: startWaitMs }, 'session store not reachable at start; serving 503 until it is');
    },

    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      await Promise.all([records.close(), endings.close()]);
      await redis.quit().catch(() => redis.disconnect());
    },
  };

  const replayGuard: ReplayGuard = {
    async claimOnce(key, ttlMs) {
      const set = await records.call('claim', () => redis.set(`authgate:once:${key}`, '1', 'PX', ttlMs, 'NX'));
      return set === 'OK';
    },
  };

  const readSession = async (id: string): Promise<SessionData | null> => (await records.read(id))?.session ?? null;
  const control: SessionControl = {
    canList: true,
    async listUserSessions(sub) {
      const ids = await index.userSessionIds(sub);
      const sessions = await Promise.all(ids.map(readSession));
      return sessions.filter((session): session is SessionData => session !== null && session.identity.sub === sub).sort((a, b) => a.createdAt - b.createdAt);
    },
    readSession,
    isEnded: () => false,
    endSession: async (id) => (await records.remove([id])) > 0,
    // An admin ends the user's sessions at every provider, or at the one named.
    endUserSessions: (sub, at, only) => index.endProviderSessions(only ? { sub, at, provider: only.provider } : { sub, at, anyProvider: true }),
    endings,
  };

  return {
    store,
    refreshLock: createRedisRefreshLock(redis, records),
    replayGuard,
    providerSessions: index,
    control,
    upstreamTokens: createRedisUpstreamTokens(redis, records.call, options.recordBox),
  };
}
