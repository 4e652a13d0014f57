/**
 * Session reads batched per event-loop turn: the HMGETs of the requests that arrive together leave in one
 * socket write. The connection is corked at the first read of a turn and uncorked once the turn's I/O
 * callbacks have run, so the commands, each sent by ioredis as usual, are written together (one writev).
 * Earlier designs, measured under load: a write per command was the largest single cost of a request;
 * ioredis' auto-pipelining sends one pipeline at a time per connection and queues the rest behind it, and it
 * (like a pipeline per turn) kept enough per-request objects alive to be promoted: the old generation grew
 * by 0.15–0.3 MB per scavenge and RSS reached 190 MB. A Redis Cluster keeps ioredis' auto-pipelining
 * (its commands go to many connections).
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/** Reads some fields of a hash, written together with the reads of the same turn. */
export type BatchedHmget = (key: string, ...fields: string[]) => Promise<Array<string | null>>;

/** The batched reader for one client. */
export function createBatchedHmget(redis: RedisClient): BatchedHmget {
  if (redis instanceof Cluster) return (key, ...fields) => redis.hmget(key, ...fields);
  let corked: NodeJS.WritableStream & { cork(): void; uncork(): void } | undefined;
  const uncork = () => {
    corked?.uncork();
    corked = undefined;
  };
  return (key, ...fields) => {
    const stream = (redis as { stream?: typeof corked }).stream;
    if (!corked && stream && redis.status === 'ready') {
      stream.cork();
      corked = stream;
      // After the I/O callbacks of this turn: the requests that arrived together have all sent their read.
      setImmediate(uncork);
    }
    return redis.hmget(key, ...fields);
  };
}
