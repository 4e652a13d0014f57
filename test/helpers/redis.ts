// A real Redis server (Debian's redis-server) per test file, with the handles outage tests need.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { runCommand, sendCommands, withAuth } from './redis-protocol.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const READY_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 25;
const STOP_GRACE_MS = 5_000;

/** A running redis-server and the controls tests need to simulate outages. */
export interface StartedRedis {
  /** "redis://127.0.0.1:PORT" (never carries the password: see `password`). */
  url: string;
  port: number;
  /** The `requirepass` the server was started with, if any. */
  password: string | undefined;
  /** SIGSTOPs the server: it keeps its sockets (connections succeed at the TCP level) but answers nothing. */
  pause(): void;
  /** SIGCONTs a paused server; commands queued meanwhile are then answered. */
  resume(): void;
  /** Shuts the server down (SIGTERM, even when paused) and resolves once it exited; the port then refuses connections. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (stopping it first if it runs); resolves once it answers commands. Data is lost. */
  restart(): Promise<void>;
  /** Deletes every key in every database. */
  flushAll(): Promise<void>;
  /** Stops the server and removes its temporary directory; idempotent. */
  close(): Promise<void>;
}

/** True when Debian's redis-server is installed, so Redis-backed tests can be skipped where it is not. */
export function redisAvailable(): boolean {
  return existsSync(REDIS_SERVER);
}

// Servers still running when the test process exits are killed and their directories removed, so a
// failed test never leaks one. ('exit' does not fire when the process dies from a signal: close() in an
// after() hook is still the rule.)
const running = new Set<ChildProcess>();
const openDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of openDirs) rmSync(dir, { recursive: true, force: true });
  });
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
  isRunning(): boolean;
}

function spawnServer(port: number, dir: string, password: string | undefined): Spawned {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'no',
    ...(password === undefined ? [] : ['--requirepass', password]),
  ];
  // stdout and stderr go to a file rather than pipes: no pipe keeps the test process alive, and the
  // output is still there to explain a server that refused to start.
  const output = openSync(join(dir, 'output.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(REDIS_SERVER, args, { stdio: ['ignore', output, output] });
  } finally {
    closeSync(output);
  }
  let alive = true;
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      alive = false;
      running.delete(child);
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  // A server a test forgot to close must not keep the test process running; the exit hook kills it.
  child.unref();
  return { child, exited, isRunning: () => alive };
}

function serverOutput(dir: string): string {
  try {
    return readFileSync(join(dir, 'output.log'), 'utf8').slice(-4_000);
  } catch {
    return '';
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the server we spawned answers PING; rejects with the server's output if it dies or the time runs out. */
async function waitUntilReady(server: Spawned, port: number, password: string | undefined, dir: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no answer yet';
  for (;;) {
    if (!server.isRunning()) {
      throw new Error(`redis-server on port ${port} exited before it was ready (code ${server.child.exitCode ?? server.child.signalCode}):\n${serverOutput(dir)}`);
    }
    try {
      // INFO names the answering process: on a port that is already taken another server would answer
      // PING while ours is still failing to bind.
      const replies = await sendCommands(port, withAuth(password, [['PING'], ['INFO', 'server']]), 500);
      const [pong, info] = replies.slice(-2);
      const pid = /^process_id:(\d+)/m.exec(info ?? '')?.[1];
      if (pong === '+PONG' && pid === String(server.child.pid)) return;
      lastError = pong === '+PONG' ? `another process (pid ${pid}) answers on port ${port}` : replies.join(' ');
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      server.child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} was not ready within ${READY_TIMEOUT_MS} ms (${lastError}):\n${serverOutput(dir)}`);
    }
    await delay(POLL_INTERVAL_MS);
  }
}

/** Starts redis-server on 127.0.0.1 (a free port unless one is given) and resolves once it answers PING. */
export async function startRedis(options: { port?: number; password?: string } = {}): Promise<StartedRedis> {
  if (!redisAvailable()) throw new Error(`${REDIS_SERVER} is not installed (apt-get install redis-server)`);
  installExitHook();
  const { password } = options;
  const dir = await mkdtemp(join(tmpdir(), 'authgate-redis-'));
  openDirs.add(dir);
  const removeDir = async () => {
    await rm(dir, { recursive: true, force: true });
    openDirs.delete(dir);
  };

  let port = options.port ?? 0;
  let server: Spawned | undefined;
  // A port picked by listening on 0 can be taken by someone else before redis binds it: pick again then.
  for (let attempt = 1; server === undefined; attempt += 1) {
    const candidate = port || (await freePort());
    const spawned = spawnServer(candidate, dir, password);
    try {
      await waitUntilReady(spawned, candidate, password, dir);
      port = candidate;
      server = spawned;
    } catch (err) {
      const portTaken = /Address already in use/i.test(serverOutput(dir));
      if (options.port || !portTaken || attempt >= 3) {
        await removeDir();
        throw err;
      }
    }
  }

  let current: Spawned = server;
  let paused = false;
  let closing: Promise<void> | undefined;

  const signal = (name: NodeJS.Signals) => {
    if (!current.isRunning() || current.child.pid === undefined) throw new Error(`redis on port ${port} is not running`);
    process.kill(current.child.pid, name);
  };

  async function stop(): Promise<void> {
    const target = current;
    if (!target.isRunning()) return;
    target.child.kill('SIGTERM');
    // A stopped process only acts on SIGTERM once it is continued.
    if (paused) target.child.kill('SIGCONT');
    paused = false;
    // This timer also keeps the event loop alive while waiting for the (unref'd) child to exit.
    const fallback = setTimeout(() => target.child.kill('SIGKILL'), STOP_GRACE_MS);
    await target.exited;
    clearTimeout(fallback);
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    password,
    pause() {
      signal('SIGSTOP');
      paused = true;
    },
    resume() {
      signal('SIGCONT');
      paused = false;
    },
    stop,
    async restart() {
      if (closing) throw new Error('redis was closed');
      await stop();
      current = spawnServer(port, dir, password);
      await waitUntilReady(current, port, password, dir);
    },
    async flushAll() {
      await runCommand(port, password, ['FLUSHALL']);
    },
    close() {
      closing ??= stop().then(removeDir);
      return closing;
    },
  };
}
