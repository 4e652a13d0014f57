/**
 * Awaits what the Redis store's tracked session cache reports on its diagnostics channel (redis-tracking.ts, session-cache-events.ts):
 * tests wait for the invalidation to arrive instead of sleeping. The gateway runs in the test's process, so
 * its cache publishes here; a watch sees every tracked cache of the process (tests run one gateway at a time,
 * or filter by `cache`).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { SESSION_CACHE_CHANNEL, type SessionCacheEvent } from '../../src/session/session-cache-events.js';

/** How long an awaited report may take before the test fails (a cache that is never told fails, not hangs). */
const REPORT_WITHIN_MS = 10_000;

/** A subscription to the session-cache channel. */
export interface SessionCacheWatch {
  /** Whether the last `serving` report said the cache serves (false before any report). */
  readonly serving: boolean;
  /**
   * Resolves with the next event `match` accepts. Call it before causing the event (a write, a flush, a
   * restart) so it cannot be missed; rejects after REPORT_WITHIN_MS.
   */
  next(what: string, match: (event: SessionCacheEvent) => boolean): Promise<SessionCacheEvent>;
  /** The next report that `key` (or each of `keys`) changed: once it resolves, the cache has dropped them. */
  invalidated(keys: string | readonly string[]): Promise<void>;
  /** The next report that the whole database was flushed. */
  flushed(): Promise<void>;
  /** Resolves once the cache serves (at once if it already does). */
  whenServing(): Promise<void>;
  close(): void;
}

/** Subscribes to every tracked cache's reports until `close()`; start it before the gateway to see its first. */
export function watchSessionCache(): SessionCacheWatch {
  let serving = false;
  const waiters = new Set<(event: SessionCacheEvent) => void>();
  const onMessage = (message: unknown) => {
    const event = message as SessionCacheEvent;
    if (event.kind === 'serving') serving = event.serving;
    for (const waiter of [...waiters]) waiter(event);
  };
  subscribe(SESSION_CACHE_CHANNEL, onMessage);

  const watch: SessionCacheWatch = {
    get serving() {
      return serving;
    },
    next(what, match) {
      return new Promise((resolve, reject) => {
        const waiter = (event: SessionCacheEvent) => {
          if (!match(event)) return;
          done();
          resolve(event);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`the session cache did not report ${what} within ${REPORT_WITHIN_MS} ms`));
        }, REPORT_WITHIN_MS);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        waiters.add(waiter);
      });
    },
    async invalidated(keys) {
      const left = new Set(typeof keys === 'string' ? [keys] : keys);
      await watch.next(`the invalidation of ${[...left].join(', ')}`, (event) => {
        if (event.kind === 'flushed') left.clear();
        if (event.kind === 'invalidated') for (const key of event.keys) left.delete(key);
        return left.size === 0;
      });
    },
    async flushed() {
      await watch.next('a flush', (event) => event.kind === 'flushed');
    },
    async whenServing() {
      if (!serving) await watch.next('serving', (event) => event.kind === 'serving' && event.serving);
    },
    close() {
      unsubscribe(SESSION_CACHE_CHANNEL, onMessage);
    },
  };
  return watch;
}
