/**
 * Runs a real nginx (the Debian package, with http_auth_request_module) for tests: a foreground master
 * process with its own prefix, configuration, logs, pid and temp directories in a fresh temporary
 * directory, listening only where the caller's server blocks say.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** Where Debian installs nginx; `NGINX_BIN` may name another binary. */
const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
/** How long nginx may take to accept connections before start fails. */
const START_TIMEOUT_MS = 10_000;
/** How long a graceful stop (SIGQUIT) may take before the process group is killed. */
const STOP_TIMEOUT_MS = 3_000;

/** A running nginx. */
export interface StartedNginx {
  /** The port substituted for `{{port}}` (and the one waited on). */
  port: number;
  /** "http://127.0.0.1:PORT". */
  url: string;
  /** The directory holding nginx.conf, logs and temp files (removed by close). */
  dir: string;
  /** The error log so far (for assertion messages). */
  errorLog(): string;
  /** The access log so far. */
  accessLog(): string;
  /** Stops nginx (SIGQUIT, then SIGKILL to its process group after 3 s) and removes its directory. */
  close(): Promise<void>;
}

let available: boolean | undefined;

/** True when the nginx binary runs and was built with the auth_request module (checked once). */
export function nginxAvailable(): boolean {
  if (available === undefined) {
    // nginx -V prints its version and build options on stderr.
    const result = spawnSync(NGINX_BIN, ['-V'], { encoding: 'utf8', timeout: 5_000 });
    available = result.status === 0 && `${result.stdout}${result.stderr}`.includes('http_auth_request_module');
  }
  return available;
}

/** The whole nginx.conf around the caller's `http {}` content. */
function fullConfig(dir: string, servers: string): string {
  // As root, workers would otherwise switch to "nobody" and could not use the 0700 temp directory.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;

events {
  worker_connections 256;
}

http {
  access_log ${join(dir, 'access.log')};
  error_log ${join(dir, 'error.log')} info;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  default_type application/octet-stream;

${servers}
}
`;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Starts nginx with `servers` as the content of its `http {}` block (upstreams, maps, servers). Every
 * `{{port}}` in it is replaced by `options.port` or, without one, by a free port; nginx must listen there
 * (on 127.0.0.1). Resolves once that port accepts connections; rejects with the error log otherwise.
 */
export async function startNginx(servers: string, options: { port?: number } = {}): Promise<StartedNginx> {
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'authgate-nginx-'));
  const confPath = join(dir, 'nginx.conf');
  const errorLogPath = join(dir, 'error.log');
  const accessLogPath = join(dir, 'access.log');
  const pidPath = join(dir, 'nginx.pid');
  await writeFile(confPath, fullConfig(dir, servers.replaceAll('{{port}}', String(port))));

  const child = spawn(NGINX_BIN, ['-p', dir, '-c', confPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a stuck master and its workers can be killed together.
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += String(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (output += String(chunk)));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve();
    });
    child.once('error', (err) => {
      output += String(err);
      exitCode = -1;
      resolve();
    });
  });

  const killGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined || exitCode !== undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const stop = async () => {
    if (exitCode === undefined && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGQUIT');
      } catch {
        // Already gone.
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
      });
      const late = await Promise.race([exited.then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) {
        killGroup('SIGKILL');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitCode !== undefined) break;
    // nginx writes its pid file only once it has bound every listen address; before that, whatever
    // answers on the port is somebody else (CI once found the gateway there), so the port alone is not enough.
    if (readOrEmpty(pidPath).trim() === String(child.pid) && (await canConnect(port))) {
      return {
        port,
        url: `http://127.0.0.1:${port}`,
        dir,
        errorLog: () => readOrEmpty(errorLogPath),
        accessLog: () => readOrEmpty(accessLogPath),
        close: stop,
      };
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const why = exitCode !== undefined ? `nginx exited (${exitCode})` : `nginx did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms`;
  const log = readOrEmpty(errorLogPath);
  await stop();
  throw new Error(`${why}\n--- output ---\n${output}\n--- error.log ---\n${log}`);
}
