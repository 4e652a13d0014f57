/**
 * Ended sessions announced to every replica: an end is published here at once and on a Redis Pub/Sub
 * channel, which each replica's own subscriber connection (a Pub/Sub connection serves nothing else)
 * hears and announces in its process. Deletions are what is relayed (sign-out, back-channel logout, admin
 * revocation, a refused refresh, a timeout judged by a request); a record that Redis expires by itself is
 * found by the WebSocket registry's own sweep.
 * Redis Pub/Sub delivers at most once: a replica whose subscriber is disconnected at that moment misses the
 * announcement; when it connects again it asks for every session held open to be read again.
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisClient } from './redis-client.js';
import { createSessionEndings } from './session-endings.js';
import type { SessionEndings } from './types.js';

/** The channel ended session ids travel on: `{"from": <replica>, "ids": [...]}`. */
export const SESSION_ENDED_CHANNEL = 'authgate:session-ended';

/** SessionEndings relayed through Redis; `close` quits the subscriber. */
export interface RedisSessionEndings extends SessionEndings {
  close(): Promise<void>;
}

/** Creates the relay over `redis` (its subscriber is a duplicate of that connection). */
export function createRedisSessionEndings(redis: RedisClient, log: Logger): RedisSessionEndings {
  const local = createSessionEndings((err) => log.warn({ err }, 'session end listener failed'));
  // Our own messages come back on the channel: they were announced here already.
  const self = randomBytes(9).toString('base64url');
  const subscriber: RedisClient = redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
  subscriber.on('error', () => undefined); // the main connection logs connection trouble
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== SESSION_ENDED_CHANNEL) return;
    const ids = parseMessage(message, self);
    if (ids && ids.length > 0) local.publish({ ids });
  });
  // Commands are not queued while disconnected (redis-client.ts): subscribe at each connection (a repeated
  // SUBSCRIBE is harmless).
  let connections = 0;
  subscriber.on('ready', () => {
    // Ends published while this subscriber was away were missed: what is held open is checked again.
    if (++connections > 1) local.publish({ recheck: true });
    subscriber.subscribe(SESSION_ENDED_CHANNEL).catch((err: unknown) => log.warn({ err }, 'session store: cannot subscribe to ended sessions from other replicas'));
  });
  return {
    publish(end) {
      local.publish(end);
      if (!('ids' in end) || end.ids.length === 0) return;
      redis.publish(SESSION_ENDED_CHANNEL, JSON.stringify({ from: self, ids: end.ids })).catch((err: unknown) => {
        log.warn({ err }, 'session store: could not tell the other replicas of an ended session');
      });
    },
    subscribe: (listener) => local.subscribe(listener),
    async close() {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

/** The ids of another replica's message; undefined for our own or a malformed one. */
function parseMessage(message: string, self: string): string[] | undefined {
  try {
    const parsed = JSON.parse(message) as { from?: unknown; ids?: unknown };
    if (parsed.from === self || !Array.isArray(parsed.ids)) return undefined;
    return parsed.ids.filter((id): id is string => typeof id === 'string');
  } catch {
    return undefined;
  }
}
