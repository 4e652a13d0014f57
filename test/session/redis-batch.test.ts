/**
 * The session reads of one event-loop turn leave in one socket write (redis-batch.ts), against a real
 * redis-server: every read of the turn is answered, the connection is corked while the turn's reads are
 * sent and uncorked right after, and a read while Redis is away fails instead of waiting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createTurnCork } from '../../src/session/redis-batch.js';
import { createRedisClient, type RedisClient } from '../../src/session/redis-client.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';

/** HMGET as the store sends its reads: the turn corked first. */
function corkedHmget(client: RedisClient) {
  const cork = createTurnCork(client);
  return (key: string, ...fields: string[]) => {
    cork();
    return client.hmget(key, ...fields);
  };
}

describe('batched session reads', () => {
  let redis: StartedRedis;
  let client: RedisClient;
  before(async () => {
    redis = await startRedis();
    client = createRedisClient(redis.url, 1000, pino({ level: 'silent' }));
    await new Promise((resolve) => client.once('ready', resolve));
  });
  after(async () => {
    client.disconnect();
    await redis.close();
  });

  it('answers every read of a turn, written while the connection is corked', async () => {
    for (let i = 0; i < 20; i++) await client.hset(`k${i}`, 'gen', String(i), 'data', `d${i}`);
    const hmget = corkedHmget(client);
    const stream = (client as unknown as { stream: { writableCorked: number; writableLength: number } }).stream;
    const reads = Array.from({ length: 20 }, (_, i) => hmget(`k${i}`, 'gen', 'data'));
    reads.push(hmget('missing', 'gen', 'data'));
    assert.equal(stream.writableCorked, 1, 'corked while the turn sends its reads');
    assert.ok(stream.writableLength > 0, 'the reads wait in the socket buffer for the one write');
    const values = await Promise.all(reads);
    assert.equal(stream.writableCorked, 0, 'uncorked once the turn is over');
    assert.deepEqual(values.slice(0, 20), Array.from({ length: 20 }, (_, i) => [String(i), `d${i}`]));
    assert.deepEqual(values[20], [null, null]);
  });

  it('fails a read at once while Redis is down, and reads again once it is back', async () => {
    const hmget = corkedHmget(client);
    await redis.stop();
    await assert.rejects(hmget('k1', 'gen', 'data'));
    await redis.restart();
    while (client.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20));
    await client.hset('k1', 'gen', '7', 'data', 'back');
    assert.deepEqual(await hmget('k1', 'gen', 'data'), ['7', 'back']);
  });
});
