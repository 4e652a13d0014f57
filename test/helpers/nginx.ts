/**
 * Runs a real nginx (the Debian package, with http_auth_request_module) for tests: a foreground master
 * process with its own prefix, configuration, logs, pid and temp directories in a fresh temporary
 * directory, listening only where the caller's server blocks say. Also the forward-auth stack: the nginx
 * recipe read from docs/forward-auth.md, in front of a recording app, with a gateway behind it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseConfig, freePort, ROOT, startGateway, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type ConfigTree, type StartedGateway } from './gateway.js';
import { startIdp, type IdpOptions, type StartedIdp } from './idp.js';
import { startUpstream, type StartedUpstream } from './upstream.js';

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
    if (await canConnect(port)) {
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

/** Replaces `from` (which must occur) in `text`, so a recipe change the tests cannot follow fails loudly. */
function replaceOrThrow(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`docs/forward-auth.md: the nginx recipe no longer contains ${JSON.stringify(from)}`);
  return text.replaceAll(from, to);
}

/**
 * The nginx recipe of docs/forward-auth.md, read from the document itself (its first nginx block), made
 * runnable here: authgate and the app on the given ports, plain http on 127.0.0.1:{{port}} instead of TLS
 * and a host name, no port-80 redirect server. Everything else is the documented text.
 */
export function docsNginxRecipe(gatewayPort: number, appPort: number): string {
  const doc = readFileSync(join(ROOT, 'docs/forward-auth.md'), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/forward-auth.md has no nginx block');
  let recipe = replaceOrThrow(block, 'server 127.0.0.1:4180;', `server 127.0.0.1:${gatewayPort};`);
  recipe = replaceOrThrow(recipe, 'server 127.0.0.1:8080;', `server 127.0.0.1:${appPort};`);
  const redirect = /server \{\n {2}listen 80;[\s\S]*?\n\}\n/.exec(recipe)?.[0];
  if (!redirect) throw new Error('docs/forward-auth.md: the nginx recipe has no port-80 server');
  recipe = recipe.replace(redirect, '');
  recipe = replaceOrThrow(recipe, 'listen 443 ssl http2;', 'listen 127.0.0.1:{{port}};');
  recipe = replaceOrThrow(recipe, 'server_name app.example.com;', 'server_name _;');
  recipe = replaceOrThrow(recipe, '  ssl_certificate     /etc/nginx/tls/app.example.com.crt;\n', '');
  return replaceOrThrow(recipe, '  ssl_certificate_key /etc/nginx/tls/app.example.com.key;\n', '');
}

/** Provider, recording app, gateway and nginx running the documented recipe in front of the app. */
export interface NginxForwardAuthStack {
  idp: StartedIdp;
  /** The app behind nginx (authgate never proxies to it: its upstreams have no url). */
  upstream: StartedUpstream;
  gateway: StartedGateway;
  nginx: StartedNginx;
  /** Extra servers' URLs, in the order `extraServers` listed their ports. */
  extraUrls: string[];
  close(): Promise<void>;
}

/** How to start a NginxForwardAuthStack. */
export interface NginxForwardAuthOptions {
  idp?: Partial<IdpOptions>;
  /** authgate's server.trustedProxies; default ["127.0.0.1/32"] (nginx connects from there). */
  trustedProxies?: string[];
  /** The clock the gateway judges sessions and refresh moments by (default Date.now). */
  now?: () => number;
  /** authgate's upstreams (no url: forward-auth only). */
  upstreams: NonNullable<ConfigTree['upstreams']>;
  /** How many extra nginx servers to add, and their config given their ports and authgate's port. */
  extraServers?: { count: number; config: (ports: number[], gatewayPort: number, appPort: number) => string };
}

/** Starts the documented nginx recipe (publicUrl is nginx's URL) with a gateway behind it. */
export async function startNginxForwardAuthStack(options: NginxForwardAuthOptions): Promise<NginxForwardAuthStack> {
  const [nginxPort, gatewayPort] = [await freePort(), await freePort()];
  const extraPorts: number[] = [];
  for (let i = 0; i < (options.extraServers?.count ?? 0); i++) extraPorts.push(await freePort());
  const publicUrl = `http://127.0.0.1:${nginxPort}`;
  const upstream = await startUpstream();
  const idp = await startIdp({
    clients: [
      {
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        redirectUris: [`${publicUrl}/oauth2/callback`],
        postLogoutRedirectUris: [`${publicUrl}/`],
      },
    ],
    ...options.idp,
  });
  const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: gatewayPort });
  tree.server.trustedProxies = options.trustedProxies ?? ['127.0.0.1/32'];
  tree.upstreams = options.upstreams;
  const stopped: Array<() => Promise<void>> = [() => idp.close(), () => upstream.close()];
  try {
    const gateway = await startGateway(tree, { port: gatewayPort, now: options.now });
    stopped.unshift(() => gateway.close());
    const extra = options.extraServers?.config(extraPorts, gatewayPort, upstream.port) ?? '';
    const nginx = await startNginx(docsNginxRecipe(gatewayPort, upstream.port) + extra, { port: nginxPort });
    return {
      idp,
      upstream,
      gateway,
      nginx,
      extraUrls: extraPorts.map((port) => `http://127.0.0.1:${port}`),
      close: async () => {
        await nginx.close();
        for (const stop of stopped) await stop();
      },
    };
  } catch (err) {
    for (const stop of stopped) await stop();
    throw err;
  }
}

/**
 * A second server in the same nginx that asks authgate the way the Kubernetes ingress-nginx controller's
 * `auth-url` annotation does (its nginx.tmpl): the original request as `X-Original-URL` (a full URL), the
 * client's other headers passed on as they came, and no `X-Forwarded-Uri` or `X-Forwarded-Host` of its own.
 */
export function ingressNginxStyleServer(port: number): string {
  return `
server {
  listen 127.0.0.1:${port};
  server_name _;

  location = /_external-auth {
    internal;
    proxy_pass http://authgate/oauth2/auth;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header X-Forwarded-Proto "";
    proxy_set_header Host $host;
    proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    proxy_set_header X-Original-Method $request_method;
    proxy_set_header X-Sent-From "nginx-ingress-controller";
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Auth-Request-Redirect $request_uri;
  }

  location / {
    auth_request /_external-auth;
    proxy_pass http://app;
  }
}
`;
}
