/**
 * A throw-away redis-server for the Redis session store: no persistence, pinned like the other helpers so it
 * never competes with the system under test for its core.
 */
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { spawnProcess, type BenchProcess } from '../proc.js';

const REDIS_SERVER = '/usr/bin/redis-server';

/** True when Debian's redis-server is installed. */
export function redisAvailable(): boolean {
  return existsSync(REDIS_SERVER);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(String(data).startsWith('+PONG')));
    socket.on('error', () => done(false));
  });
}

/** Starts redis-server on `port` in `dir` and resolves once it answers PING. */
export async function startRedis(port: number, dir: string, cpus: string | undefined): Promise<BenchProcess> {
  const proc = spawnProcess({
    name: 'redis-server',
    command: REDIS_SERVER,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'],
    cpus,
  });
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      await proc.stop();
      throw new Error(`redis-server did not start on port ${port}:\n${proc.stderrTail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return proc;
}
