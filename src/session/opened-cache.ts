/**
 * What recently opened sealed texts said. A browser sends the same cookie with every request (and a Redis
 * record stays the same until it is written), and decrypting, inflating and parsing it each time was the
 * largest per-request cost. Only texts that opened are remembered, so garbage cannot fill the cache.
 *
 * An lru-cache with its own TTL; kept as a wrapper only for its key: a sealed text's last characters (its
 * random nonce), because hashing a whole 1–4 KB text on every lookup was a measured per-request cost.
 * An entry keeps the whole text, and only an exact match is a hit.
 */
import { LRUCache } from 'lru-cache';

/** The sealed text ends with its nonce: 24 random bytes, 32 characters of base64url. */
const KEY_LENGTH = 32;

/**
 * An lru-cache whose entries expire `ttlMs` after they were written, checked on read: no timers (no
 * `ttlAutopurge`, and `ttlResolution: 0` reads the clock instead of caching it behind a timer re-armed
 * under load), never a stale answer, and reads do not extend an entry's life.
 */
export function createExpiringLru<V extends object>(options: { max: number; ttlMs: number }): LRUCache<string, V> {
  return new LRUCache<string, V>({ max: options.max, ttl: options.ttlMs, ttlAutopurge: false, ttlResolution: 0, allowStale: false, updateAgeOnGet: false });
}

/**
 * Returns a function to call on each write of `cache`: at most once per `ttlMs` it drops every expired entry,
 * so what a cache holds (tokens included) leaves memory once its time is up, not only when `max` newer
 * entries push it out or a read finds it stale.
 */
export function purgeStaleOnWrite(cache: Pick<LRUCache<string, object>, 'purgeStale'>, ttlMs: number): () => void {
  let purgeAt = Date.now() + ttlMs;
  return () => {
    const now = Date.now();
    if (now < purgeAt) return;
    purgeAt = now + ttlMs;
    cache.purgeStale();
  };
}

/** A bounded cache from sealed text to what it opened to; entries expire `ttlMs` after they were written. */
export class OpenedCache<T extends object> {
  readonly #entries: LRUCache<string, { sealed: string; value: T }>;
  readonly #purge: () => void;

  constructor(options: { max: number; ttlMs: number }) {
    this.#entries = createExpiringLru(options);
    this.#purge = purgeStaleOnWrite(this.#entries, options.ttlMs);
  }

  /** What `sealed` opened to, if it was opened lately. */
  get(sealed: string): T | undefined {
    const entry = this.#entries.get(sealed.slice(-KEY_LENGTH));
    return entry !== undefined && entry.sealed === sealed ? entry.value : undefined;
  }

  /** Remembers what `sealed` opened to (call only for a text that opened). */
  set(sealed: string, value: T): void {
    this.#entries.set(sealed.slice(-KEY_LENGTH), { sealed, value });
    this.#purge();
  }
}
