/**
 * What recently opened sealed texts said. A browser sends the same cookie with every request (and a Redis
 * record stays the same until it is written), and decrypting, inflating and parsing it each time was the
 * largest per-request cost. Only texts that opened are remembered, so garbage cannot fill the cache.
 *
 * Keyed by a sealed text's last characters (its random nonce) because hashing a whole 1–4 KB text for the
 * lookup cost 2 µs a request; an entry keeps the whole text, and only an exact match is a hit.
 */
import { LRUCache } from 'lru-cache';
import { sweepExpired } from './lru-sweep.js';

/** The sealed text ends with its nonce: 24 random bytes, 32 characters of base64url. */
const KEY_LENGTH = 32;

/**
 * A bounded cache from sealed text to what it opened to. Each entry carries its own expiry instead of
 * lru-cache's TTL, which on every hit read the clock through a timer it re-armed each millisecond.
 */
export class OpenedCache<T extends object> {
  readonly #entries: LRUCache<string, { sealed: string; value: T; expiresAt: number }>;
  readonly #ttlMs: number;

  constructor(options: { max: number; ttlMs: number }) {
    this.#entries = new LRUCache({ max: options.max });
    this.#ttlMs = options.ttlMs;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#entries.size;
  }

  /** What `sealed` opened to, if it was opened lately. */
  get(sealed: string): T | undefined {
    const key = sealed.slice(-KEY_LENGTH);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.sealed !== sealed) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers what `sealed` opened to (call only for a text that opened). */
  set(sealed: string, value: T): void {
    const now = Date.now();
    this.#entries.set(sealed.slice(-KEY_LENGTH), { sealed, value, expiresAt: now + this.#ttlMs });
    sweepExpired(this.#entries, (entry) => entry.expiresAt > now);
  }
}
