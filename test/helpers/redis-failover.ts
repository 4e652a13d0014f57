/**
 * Redis set-ups that can fail over, for failover drills: a master with a replica watched by three Sentinels,
 * and a Redis Cluster of three masters each with a replica. Timeouts are lowered so a failover takes seconds.
 * Debian's redis-server and redis-cli; every process is SIGKILLed and its directory removed on close.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freeClusterNodePort, freePort } from './ports.js';

const run = promisify(execFile);

/** How long the Sentinels wait before calling a silent master down, and a failover's own timeout. */
const SENTINEL_DOWN_AFTER_MS = 1000;
const SENTINEL_FAILOVER_TIMEOUT_MS = 5000;
/** How long a Cluster node may be silent before its replica takes over. */
const CLUSTER_NODE_TIMEOUT_MS = 1000;

/** One `redis-cli` command against 127.0.0.1:port; its reply as text. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 2000, encoding: 'utf8' });
  return stdout.trim();
}

/** Polls until `check` returns a value (not undefined) or `timeoutMs` passes; errors count as "not yet". */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A redis-server (or Sentinel) process. */
export interface RedisProcess {
  port: number;
  child: ChildProcess;
  /** SIGKILLs the process and resolves once it has exited. */
  kill(): Promise<void>;
}

function startProcess(port: number, args: string[], dir: string): RedisProcess {
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  child.unref(); // a forgotten close must not hold the test run open
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.ref();
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}

function serverArgs(port: number, dir: string, extra: string[] = []): string[] {
  return [
    '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', dir,
    // A replica's first sync starts at once instead of after the default 5 s pause.
    '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0',
    ...extra,
  ];
}

function info(text: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim();
}

/** Waits until the replica on `replicaPort` has everything its master on `masterPort` has written. */
export async function waitForReplication(masterPort: number, replicaPort: number): Promise<void> {
  const target = Number(info(await redisCli(masterPort, 'INFO', 'replication'), 'master_repl_offset'));
  await waitFor(`replica ${replicaPort} to reach offset ${target}`, async () => {
    const replica = await redisCli(replicaPort, 'INFO', 'replication');
    return info(replica, 'master_link_status') === 'up' && Number(info(replica, 'slave_repl_offset')) >= target ? true : undefined;
  });
}

/** A master, its replica and three Sentinels (quorum 2) watching them as `mymaster`. */
export interface FailoverSentinel {
  /** The gateway's session.redis.url. */
  url: string;
  master: RedisProcess;
  replica: RedisProcess;
  sentinels: RedisProcess[];
  /** The master's port as the first Sentinel reports it now. */
  masterPort(): Promise<number>;
  close(): Promise<void>;
}

/** Starts the master, a replica synced to it, then three Sentinels that know both and each other. */
export async function startFailoverSentinel(): Promise<FailoverSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-sentinel-failover-'));
  const started: RedisProcess[] = [];
  try {
    const masterPort = await freePort();
    const master = startProcess(masterPort, serverArgs(masterPort, dir), dir);
    started.push(master);
    await waitFor('the master', async () => ((await redisCli(masterPort, 'PING')) === 'PONG' ? true : undefined));
    const replicaPort = await freePort();
    const replicaDir = join(dir, 'replica');
    mkdirSync(replicaDir);
    const replica = startProcess(replicaPort, serverArgs(replicaPort, replicaDir, ['--replicaof', '127.0.0.1', String(masterPort)]), replicaDir);
    started.push(replica);
    await waitFor('the replica to sync', async () => (info(await redisCli(replicaPort, 'INFO', 'replication'), 'master_link_status') === 'up' ? true : undefined));
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor mymaster 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds mymaster ${SENTINEL_DOWN_AFTER_MS}`,
          `sentinel failover-timeout mymaster ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
          'sentinel parallel-syncs mymaster 1',
          '',
        ].join('\n'),
      );
      const sentinel = startProcess(port, [conf, '--sentinel'], dir);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    // A failover needs the quorum: every Sentinel must know the replica and the two other Sentinels.
    for (const sentinel of sentinels) {
      await waitFor(`sentinel ${sentinel.port} to see the replica and its peers`, async () => {
        const lines = (await redisCli(sentinel.port, 'SENTINEL', 'master', 'mymaster')).split('\n');
        const field = (name: string) => lines[lines.indexOf(name) + 1];
        return field('num-slaves') === '1' && field('num-other-sentinels') === '2' ? true : undefined;
      });
    }
    const sentinelList = sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
    return {
      url: `redis+sentinel://${sentinelList}/mymaster`,
      master,
      replica,
      sentinels,
      masterPort: async () => Number((await redisCli(sentinels[0].port, 'SENTINEL', 'get-master-addr-by-name', 'mymaster')).split('\n')[1]),
      close: () => stopAll(started, dir),
    };
  } catch (err) {
    await stopAll(started, dir);
    throw err;
  }
}

/** One line of CLUSTER NODES. */
export interface ClusterNode {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  /** The master's id, for a replica. */
  masterId?: string;
}

/** Parses `CLUSTER NODES` as seen from `port`. */
export async function clusterNodes(port: number): Promise<ClusterNode[]> {
  return (await redisCli(port, 'CLUSTER', 'NODES')).split('\n').map((line) => {
    const [id = '', address = '', flags = '', masterId = '-'] = line.split(' ');
    const set = new Set(flags.split(','));
    return {
      id,
      port: Number(/:(\d+)@/.exec(address)?.[1]),
      master: set.has('master'),
      failed: set.has('fail') || set.has('fail?'),
      ...(masterId !== '-' ? { masterId } : {}),
    };
  });
}

/** Three masters with one replica each. */
export interface FailoverCluster {
  /** The gateway's session.redis.url (every node). */
  url: string;
  nodes: RedisProcess[];
  close(): Promise<void>;
}

/** Starts six cluster nodes and joins them with `redis-cli --cluster create --cluster-replicas 1`. */
export async function startFailoverCluster(): Promise<FailoverCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-cluster-failover-'));
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freeClusterNodePort();
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const extra = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS)];
      nodes.push(startProcess(port, serverArgs(port, nodeDir, extra), nodeDir));
    }
    for (const node of nodes) await waitFor(`cluster node ${node.port}`, async () => ((await redisCli(node.port, 'PING')) === 'PONG' ? true : undefined));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      timeout: 30_000,
    });
    // Every node must agree the cluster is whole and every replica must be in sync before anyone relies on it.
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on ${node.port}`, async () => ((await redisCli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok') ? true : undefined));
    }
    await waitFor('three masters with one synced replica each', async () => {
      const view = await clusterNodes(nodes[0].port);
      const masters = view.filter((n) => n.master);
      if (masters.length !== 3) return undefined;
      for (const replica of view.filter((n) => !n.master)) {
        if (info(await redisCli(replica.port, 'INFO', 'replication'), 'master_link_status') !== 'up') return undefined;
      }
      return masters.every((m) => view.some((r) => r.masterId === m.id)) ? true : undefined;
    });
    return { url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, nodes, close: () => stopAll(nodes, dir) };
  } catch (err) {
    await stopAll(nodes, dir);
    throw err;
  }
}

async function stopAll(processes: RedisProcess[], dir: string): Promise<void> {
  await Promise.all(processes.map((p) => p.kill()));
  rmSync(dir, { recursive: true, force: true });
}
