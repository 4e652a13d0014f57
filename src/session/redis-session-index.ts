/**
 * The Redis store's provider-session index, for back-channel logout: a sorted set of session ids per
 * provider session (`sid`) and per user (`sub`), each id scored by its session's absolute end.
 */
import type { Lifetime } from './lifetime.js';
import type { RedisClient } from './redis-client.js';
import type { RedisRecords } from './redis-records.js';
import type { ProviderSessionIndex, SessionData } from './types.js';

/** Provider session ids are each provider's own: the primary's keep their old key, others name the provider. */
const sidKey = (sid: string, provider: string | undefined) => (provider === undefined ? `authgate:sid:${sid}` : `authgate:sid@${provider}:${sid}`);
const subKey = (sub: string) => `authgate:sub:${sub}`;

/** The index, and the write that adds a new session to it. */
export interface RedisSessionIndex extends ProviderSessionIndex {
  /** Adds a new session's id to its indexes (sent in the caller's round trip). */
  add(session: SessionData): Promise<unknown>;
  /** The ids of user `sub`'s sessions not past their absolute end (some may have ended since). */
  userSessionIds(sub: string): Promise<string[]>;
}

/** Creates the index over the store's connection and records. */
export function createRedisSessionIndex(redis: RedisClient, records: RedisRecords, lifetime: Lifetime): RedisSessionIndex {
  return {
    add(session) {
      // At every login, ids past their absolute end leave the index in the same round trip (a user who
      // signs in every day keeps the index alive, never growing).
      const now = Date.now();
      const endsAt = session.createdAt + lifetime.absoluteTimeout;
      const indexes = [subKey(session.identity.sub), ...(session.providerSid ? [sidKey(session.providerSid, session.provider)] : [])];
      return records.call('index', () =>
        Promise.all(
          indexes.flatMap((key) => [
            redis.zadd(key, endsAt, session.id),
            redis.pexpire(key, lifetime.absoluteTimeout),
            redis.zremrangebyscore(key, '-inf', now),
          ]),
        ),
      );
    },

    userSessionIds(sub) {
      return records.call('list', () => redis.zrangebyscore(subKey(sub), Date.now(), '+inf'));
    },

    async endProviderSessions(logout) {
      const index = logout.sid !== undefined ? sidKey(logout.sid, logout.provider) : logout.sub !== undefined ? subKey(logout.sub) : undefined;
      if (!index) return 0;
      let ids = await records.call('logout', () => redis.zrange(index, '0', '-1'));
      // The user index holds every provider's sessions of that sub: only the logout's provider's end.
      if (logout.sid === undefined && logout.anyProvider !== true) ids = await ofProvider(records, ids, logout.provider);
      if (ids.length === 0) return 0;
      const ended = await records.remove(ids);
      await records.call('logout', () => redis.zrem(index, ...ids));
      return ended;
    },
  };
}

/** The ids among `ids` whose session belongs to `provider` (undefined: the primary); gone ones are dropped. */
async function ofProvider(records: RedisRecords, ids: readonly string[], provider: string | undefined): Promise<string[]> {
  const sessions = await Promise.all(ids.map((id) => records.read(id)));
  return ids.filter((_id, i) => {
    const loaded = sessions[i];
    return loaded !== null && loaded !== undefined && loaded.session.provider === provider;
  });
}
