/**
 * Upstreams' own tokens in Redis, shared by every replica: one hash per session next to its record
 * (`authgate:{<id>}:t`, a field per upstream), each value sealed like the record, the hash expiring with
 * the longest-lived token in it and deleted with the record (redis-records.ts remove).
 */
import type { RedisClient } from './redis-client.js';
import { upstreamTokensKey, type StoreCall } from './redis-records.js';
import type { SealBox } from './seal.js';
import type { StoredUpstreamToken, UpstreamTokenStore } from './types.js';

/** Sets one field and lengthens, never shortens, the hash's life. */
const WRITE_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/** Creates the store over the session store's connection and command wrapper. */
export function createRedisUpstreamTokens(redis: RedisClient, call: StoreCall, box: SealBox): UpstreamTokenStore {
  return {
    async read(id, upstream) {
      const sealed = await call('upstream_token_load', () => redis.hget(upstreamTokensKey(id), upstream));
      const data = sealed ? box.open(sealed)?.data : undefined;
      if (!data || typeof data.accessToken !== 'string' || typeof data.tokenType !== 'string' || typeof data.refreshAt !== 'number' || typeof data.ask !== 'string') return undefined;
      return data as unknown as StoredUpstreamToken;
    },
    async write(id, upstream, token) {
      const ttl = Math.max(1, Math.ceil(token.refreshAt - Date.now()));
      await call('upstream_token_save', () => redis.eval(WRITE_SCRIPT, 1, upstreamTokensKey(id), upstream, box.seal(token), String(ttl)));
    },
  };
}
