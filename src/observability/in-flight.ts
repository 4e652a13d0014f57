/**
 * The requests in flight, for the shutdown log line that names the ones the grace period cut: a doubly
 * linked list whose entries the requests carry, so leaving it is O(1) and allocates nothing. A Set's
 * add/delete per request kept every request's objects alive long enough to be promoted, and the old
 * generation filled with dead requests (the GC trace is in BENCHMARKS.md).
 *
 * A request leaves the list when it is answered. One whose client went away before its answer never is:
 * such entries are skipped by values() and swept out every SWEEP_EVERY additions. (An onRequestAbort hook
 * would remove them at once, but it makes fastify add a 'close' listener to every request.)
 */

/** One list entry; `remove` unlinks it, and a second `remove` is harmless. */
export interface InFlightEntry<T> {
  readonly value: T;
  prev: InFlightEntry<T> | undefined;
  next: InFlightEntry<T> | undefined;
}

/** Additions between two sweeps for entries whose request is gone. */
export const SWEEP_EVERY = 1024;

/** The list. */
export class InFlightList<T> {
  #head: InFlightEntry<T> | undefined;
  #additions = 0;

  /** `isGone(value)`: the request can no longer be answered (its client disconnected). */
  constructor(private readonly isGone: (value: T) => boolean) {}

  add(value: T): InFlightEntry<T> {
    if (++this.#additions % SWEEP_EVERY === 0) this.#sweep();
    const entry: InFlightEntry<T> = { value, prev: undefined, next: this.#head };
    if (this.#head) this.#head.prev = entry;
    this.#head = entry;
    return entry;
  }

  remove(entry: InFlightEntry<T>): void {
    if (entry.prev) entry.prev.next = entry.next;
    else if (this.#head === entry) this.#head = entry.next;
    else return; // already removed
    if (entry.next) entry.next.prev = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  /** The values still in flight, most recent first. */
  values(): T[] {
    const out: T[] = [];
    for (let entry = this.#head; entry; entry = entry.next) if (!this.isGone(entry.value)) out.push(entry.value);
    return out;
  }

  /** How many entries the list holds, gone ones included until the next sweep. */
  get size(): number {
    let n = 0;
    for (let entry = this.#head; entry; entry = entry.next) n++;
    return n;
  }

  #sweep(): void {
    for (let entry = this.#head; entry; ) {
      const next = entry.next;
      if (this.isGone(entry.value)) this.remove(entry);
      entry = next;
    }
  }
}
