/**
 * The proof that client tracking works end to end: a key read on the tracked connection and then written
 * must come back as an invalidation on the subscriber. Redis can accept `CLIENT TRACKING` and still never
 * deliver (a proxy in between, a redirect to a gone connection), so the cache serves only after a probe.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** How long the probe's invalidation may take to arrive. */
const PROBE_WAIT_MS = 2_000;

/** Probes on one tracked connection; the subscriber hands every invalidated key to `invalidated`. */
export interface TrackingProbe {
  /** Reads and writes a probe key: true once its invalidation reached the subscriber. */
  run(): Promise<boolean>;
  /** Called with each key Redis reports as changed; settles the probe awaiting it. */
  invalidated(key: string): void;
}

/** Creates the probe for the tracked connection `redis`. */
export function createTrackingProbe(redis: Redis): TrackingProbe {
  /** Probe keys whose invalidation is awaited. */
  const probes = new Map<string, () => void>();
  return {
    async run() {
      const key = `authgate:tracking-probe:${randomBytes(12).toString('base64url')}`;
      const arrived = new Promise<boolean>((resolve) => probes.set(key, () => resolve(true)));
      try {
        await redis.get(key);
        await redis.set(key, '1', 'PX', PROBE_WAIT_MS * 5);
        return await Promise.race([arrived, sleep(PROBE_WAIT_MS, false, { ref: false })]);
      } finally {
        probes.delete(key);
        redis.del(key).catch(() => undefined);
      }
    },
    invalidated(key) {
      probes.get(key)?.();
    },
  };
}
