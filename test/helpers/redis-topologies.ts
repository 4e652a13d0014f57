/**
 * Real Redis Sentinel and Redis Cluster set-ups for tests, from Debian's redis-server: a Sentinel watching a
 * master, and a three-master Cluster created with `redis-cli --cluster create`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './gateway.js';
import { freeClusterNodePort } from './ports.js';

/** Sends one inline command and resolves with the first reply chunk. */
function ask(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.once('data', (data) => {
      resolve(String(data));
      socket.destroy();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('timeout'));
    });
    socket.once('error', reject);
    // A server still starting may accept and close without a word: that must not leave us waiting forever.
    socket.once('close', () => reject(new Error('closed without a reply')));
  });
}

/** Polls until `check` holds (10 s at most). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function startServer(args: string[], dir: string): ChildProcess {
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  child.unref();
  return child;
}

async function stopAll(children: ChildProcess[], dir: string): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.ref(); // unref'd so a forgotten close cannot hold the run open; waiting for exit needs it
          child.kill('SIGKILL');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}

/** A master watched by one Sentinel. */
export interface StartedSentinel {
  /** The gateway's session.redis.url for it. */
  url: string;
  close(): Promise<void>;
}

/** Starts a master and a Sentinel monitoring it as `mymaster`. */
export async function startSentinel(): Promise<StartedSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-sentinel-'));
  const masterPort = await freePort();
  const sentinelPort = await freePort();
  const base = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', dir];
  const master = startServer(['--port', String(masterPort), ...base], dir);
  await until(async () => (await ask(masterPort, 'PING')).startsWith('+PONG'), 'the master');
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nprotected-mode no\nsentinel monitor mymaster 127.0.0.1 ${masterPort} 1\n`);
  const sentinel = startServer([conf, '--sentinel'], dir);
  await until(async () => (await ask(sentinelPort, 'SENTINEL get-master-addr-by-name mymaster')).includes(String(masterPort)), 'the sentinel');
  return { url: `redis+sentinel://127.0.0.1:${sentinelPort}/mymaster`, close: () => stopAll([master, sentinel], dir) };
}

/** A three-master Redis Cluster. */
export interface StartedCluster {
  url: string;
  /** Deletes every key on every master. */
  flushAll(): Promise<void>;
  close(): Promise<void>;
}

/** Starts three cluster-enabled servers and joins them into one cluster covering all slots. */
export async function startCluster(): Promise<StartedCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-cluster-'));
  const ports = [await freeClusterNodePort(), await freeClusterNodePort(), await freeClusterNodePort()];
  const children = ports.map((port) => {
    const nodeDir = join(dir, String(port));
    spawnSync('mkdir', ['-p', nodeDir]);
    return startServer(
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', nodeDir],
      nodeDir,
    );
  });
  for (const port of ports) await until(async () => (await ask(port, 'PING')).startsWith('+PONG'), `cluster node ${port}`);
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (created.status !== 0) {
    await stopAll(children, dir);
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  }
  await until(async () => (await ask(ports[0], 'CLUSTER INFO')).includes('cluster_state:ok'), 'cluster_state:ok');
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    async flushAll() {
      const replies = await Promise.all(ports.map((port) => ask(port, 'FLUSHALL')));
      const failed = replies.find((reply) => !reply.startsWith('+OK'));
      if (failed) throw new Error(`FLUSHALL failed: ${failed}`);
    },
    close: () => stopAll(children, dir),
  };
}
