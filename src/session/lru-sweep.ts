/**
 * Expiry for lru-caches that keep each entry's time themselves (lru-cache's own TTL re-armed a timer every
 * millisecond under load): a write sweeps expired entries from the least recently used end, up to the first
 * live one, so sessions (tokens included) leave memory once their time is up, not only when `max` newer
 * ones push them out.
 */
import type { LRUCache } from 'lru-cache';

/** Drops the expired entries at the least recently used end of `cache`. */
export function sweepExpired<V extends object>(cache: LRUCache<string, V>, isLive: (entry: V) => boolean): void {
  const expired: string[] = [];
  for (const key of cache.rkeys()) {
    const entry = cache.peek(key);
    if (entry !== undefined && isLive(entry)) break;
    expired.push(key);
  }
  for (const key of expired) cache.delete(key);
}
