/**
 * Client-side caching of session records, kept true by Redis itself (server-assisted client-side caching:
 * `CLIENT TRACKING ON REDIRECT <id>` to a RESP2 Pub/Sub connection). Redis remembers which records the
 * store's connection read and, when one is written, deleted or expires (a sign-out or a refresh on any
 * replica), pushes its key on `__redis__:invalidate` to a second connection of this process, which drops
 * it from the cache at once.
 * A request whose record is cached then needs no Redis round trip.
 *
 * Trust rules:
 * - The cache serves only while both connections are up and tracking was switched on for the current
 *   connection and proven: a probe key is read and written, and its invalidation must arrive. A disconnect
 *   of either connection empties the cache (reads go to Redis, and fail with 503 while it is down).
 * - A read fills the cache only if no invalidation of its key (and no other read of it) came in between:
 *   a reply that raced a write is never cached.
 * - The invalidation connection is pinged every HEARTBEAT_MS; while a ping is unanswered past the next
 *   beat (Redis paused, a silent network partition) the cache is emptied and off, so a change Redis could
 *   not report is trusted for about two beats at most. An entry is also re-read after ENTRY_TTL_MS.
 * - Writes of this process drop their key before they are sent.
 * A Redis without CLIENT TRACKING (before 6.0), or a user whose ACL refuses CLIENT or SUBSCRIBE, gets no
 * cache: one warning, and every request reads Redis as before.
 *
 * What the cache is told is published on a diagnostics channel (session-cache-events.ts).
 */
import { ReplyError, type Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createExpiringLru, purgeStaleOnWrite } from './opened-cache.js';
import { createTrackingProbe } from './redis-tracking-probe.js';
import { sessionCacheEvents as events, type SessionCacheEvent } from './session-cache-events.js';

const INVALIDATE_CHANNEL = '__redis__:invalidate';
/** The longest an entry is used without Redis being read again. */
const ENTRY_TTL_MS = 5_000;
/** How often the invalidation connection must prove it is alive. */
const HEARTBEAT_MS = 1_000;

/** A cache of values read from Redis keys, emptied of each key Redis reports as changed. */
export interface TrackedCache<T extends object> {
  /** The cached value of `key`, or undefined (read Redis). */
  get(key: string): T | undefined;
  /** Call right before sending a read of `key`; hand the ticket to `fill` with what the read gave. */
  beginRead(key: string): number | undefined;
  /** Caches what the read of `ticket` gave (undefined: nothing to cache), unless `key` changed meanwhile. */
  fill(key: string, ticket: number | undefined, value: T | undefined): void;
  /** Drops `key`: call before this process writes or deletes it. */
  invalidate(key: string): void;
  /** Whether the cache serves now (for tests and logs). */
  readonly active: boolean;
  close(): Promise<void>;
}

/** Starts tracking on `redis` with a second connection for the invalidations. */
export function createTrackedCache<T extends object>(redis: Redis, options: { max: number; log: Logger }): TrackedCache<T> {
  const { log } = options;
  const entries = createExpiringLru<T>({ max: options.max, ttlMs: ENTRY_TTL_MS });
  const purgeStale = purgeStaleOnWrite(entries, ENTRY_TTL_MS);
  /** Reads in flight: key → the ticket of the latest read sent; a fill must hold that ticket. */
  const pending = new Map<string, number>();
  let nextTicket = 0;
  /** Both connections up and tracking on for the current one. */
  let tracking = false;
  /** The last heartbeat was answered before the next one was due. */
  let responsive = true;
  let heartbeatPending = false;
  let closed = false;
  let refused = false;
  let subscriberId: number | undefined;
  /** Counts the disconnects of either connection: an activation that saw one in between does not count. */
  let generation = 0;
  let subscriberConnections = 0;
  // RESP2 on purpose: Redis then reports changes as Pub/Sub messages, which ioredis hands over (it drops a
  // RESP3 connection's `invalidate` pushes).
  const subscriber = redis.duplicate({ protocol: 2, autoResubscribe: false, lazyConnect: true });

  /** Drops every entry and every read in flight (their fills will not count). */
  const forget = () => {
    entries.clear();
    pending.clear();
  };
  const deactivate = () => {
    generation += 1;
    tracking = false;
    forget();
    reportServing();
  };
  /** Whether the cache answered, as last published. */
  let wasServing = false;
  /** Publishes a change of `serving()`; call after every change of `tracking` or `responsive`. */
  function reportServing(): void {
    const now = serving();
    if (now === wasServing) return;
    wasServing = now;
    if (events.hasSubscribers) events.publish({ cache, kind: 'serving', serving: now } satisfies SessionCacheEvent);
  }

  const probe = createTrackingProbe(redis);

  // Only for Redis's own refusal; a connection lost meanwhile is tried again on the next connection.
  const refuse = (err: unknown) => {
    if (closed || !(err instanceof ReplyError)) return;
    if (!refused) log.warn({ err }, 'session store: Redis refused client tracking; sessions are read from Redis on every request');
    refused = true;
  };

  /**
   * Both connections' 'ready' can start an activation, and after a reconnect the two can overlap. They run
   * one after the other, and one that finds tracking on already does nothing: a second activation's
   * `TRACKING OFF` made Redis forget the keys read since the first was proven, so a record deleted later
   * was never reported and stayed cached until its re-read (ENTRY_TTL_MS).
   */
  let activations: Promise<void> = Promise.resolve();
  function activate(): Promise<void> {
    activations = activations.catch(() => undefined).then(activateNow);
    return activations;
  }

  async function activateNow(): Promise<void> {
    if (closed || tracking || subscriberId === undefined || redis.status !== 'ready') return;
    const id = subscriberId;
    const at = generation;
    let proven: boolean;
    try {
      await redis.client('TRACKING', 'OFF');
      await redis.client('TRACKING', 'ON', 'REDIRECT', String(id));
      proven = await probe.run();
    } catch (err) {
      refuse(err);
      return;
    }
    if (!proven) {
      if (generation === at) log.warn('session store: Redis did not report a tracked change; sessions are read from Redis on every request');
      return;
    }
    // Still the same two connections: reads sent from now on are tracked (one connection keeps order).
    if (generation === at && subscriberId === id && redis.status === 'ready') {
      tracking = true;
      reportServing();
    }
  }

  subscriber.on('ready', () => {
    void (async () => {
      const at = subscriberConnections;
      try {
        const id = await subscriber.client('ID');
        await subscriber.subscribe(INVALIDATE_CHANNEL);
        if (subscriberConnections !== at) return; // that connection is gone already
        subscriberId = id;
      } catch (err) {
        refuse(err);
        return;
      }
      await activate();
    })();
  });
  subscriber.on('close', () => {
    subscriberConnections += 1;
    subscriberId = undefined;
    deactivate();
  });
  // Connection errors are the main connection's to log (it sees the same Redis).
  subscriber.on('error', () => undefined);
  subscriber.on('messageBuffer', (channel: Buffer, message: Buffer[] | Buffer | null) => {
    if (channel.toString() !== INVALIDATE_CHANNEL) return;
    // null: the whole database was flushed.
    if (!Array.isArray(message)) {
      forget();
      if (events.hasSubscribers) events.publish({ cache, kind: 'flushed' } satisfies SessionCacheEvent);
      return;
    }
    const keys = message.map(String);
    for (const key of keys) {
      entries.delete(key);
      pending.delete(key);
      probe.invalidated(key);
    }
    if (events.hasSubscribers) events.publish({ cache, kind: 'invalidated', keys } satisfies SessionCacheEvent);
  });

  const unresponsive = () => {
    if (!responsive) return;
    responsive = false;
    forget();
    reportServing();
  };
  const heartbeat = setInterval(() => {
    if (subscriberId === undefined) return;
    // Unanswered for a whole beat: what Redis would have reported may be waiting behind it.
    if (heartbeatPending) return unresponsive();
    heartbeatPending = true;
    subscriber.ping().then(
      () => {
        heartbeatPending = false;
        responsive = true;
        reportServing();
      },
      () => {
        heartbeatPending = false;
        unresponsive();
      },
    );
  }, HEARTBEAT_MS);
  heartbeat.unref();

  redis.on('close', deactivate);
  redis.on('ready', () => void activate());
  subscriber.connect().catch(() => undefined); // it keeps retrying like the main connection
  if (redis.status === 'ready') void activate();

  function serving(): boolean {
    return tracking && responsive;
  }
  const cache: TrackedCache<T> = {
    get(key) {
      return serving() ? entries.get(key) : undefined;
    },
    beginRead(key) {
      if (!serving()) return undefined;
      const ticket = ++nextTicket;
      pending.set(key, ticket);
      return ticket;
    },
    fill(key, ticket, value) {
      if (ticket === undefined || pending.get(key) !== ticket) return;
      pending.delete(key);
      if (value !== undefined && serving()) {
        entries.set(key, value);
        purgeStale();
      }
    },
    invalidate(key) {
      entries.delete(key);
      pending.delete(key);
    },
    get active() {
      return serving();
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      deactivate();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
  return cache;
}
