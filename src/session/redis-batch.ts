/**
 * Session reads batched per event-loop turn: the reads of the requests that arrive together leave in one
 * socket write. The connection is corked at the first read of a turn and uncorked once the turn's I/O
 * callbacks have run, so the commands, each sent by ioredis as usual, are written together (one writev).
 * A write per command was the largest single cost of a request; ioredis' auto-pipelining sends one pipeline
 * at a time per connection and queues the rest, and it kept per-request objects alive long enough to be
 * promoted (figures in BENCHMARKS.md). A Redis Cluster keeps ioredis' auto-pipelining (its commands go to
 * many connections).
 */
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/**
 * For one client: call before sending a per-request command; the first call of a turn corks the connection
 * and schedules the uncork. A no-op for a Cluster and while the connection is not ready.
 */
export function createTurnCork(redis: RedisClient): () => void {
  if (redis instanceof Cluster) return () => undefined;
  type Corkable = NodeJS.WritableStream & { cork(): void; uncork(): void };
  let corked: Corkable | undefined;
  const uncork = () => {
    corked?.uncork();
    corked = undefined;
  };
  return () => {
    if (corked) return;
    const stream = (redis as { stream?: Corkable }).stream;
    if (!stream || redis.status !== 'ready') return;
    stream.cork();
    corked = stream;
    // After the I/O callbacks of this turn: the requests that arrived together have all sent their read.
    setImmediate(uncork);
  };
}
