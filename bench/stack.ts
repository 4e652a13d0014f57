/**
 * Brings up everything a benchmark needs, each server in its own process: the fast upstream, the identity
 * provider, Redis when asked for, and the systems under test; then signs in once through each system.
 * With two or more cores the systems under test share CPU 1 (only one is loaded at a time) and everything
 * else, the load generator included, stays on CPU 0, so a system's core is its own while it is measured.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { IdpClient } from '../test/helpers/idp.js';
import { freePort } from '../test/helpers/ports.js';
import { compileEntry } from './compile.js';
import { pinSelf, rssKb, STARTING_CPUS, spawnProcess, spawnTsx, waitForHttp, type BenchProcess } from './proc.js';
import { checkSession, signIn } from './sign-in.js';
import { missingSoftware, NO_AUTH, OIDC_MODULE, SYSTEM_LABELS, type SystemId } from './system-ids.js';
import { spawnApache } from './systems/apache.js';
import { spawnAuthgate } from './systems/authgate.js';
import { spawnNginx } from './systems/nginx.js';
import { startRedis } from './systems/redis.js';

export { SYSTEM_IDS, SYSTEM_LABELS, type SystemId } from './system-ids.js';

/** A running system with the session cookie of its one sign-in (none for the bare proxy). */
export interface RunningSystem {
  id: SystemId;
  label: string;
  url: string;
  proc: BenchProcess;
  cookie: string | undefined;
  /** Stops the system's process and starts a fresh one on the same port, signed in anew (proc and cookie change). */
  restart(): Promise<void>;
}

/** How to start the stack. */
export interface StackOptions {
  systems: readonly SystemId[];
  /** Config files, Redis' directory and, with keepLogs, the logs go here. */
  workDir: string;
  /** Pin the systems to CPU 1 and the rest to CPU 0 (ignored on a single core). */
  pin: boolean;
  logLevel?: string;
  keepLogs?: boolean;
  /** Extra node flags for the authgate processes (e.g. --cpu-prof). */
  authgateNodeArgs?: string[];
  /** Extra node flags for the bare proxy (the differential profile). */
  bareNodeArgs?: string[];
  authgateWorkers?: number | 'auto';
  /** Progress lines go here. */
  log?: (line: string) => void;
}

/** The running stack. */
export interface Stack {
  systems: RunningSystem[];
  idp: BenchProcess;
  upstream: BenchProcess;
  redis: BenchProcess | undefined;
  /** Whether systems and helpers are pinned to separate CPUs. */
  pinned: boolean;
  /** Things the report should mention (a system skipped, and why). */
  notes: string[];
  close(): Promise<void>;
}

/** Starts a self-contained bench/systems entry on plain node (the provider, which imports the test helpers, runs under tsx). */
function spawnCompiled(name: string, entry: string, env: Record<string, string>, cpus: string | undefined, nodeArgs: string[] = []): BenchProcess {
  return spawnProcess({ name, args: [...nodeArgs, compileEntry(entry)], env, cpus });
}

/** Starts upstream, provider, Redis (if an authgate-redis system is asked for) and the systems; signs in. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => undefined);
  const notes: string[] = [];
  const pinned = options.pin && availableParallelism() >= 2 && pinSelf('0');
  const helperCpus = pinned ? '0' : undefined;
  // A gateway with several workers must not be squeezed onto one core: it gets every CPU (told explicitly,
  // since a child inherits this process's pin to CPU 0).
  const systemCpus = !pinned ? undefined : (options.authgateWorkers ?? 1) === 1 ? '1' : STARTING_CPUS;

  const wanted = options.systems.filter((id) => {
    const missing = missingSoftware(id);
    if (missing) notes.push(`${id} (${SYSTEM_LABELS[id]}) was skipped: ${missing}.`);
    return !missing;
  });

  const started: BenchProcess[] = [];
  const stopAll = async () => {
    for (const proc of started.reverse()) await proc.stop();
  };
  try {
    const upstreamPort = await freePort();
    const upstream = spawnCompiled('upstream', 'bench/systems/upstream.ts', { BENCH_PORT: String(upstreamPort) }, helperCpus);
    started.push(upstream);
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

    const ports = new Map<SystemId, number>();
    for (const id of wanted) ports.set(id, await freePort());
    const url = (id: SystemId) => `http://127.0.0.1:${ports.get(id)}`;
    const secrets = new Map(wanted.map((id) => [id, randomBytes(24).toString('base64url')]));
    const clients: IdpClient[] = wanted
      .filter((id) => !NO_AUTH.has(id))
      .map((id) => ({
        clientId: `bench-${id}`,
        clientSecret: secrets.get(id) ?? '',
        redirectUris: [id === 'express-oidc' ? `${url(id)}/callback` : `${url(id)}/oauth2/callback`],
        postLogoutRedirectUris: [`${url(id)}/`],
      }));

    const idpPort = await freePort();
    const issuer = `http://127.0.0.1:${idpPort}`;
    const idp = spawnTsx('identity provider', 'bench/systems/idp.ts', { BENCH_PORT: String(idpPort), BENCH_CLIENTS: JSON.stringify(clients) }, helperCpus);
    started.push(idp);

    let redis: BenchProcess | undefined;
    let redisUrl: string | undefined;
    if (wanted.includes('authgate-redis')) {
      const redisPort = await freePort();
      redis = await startRedis(redisPort, options.workDir, helperCpus);
      started.push(redis);
      redisUrl = `redis://127.0.0.1:${redisPort}`;
    }

    await waitForHttp(upstream, `${upstreamUrl}/`, (status) => status === 200);
    await waitForHttp(idp, `${issuer}/.well-known/openid-configuration`, (status) => status === 200);
    log(`upstream ${upstreamUrl}, provider ${issuer}${redisUrl ? `, redis ${redisUrl}` : ''}${pinned ? ' (helpers on CPU 0, systems on CPU 1)' : ''}`);

    /** Starts one system on its port, waits until it is ready and signs in through it. */
    const launch = async (id: SystemId): Promise<{ proc: BenchProcess; cookie: string | undefined }> => {
      const port = String(ports.get(id));
      const common = { port: Number(port), issuer, upstreamUrl, clientId: `bench-${id}`, clientSecret: secrets.get(id) ?? '' };
      let proc: BenchProcess;
      if (id === 'bare') {
        proc = spawnCompiled(id, 'bench/systems/bare-proxy.ts', { BENCH_PORT: port, BENCH_UPSTREAM: upstreamUrl }, systemCpus, options.bareNodeArgs);
      } else if (id === 'nginx-bare') {
        proc = spawnNginx({ name: id, port: Number(port), upstreamUrl, workDir: options.workDir, cpus: systemCpus });
      } else if (id === 'apache-bare' || OIDC_MODULE.has(id)) {
        const sessionType = id === 'apache-oidc-cookie' ? 'client-cookie' : 'server-cache';
        const oidc = OIDC_MODULE.has(id) ? { ...common, sessionType, passphrase: randomBytes(32).toString('base64url') } as const : undefined;
        proc = spawnApache({ name: id, port: Number(port), upstreamUrl, ...(oidc ? { oidc } : {}), workDir: options.workDir, cpus: systemCpus });
      } else if (id === 'express-oidc') {
        proc = spawnCompiled(id, 'bench/systems/express-oidc.ts', {
          BENCH_PORT: port,
          BENCH_UPSTREAM: upstreamUrl,
          BENCH_ISSUER: issuer,
          BENCH_CLIENT_ID: common.clientId,
          BENCH_CLIENT_SECRET: common.clientSecret,
          BENCH_SECRET: randomBytes(32).toString('base64url'),
        }, systemCpus);
      } else {
        proc = spawnAuthgate({
          ...common,
          name: id,
          store: id === 'authgate-redis' ? 'redis' : 'cookie',
          dpop: id === 'authgate-dpop',
          ...(redisUrl ? { redisUrl } : {}),
          ...(id === 'authgate-tokens' ? { upstreamToken: true } : {}),
          workDir: options.workDir,
          cpus: systemCpus,
          ...(options.authgateWorkers !== undefined ? { workers: options.authgateWorkers } : {}),
          ...(options.authgateNodeArgs ? { nodeArgs: options.authgateNodeArgs } : {}),
          ...(options.logLevel ? { logLevel: options.logLevel } : {}),
          ...(options.keepLogs ? { keepLogs: true } : {}),
        });
      }
      started.push(proc);
      // Ready: authgate once /ready says provider and store answer; the others once they answer at all.
      if (id.startsWith('authgate')) await waitForHttp(proc, `${url(id)}/ready`, (status) => status === 200);
      else await waitForHttp(proc, `${url(id)}/`, (status) => status < 500);
      // The functional check of every system: after a real sign-in, GET / must be the upstream's 200 "ok".
      try {
        const cookie = NO_AUTH.has(id) ? undefined : await signIn(`${url(id)}/`);
        await checkSession(`${url(id)}/`, cookie);
        return { proc, cookie };
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        const stderr = proc.stderrTail().trim();
        throw new Error(`${id} (${SYSTEM_LABELS[id]}) failed its check before the load: ${why}${stderr ? `\n${id} stderr:\n${stderr}` : ''}`);
      }
    };

    const systems: RunningSystem[] = [];
    for (const id of wanted) {
      const { proc, cookie } = await launch(id);
      log(`${id} at ${url(id)} (pid ${proc.pid}, RSS ${(rssKb(proc.pid) / 1024).toFixed(0)} MB idle)${cookie ? `: signed in, session cookie ${cookie.length} bytes` : ''}`);
      const system: RunningSystem = {
        id,
        label: SYSTEM_LABELS[id],
        url: url(id),
        proc,
        cookie,
        async restart() {
          await system.proc.stop();
          const at = started.indexOf(system.proc);
          if (at >= 0) started.splice(at, 1);
          Object.assign(system, await launch(id));
        },
      };
      systems.push(system);
    }
    return { systems, idp, upstream, redis, pinned, notes, close: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
