/**
 * What the Redis store's tracked cache (redis-tracking.ts) was told, published on a diagnostics channel so
 * that tests await an invalidation instead of sleeping. A channel rather than an emitter or a hook on the
 * store: it needs no wiring through the app or the SessionBackend, and with no subscriber a publish is
 * skipped after one boolean check (and none happens on the request path: only on Redis's reports).
 */
import { channel } from 'node:diagnostics_channel';

/** The diagnostics channel on which every tracked cache publishes a SessionCacheEvent. */
export const SESSION_CACHE_CHANNEL = 'authgate:session-cache';

/**
 * What a tracked cache was told, published once it has acted on it: `invalidated` (Redis reported these
 * keys changed; they are dropped), `flushed` (the whole database; everything dropped), `serving` (the cache
 * started or stopped answering: tracking proven, or a connection lost or a heartbeat unanswered).
 */
export type SessionCacheEvent =
  | { cache: PublishingCache; kind: 'invalidated'; keys: string[] }
  | { cache: PublishingCache; kind: 'flushed' }
  | { cache: PublishingCache; kind: 'serving'; serving: boolean };

/** The TrackedCache that published an event (typed loosely: redis-tracking.ts imports this file). */
export type PublishingCache = object;

/** The channel's publisher (check `hasSubscribers` before building an event). */
export const sessionCacheEvents = channel(SESSION_CACHE_CHANNEL);
