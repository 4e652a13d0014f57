/**
 * The Redis store's refresh lock: one refresh per session across every replica. The holder re-reads the
 * record once it holds the lock (another replica may have refreshed meanwhile); a waiter polls the record
 * and takes the newer tokens another replica stored.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from './redis-client.js';
import type { RedisRecords } from './redis-records.js';
import type { RefreshLock, RefreshResult } from './types.js';

/** How long a refresh may hold the lock before another replica may take it. */
const LOCK_TTL_MS = 15_000;
/** How long a request waits for another replica's refresh before giving up (the session is kept). */
const LOCK_WAIT_MS = 20_000;
const LOCK_POLL_MS = 25;

/** Releases the lock only if this holder still owns it. */
const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const lockKey = (id: string) => `authgate:{${id}}:lock`;

/** Creates the lock over the store's connection and records. */
export function createRedisRefreshLock(redis: RedisClient, records: RedisRecords): RefreshLock {
  return {
    async withRefreshLock(session, refresh): Promise<RefreshResult> {
      const lock = lockKey(session.id);
      const token = randomBytes(16).toString('base64url');
      const deadline = Date.now() + LOCK_WAIT_MS;
      for (;;) {
        const acquired = await records.call('lock', () => redis.set(lock, token, 'PX', LOCK_TTL_MS, 'NX'));
        if (acquired === 'OK') {
          try {
            const current = await records.read(session.id);
            if (!current) return { kind: 'ended', reason: 'invalid_grant' }; // signed out meanwhile
            const result = await refresh(current.session);
            if (result.kind === 'refreshed' && result.session.gen > current.session.gen) await records.persist(result.session);
            return result;
          } finally {
            await redis.eval(UNLOCK_SCRIPT, 1, lock, token).catch(() => undefined); // it expires anyway
          }
        }
        // Another replica is refreshing: wait for it and use its tokens.
        await sleep(LOCK_POLL_MS);
        const current = await records.read(session.id);
        if (!current) return { kind: 'ended', reason: 'invalid_grant' };
        if (current.session.gen > session.gen) return { kind: 'refreshed', session: current.session };
        if (Date.now() > deadline) return { kind: 'failed' };
      }
    },
  };
}
