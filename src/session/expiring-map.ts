/**
 * A bounded map whose entries expire, for the cookie store's long lists (back-channel logouts, claimed
 * one-time values): written rarely, read on every request, and mostly empty.
 * Hand-written, not lru-cache: lru-cache allocates its arrays for all `max` (100,000) entries up front, a
 * few MB of resident memory per list on every cookie-store gateway (BENCHMARKS.md); this map grows with use.
 * When full it forgets the entry written longest ago, which is the one that expires first.
 */
export class ExpiringMap<K, V extends NonNullable<unknown>> {
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();
  readonly #max: number;

  constructor(options: { max: number }) {
    this.#max = options.max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key` unless it expired. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** Sets `key` for `ttlMs` from now; it becomes the newest entry. */
  set(key: K, value: V, ttlMs: number): void {
    const now = Date.now();
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + ttlMs });
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#max && entry.expiresAt > now) break;
      this.#entries.delete(oldest);
    }
  }
}
