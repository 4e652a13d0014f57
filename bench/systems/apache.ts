/**
 * The C peers: Debian's Apache httpd as a plain reverse proxy (apache-bare) and with mod_auth_openidc in front
 * of the same upstream (apache-oidc-server: server-side sessions in Apache's shm cache; apache-oidc-cookie:
 * the whole session in encrypted cookies). Each is its own httpd process tree with a generated config in its
 * own directory: the modules it needs loaded explicitly, mpm_event with one child process whose threads serve
 * every connection (the counterpart of one Node process), no access log, errors at `warn` to stderr.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnProcess, type BenchProcess } from '../proc.js';

/** Where Debian installs httpd and its modules. */
const APACHE_BIN = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';

/** Enough worker threads for every load connection at once (the bench's default is 32), all in one process. */
const THREADS = 64;

/** True when Debian's apache2 (with mod_proxy_http) is installed. */
export function apacheAvailable(): boolean {
  return existsSync(APACHE_BIN) && existsSync(join(MODULES, 'mod_proxy_http.so'));
}

/** True when libapache2-mod-auth-openidc is installed as well. */
export function openidcAvailable(): boolean {
  return apacheAvailable() && existsSync(join(MODULES, 'mod_auth_openidc.so'));
}

/** The OIDC side of an Apache system; absent for the plain proxy. */
export interface ApacheOidc {
  /** server-cache (Apache's shm cache) or client-cookie. */
  sessionType: 'server-cache' | 'client-cookie';
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** OIDCCryptoPassphrase: the key of its state and session cookies. */
  passphrase: string;
}

/** How to start one Apache. */
export interface ApacheOptions {
  name: string;
  port: number;
  upstreamUrl: string;
  oidc?: ApacheOidc;
  /** A directory of its own is made in here for the config, pid file and runtime files. */
  workDir: string;
  cpus: string | undefined;
}

const load = (module: string) => `LoadModule ${module}_module ${MODULES}/mod_${module}.so`;

function oidcBlock(port: number, oidc: ApacheOidc): string {
  // Quoted values: the passphrase and secret are base64url, but a quote keeps any later change safe.
  return `OIDCProviderMetadataURL ${oidc.issuer}/.well-known/openid-configuration
OIDCClientID ${oidc.clientId}
OIDCClientSecret "${oidc.clientSecret}"
OIDCRedirectURI http://127.0.0.1:${port}/oauth2/callback
OIDCCryptoPassphrase "${oidc.passphrase}"
# What authgate asks for by default, and PKCE as authgate and the provider use it.
OIDCScope "openid profile email offline_access"
OIDCPKCEMethod S256
OIDCSessionType ${oidc.sessionType}
OIDCCacheType shm
# The module answers 401 instead of redirecting when a request looks like XHR; Node's fetch (the bench's browser)
# always sends Sec-Fetch-Mode: cors, so a navigation is told apart by its Accept header instead.
OIDCUnAuthAction 401 "%{HTTP_ACCEPT} !~ m#text/html#"

<Location />
  AuthType openid-connect
  Require valid-user
</Location>
`;
}

/** The whole httpd.conf of one system. */
export function apacheConfig(options: ApacheOptions, dir: string): string {
  const modules = ['mpm_event', 'authz_core', 'proxy', 'proxy_http', ...(options.oidc ? ['authn_core', 'authz_user', 'auth_openidc'] : [])];
  // As root, httpd's children must switch to another user (it refuses to serve as root).
  const user = process.getuid?.() === 0 ? 'User www-data\nGroup www-data\n' : '';
  return `ServerRoot /usr/lib/apache2
ServerName 127.0.0.1
Listen 127.0.0.1:${options.port}
PidFile ${join(dir, 'httpd.pid')}
DefaultRuntimeDir ${dir}
${user}${modules.map(load).join('\n')}

# Errors only, to a file (httpd cannot open the bench's stderr socket); no CustomLog: no access log at all.
ErrorLog ${join(dir, 'error.log')}
LogLevel warn

# One child process (ServerLimit 1) with enough threads for every connection: like one Node process, one
# scheduler on one core. No recycling of the child, unlimited requests per keep-alive connection (Node's default).
StartServers 1
ServerLimit 1
ThreadLimit ${THREADS}
ThreadsPerChild ${THREADS}
MaxRequestWorkers ${THREADS}
MinSpareThreads 1
MaxSpareThreads ${THREADS}
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60

# mod_proxy keeps its upstream connections alive and reuses them (one pool per child, up to one per thread).
ProxyPass / ${options.upstreamUrl}/
${options.oidc ? oidcBlock(options.port, options.oidc) : ''}`;
}

/**
 * The lines of an Apache system's error log at level warn or worse, less the module's start-up advice to use
 * https: what httpd wrote while it was measured (it writes nothing else when all is well).
 */
export function apacheErrors(workDir: string, name: string): string[] {
  return tail(join(workDir, name, 'error.log'), Infinity)
    .split('\n')
    .filter((line) => /\[[\w_]+:(warn|error|crit|alert|emerg)\]/.test(line) && !line.includes('oidc_check_config'));
}

function tail(file: string, chars = 4_000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

/**
 * Writes the config and starts `apache2 -f FILE -DFOREGROUND` (the parent and its one child, both on `cpus`);
 * the process's stderrTail() ends with its error log, to explain a failure.
 */
export function spawnApache(options: ApacheOptions): BenchProcess {
  const dir = join(options.workDir, options.name);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'httpd.conf');
  writeFileSync(configFile, apacheConfig(options, dir));
  const proc = spawnProcess({ name: options.name, command: APACHE_BIN, args: ['-f', configFile, '-DFOREGROUND'], cpus: options.cpus });
  return { ...proc, stderrTail: () => `${proc.stderrTail()}${tail(join(dir, 'error.log'))}` };
}
