/**
 * The Redis session store, for several replicas: the cookie holds only the session's random id (192 bits,
 * inside the encrypted cookie); the record in Redis is sealed with the session keys, so a Redis dump holds
 * no readable token. Records expire with the idle and absolute timeouts; sign-out and back-channel logout
 * delete them, so a copied cookie is dead everywhere. Sessions are indexed by the provider's `sid` and by
 * `sub` for back-channel logout. Refreshes take a per-session lock and re-read the record once they hold it.
 * Records read are cached in memory while Redis reports their changes (redis-tracking.ts, clientCache).
 *
 * Keys (hash tags keep a session's keys in one Cluster slot):
 *   authgate:{<id>}:s     hash { gen, data }   the sealed session; gen = token generation
 *   authgate:{<id>}:lock  string              the refresh lock
 *   authgate:sid:<sid>    sorted set of ids   sessions of one provider session, scored by absolute end
 *   authgate:sub:<sub>    sorted set of ids   sessions of one user, scored by absolute end
 * When Redis does not answer, every operation throws a 503 GatewayError and the cookie is left alone, so
 * the same cookie works again once Redis is back.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { CookieNames } from './cookie-names.js';
import type { Lifetime } from './lifetime.js';
import { OpenedCache } from './opened-cache.js';
import { parseSessionData } from './parse.js';
import { createTurnCork } from './redis-batch.js';
import type { RedisClient } from './redis-client.js';
import { createTrackedCache } from './redis-tracking.js';
import type { SealBox } from './seal.js';
import type { LoadedSession, ProviderSessionIndex, RefreshLock, RefreshResult, ReplayGuard, SessionBackend, SessionData, SessionStore } from './types.js';

/** How long a refresh may hold the lock before another replica may take it. */
const LOCK_TTL_MS = 15_000;
/** How long a request waits for another replica's refresh before giving up (the session is kept). */
const LOCK_WAIT_MS = 20_000;
const LOCK_POLL_MS = 25;
/** Opened cookies and records remembered, and for how long. */
const OPENED_CACHE_SIZE = 5_000;
const OPENED_CACHE_TTL_MS = 60_000;

/** Writes the record only if it still exists and holds no newer token generation. */
const SAVE_SCRIPT = `
local gen = redis.call('HGET', KEYS[1], 'gen')
if not gen then return 0 end
if tonumber(gen) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Releases the lock only if this holder still owns it. */
const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const recordKey = (id: string) => `authgate:{${id}}:s`;
const lockKey = (id: string) => `authgate:{${id}}:lock`;
const sidKey = (sid: string) => `authgate:sid:${sid}`;
const subKey = (sub: string) => `authgate:sub:${sub}`;

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
  const { redis, names, cookieBox, recordBox, lifetime, metrics, log, startWaitMs } = options;
  const attributes = { path: '/', httpOnly: true, sameSite: 'lax', secure: names.secure } as const;
  const cookieMaxAge = Math.ceil(lifetime.absoluteTimeout / 1000);
  /** Requests whose cookie was sealed under an older key (re-set it on save). */
  const staleCookies = new WeakSet<FastifyRequest>();
  /** The per-request read is written together with the reads of the same event-loop turn. */
  const corkTurn = createTurnCork(redis);

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await run();
    } catch (err) {
      metrics.sessionStoreErrors.inc({ operation });
      log.warn({ err, operation }, 'session store operation failed');
      throw new GatewayError(ErrorCode.sessionStoreUnavailable, 503, 'Sessions are unavailable right now. Please try again in a moment.', {
        cause: err,
      });
    } finally {
      metrics.recordStoreDuration(operation, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  // A record is read from Redis unless it is in the tracked cache, which Redis empties of every record that
  // changes (a sign-out elsewhere counts at once); opening the same cookie or record bytes again is skipped.
  const openedCookies = new OpenedCache<SessionCookie>({ max: OPENED_CACHE_SIZE, ttlMs: OPENED_CACHE_TTL_MS });
  // An opened record is kept as the LoadedSession it gives (needsRewrite: sealed under an older key), which
  // a request with a current cookie gets as it is, like the cookie store's: nothing is allocated per request.
  const openedRecords = new OpenedCache<LoadedSession>({ max: OPENED_CACHE_SIZE, ttlMs: OPENED_CACHE_TTL_MS });
  const tracked = options.clientCache && !(redis instanceof Cluster) ? createTrackedCache<LoadedSession>(redis, { max: OPENED_CACHE_SIZE, log }) : undefined;

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

  async function readRecord(id: string): Promise<LoadedSession | null> {
    const key = recordKey(id);
    const ticket = tracked?.beginRead(key);
    let record: LoadedSession | null = null;
    try {
      const data = await call('load', () => {
        corkTurn();
        return redis.hget(key, 'data');
      });
      record = data ? openRecord(data, id) : null;
      return record;
    } finally {
      tracked?.fill(key, ticket, record ?? undefined);
    }
  }

  function openRecord(data: string, id: string): LoadedSession | null {
    let record = openedRecords.get(data);
    if (!record) {
      const opened = recordBox.open(data);
      const session = opened ? parseSessionData(opened.data) : null;
      if (!session) return null;
      record = { session, needsRewrite: opened?.staleKey === true };
      openedRecords.set(data, record);
    }
    return record.session.id === id ? record : null;
  }

  function loaded(request: FastifyRequest, cookie: SessionCookie, record: LoadedSession): LoadedSession {
    if (!cookie.stale) return record;
    staleCookies.add(request);
    return { session: record.session, needsRewrite: true };
  }

  function ttlOf(session: SessionData, now = Date.now()): number {
    return Math.max(1, Math.min(lifetime.idleTimeout - (now - session.lastSeenAt), lifetime.absoluteTimeout - (now - session.createdAt)));
  }

  async function persist(session: SessionData): Promise<void> {
    const key = recordKey(session.id);
    tracked?.invalidate(key);
    // One round trip: commands on one connection run in the order they were sent.
    const data = sealRecord(session);
    await call('save', () => Promise.all([redis.hset(key, 'gen', String(session.gen), 'data', data), redis.pexpire(key, ttlOf(session))]));
  }

  /** Seals a record; the next read of it gets its bytes back, which then need no opening. */
  function sealRecord(session: SessionData): string {
    const data = recordBox.seal(session);
    openedRecords.set(data, { session, needsRewrite: false });
    return data;
  }

  function setIdCookie(reply: FastifyReply, id: string): void {
    const cookie = cookieBox.seal({ v: 1, rid: id });
    openedCookies.set(cookie, { id, key: recordKey(id), stale: false });
    reply.setCookie(names.session, cookie, { ...attributes, maxAge: cookieMaxAge });
  }

  async function deleteSessions(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    let deleted = 0;
    for (const id of ids) {
      const key = recordKey(id);
      tracked?.invalidate(key);
      deleted += await call('destroy', () => redis.del(key));
    }
    return deleted;
  }

  const store: SessionStore & RefreshLock & ReplayGuard & ProviderSessionIndex = {
    async load(request: FastifyRequest): Promise<LoadedSession | null> {
      const cookie = idFromCookie(request);
      if (!cookie) return null;
      const cached = tracked?.get(cookie.key);
      if (cached) return loaded(request, cookie, cached);
      return readRecord(cookie.id).then((record) => record && loaded(request, cookie, record));
    },

    async create(_request, reply, session) {
      // Each index scores an id with its session's absolute end: at every login, ids past theirs leave it
      // in the same round trip (a user who signs in every day keeps the index alive, never growing).
      const now = Date.now();
      const endsAt = session.createdAt + lifetime.absoluteTimeout;
      const indexes = [subKey(session.identity.sub), ...(session.providerSid ? [sidKey(session.providerSid)] : [])];
      // The record and its indexes leave in one write; the cookie is set only if both were stored.
      corkTurn();
      await Promise.all([
        persist(session),
        call('index', () =>
          Promise.all(
            indexes.flatMap((key) => [
              redis.zadd(key, endsAt, session.id),
              redis.pexpire(key, lifetime.absoluteTimeout),
              redis.zremrangebyscore(key, '-inf', now),
            ]),
          ),
        ),
      ]);
      setIdCookie(reply, session.id);
    },

    async save(request, reply, session) {
      const key = recordKey(session.id);
      tracked?.invalidate(key);
      const written = await call('save', () =>
        redis.eval(SAVE_SCRIPT, 1, key, String(session.gen), sealRecord(session), String(ttlOf(session))),
      );
      if (written === 1 && staleCookies.has(request)) setIdCookie(reply, session.id);
    },

    async destroy(request, reply) {
      const cookie = idFromCookie(request);
      if (cookie) await deleteSessions([cookie.id]);
      reply.clearCookie(names.session, attributes);
    },

    async withRefreshLock(session, refresh): Promise<RefreshResult> {
      const lock = lockKey(session.id);
      const token = randomBytes(16).toString('base64url');
      const deadline = Date.now() + LOCK_WAIT_MS;
      for (;;) {
        const acquired = await call('lock', () => redis.set(lock, token, 'PX', LOCK_TTL_MS, 'NX'));
        if (acquired === 'OK') {
          try {
            const current = await readRecord(session.id);
            if (!current) return { kind: 'ended', reason: 'invalid_grant' }; // signed out meanwhile
            const result = await refresh(current.session);
            if (result.kind === 'refreshed' && result.session.gen > current.session.gen) await persist(result.session);
            return result;
          } finally {
            await redis.eval(UNLOCK_SCRIPT, 1, lock, token).catch(() => undefined); // it expires anyway
          }
        }
        // Another replica is refreshing: wait for it and use its tokens.
        await sleep(LOCK_POLL_MS);
        const current = await readRecord(session.id);
        if (!current) return { kind: 'ended', reason: 'invalid_grant' };
        if (current.session.gen > session.gen) return { kind: 'refreshed', session: current.session };
        if (Date.now() > deadline) return { kind: 'failed' };
      }
    },

    async endProviderSessions(logout) {
      const index = logout.sid !== undefined ? sidKey(logout.sid) : logout.sub !== undefined ? subKey(logout.sub) : undefined;
      if (!index) return 0;
      const ids = await call('logout', () => redis.zrange(index, '0', '-1'));
      const ended = await deleteSessions(ids);
      if (ids.length > 0) await call('logout', () => redis.zrem(index, ...ids));
      return ended;
    },

    async claimOnce(key, ttlMs) {
      const set = await call('claim', () => redis.set(`authgate:once:${key}`, '1', 'PX', ttlMs, 'NX'));
      return set === 'OK';
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
      await tracked?.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
  return { store, refreshLock: store, replayGuard: store, providerSessions: store };
}
