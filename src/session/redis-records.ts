/**
 * The Redis store's session records: their keys, reading (through the tracked cache when Redis reports
 * changes, redis-tracking.ts), writing and deleting them, and the one wrapper every store command goes
 * through (a failed command is a 503, counted and logged; the cookie is left alone).
 *
 * Keys (hash tags keep a session's keys in one Cluster slot):
 *   authgate:{<id>}:s     hash { gen, data }   the sealed session; gen = token generation
 *   authgate:{<id>}:lock  string              the refresh lock (redis-refresh-lock.ts)
 *   authgate:{<id>}:t     hash { upstream }   upstreams' own tokens, sealed (redis-upstream-tokens.ts)
 *   authgate:sid:<sid>    sorted set of ids   sessions of one provider session (redis-session-index.ts)
 *   authgate:sub:<sub>    sorted set of ids   sessions of one user (redis-session-index.ts)
 */
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Lifetime } from './lifetime.js';
import { OpenedCache } from './opened-cache.js';
import { parseSessionData } from './parse.js';
import { createTurnCork } from './redis-batch.js';
import type { RedisClient } from './redis-client.js';
import { createTrackedCache } from './redis-tracking.js';
import type { SealBox } from './seal.js';
import type { LoadedSession, SessionData } from './types.js';

/** Opened records remembered, and for how long. */
export const OPENED_CACHE_SIZE = 5_000;
export const OPENED_CACHE_TTL_MS = 60_000;

/** Writes the record only if it still exists and holds no newer token generation. */
const SAVE_SCRIPT = `
local gen = redis.call('HGET', KEYS[1], 'gen')
if not gen then return 0 end
if tonumber(gen) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** The key of a session's record. */
export const recordKey = (id: string) => `authgate:{${id}}:s`;
/** The key of a session's upstream tokens (redis-upstream-tokens.ts; the record's hash tag: one Cluster slot). */
export const upstreamTokensKey = (id: string) => `authgate:{${id}}:t`;

/** Runs one store command: its failure becomes a 503 GatewayError, counted and logged; its time is measured. */
export type StoreCall = <T>(operation: string, run: () => Promise<T>) => Promise<T>;

/** Reads and writes the sealed session records. */
export interface RedisRecords {
  call: StoreCall;
  /** The record under `key` if the tracked cache holds it (no Redis read). */
  cached(key: string): LoadedSession | undefined;
  /** Reads the record of session `id` from Redis; null when it is gone (or does not open). */
  read(id: string): Promise<LoadedSession | null>;
  /** Writes a whole record with its time to live (a new session, or a refresh under the lock). */
  persist(session: SessionData): Promise<void>;
  /** Writes back a record unless it was deleted or holds newer tokens; true when written. */
  saveIfCurrent(session: SessionData): Promise<boolean>;
  /** Deletes the records of `ids`; returns how many existed. */
  remove(ids: readonly string[]): Promise<number>;
  /** Call before sending a per-request command: the reads of one event-loop turn leave in one write. */
  corkTurn(): void;
  close(): Promise<void>;
}

/** Creates the record access for one connection. */
export function createRedisRecords(options: {
  redis: RedisClient;
  recordBox: SealBox;
  lifetime: Lifetime;
  metrics: Metrics;
  log: Logger;
  clientCache: boolean;
  /** Told the ids of the records a remove deleted (to close what is open for them, on every replica). */
  onRemoved?: (ids: readonly string[]) => void;
}): RedisRecords {
  const { redis, recordBox, lifetime, metrics, log, onRemoved } = options;
  const corkTurn = createTurnCork(redis);
  // An opened record is kept as the LoadedSession it gives (needsRewrite: sealed under an older key), which
  // a request with a current cookie gets as it is, like the cookie store's: nothing is allocated per request.
  const openedRecords = new OpenedCache<LoadedSession>({ max: OPENED_CACHE_SIZE, ttlMs: OPENED_CACHE_TTL_MS });
  // A record is read from Redis unless it is in the tracked cache, which Redis empties of every record that
  // changes (a sign-out elsewhere counts at once). A Cluster has no single connection to track on.
  const tracked = options.clientCache && !(redis instanceof Cluster) ? createTrackedCache<LoadedSession>(redis, { max: OPENED_CACHE_SIZE, log }) : undefined;

  const call: StoreCall = async (operation, run) => {
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
  };

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

  /** Seals a record; the next read of it gets its bytes back, which then need no opening. */
  function sealRecord(session: SessionData): string {
    const data = recordBox.seal(session);
    openedRecords.set(data, { session, needsRewrite: false });
    return data;
  }

  function ttlOf(session: SessionData, now = Date.now()): number {
    return Math.max(1, Math.min(lifetime.idleTimeout - (now - session.lastSeenAt), lifetime.absoluteTimeout - (now - session.createdAt)));
  }

  return {
    call,
    corkTurn,
    cached: (key) => tracked?.get(key),

    async read(id) {
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
    },

    async persist(session) {
      const key = recordKey(session.id);
      tracked?.invalidate(key);
      // One round trip: commands on one connection run in the order they were sent.
      const data = sealRecord(session);
      await call('save', () => Promise.all([redis.hset(key, 'gen', String(session.gen), 'data', data), redis.pexpire(key, ttlOf(session))]));
    },

    async saveIfCurrent(session) {
      const key = recordKey(session.id);
      tracked?.invalidate(key);
      const written = await call('save', () => redis.eval(SAVE_SCRIPT, 1, key, String(session.gen), sealRecord(session), String(ttlOf(session))));
      return written === 1;
    },

    async remove(ids) {
      let deleted = 0;
      const removed: string[] = [];
      try {
        for (const id of ids) {
          const key = recordKey(id);
          tracked?.invalidate(key);
          // Upstreams' own tokens go with the record (redis-upstream-tokens.ts).
          const [count] = await call('destroy', () => Promise.all([redis.del(key), redis.del(upstreamTokensKey(id))]));
          deleted += count;
          if (count > 0) removed.push(id);
        }
      } finally {
        if (removed.length > 0) onRemoved?.(removed);
      }
      return deleted;
    },

    close: async () => {
      await tracked?.close();
    },
  };
}
