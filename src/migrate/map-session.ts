/**
 * The session: cookie secret, name and lifetime → `session`; oauth2-proxy's Redis store (standalone,
 * Sentinel, Cluster) → `session.store: redis` with one `session.redis.url` in authgate's spelling.
 */
import { decodedKeyLength } from '../config/schema.js';
import type { Migration } from './migration.js';

const HOUR = 3_600_000;

/** Maps cookie and session-store options into `session`. */
export function mapSession(m: Migration): void {
  mapKey(m);
  const { session } = m.tree;
  mapCookieName(m);
  const expire = m.duration('cookie_expire') ?? 168 * HOUR;
  if (expire === 0) {
    m.notCarried('cookie_expire', '0 (a browser-session cookie): authgate sessions end after session.absoluteTimeout; kept at its default');
  } else {
    session.absoluteTimeout = formatDuration(expire);
    // idleTimeout (default 1h) may not be longer than absoluteTimeout.
    if (expire < HOUR) session.idleTimeout = formatDuration(expire);
    m.note(
      'cookie_expire',
      `${m.has('cookie_expire') ? '' : "not given; oauth2-proxy's default 168h "}carried as session.absoluteTimeout; authgate also ends a session unused for session.idleTimeout (default 1h)`,
    );
  }
  const refresh = m.duration('cookie_refresh');
  if (refresh !== undefined && refresh > 0) {
    m.notCarried('cookie_refresh', 'authgate refreshes the tokens when the access token is within session.refreshSkew of expiring, not on a timer');
  }
  if (!m.bool('cookie_secure', true)) {
    m.notCarried('cookie_secure', 'authgate sets Secure exactly when server.publicUrl is https');
  }
  for (const option of ['cookie_domains', 'cookie_path', 'cookie_samesite', 'cookie_httponly']) {
    if (m.has(option)) m.notCarried(option, 'authgate\'s session cookie is host-only, Path=/, HttpOnly, SameSite=Lax ("__Host-" on https)');
    m.use(option);
  }
  mapStore(m);
}

/**
 * A chosen cookie name is kept (two gateways on one host need two names), with the `__Host-` prefix on
 * https that authgate's default name has there: the browser then keeps the cookie to this host.
 */
function mapCookieName(m: Migration): void {
  const name = m.string('cookie_name');
  if (name === '' || name === '_oauth2_proxy') return;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    m.notCarried('cookie_name', `"${name}": authgate cookie names are letters, digits, "_" and "-"`);
    return;
  }
  const publicUrl = m.tree.server.publicUrl;
  if (typeof publicUrl === 'string' && publicUrl.startsWith('https:') && !/^__(Host|Secure)-/i.test(name)) {
    const hostName = `__Host-${name.replace(/^_+/, '')}`;
    m.tree.session.cookieName = hostName;
    m.note('cookie_name', `carried as session.cookieName: ${hostName} (the __Host- prefix keeps it to this host, as authgate's default name does)`);
  } else {
    m.tree.session.cookieName = name;
  }
}

/** The cookie secret becomes the session key when it is long enough (authgate wants 32 bytes). */
function mapKey(m: Migration): void {
  const file = m.string('cookie_secret_file');
  const secret = m.string('cookie_secret');
  if (file !== '') {
    m.tree.session.keysFile = file;
    m.note('cookie_secret_file', 'carried as session.keysFile; authgate needs a key of at least 32 bytes (openssl rand -base64 32)');
    return;
  }
  const reusable = secret !== '' && decodedKeyLength(secret) >= 32;
  m.tree.session.keys = [m.secretReference('AUTHGATE_SESSION_KEY', reusable ? secret : PLACEHOLDER_KEY)];
  if (reusable) {
    m.note('cookie_secret', 'written as ${AUTHGATE_SESSION_KEY}: set that variable to the cookie secret (it is not printed)');
  } else {
    m.note(
      'cookie_secret',
      `${secret === '' ? 'not given' : 'shorter than 32 bytes'}: set AUTHGATE_SESSION_KEY to a new key (openssl rand -base64 32); oauth2-proxy's cookies cannot be read anyway`,
    );
  }
}

/** Stands for the key the user generates; only ever seen by validation, never printed. */
const PLACEHOLDER_KEY = Buffer.alloc(32, 0x61).toString('base64');

function mapStore(m: Migration): void {
  const store = m.string('session_store_type', 'cookie');
  const redisOptions = [...m.options.values.keys()].filter((key) => key.startsWith('redis_'));
  if (store !== 'redis') {
    if (store !== 'cookie') m.problem('session_store_type', `"${store}": oauth2-proxy knows "cookie" and "redis"`);
    for (const option of redisOptions) m.notCarried(option, 'session_store_type is not redis');
    m.use(...redisOptions);
    return;
  }
  m.tree.session.store = 'redis';
  const url = redisUrl(m);
  if (url !== undefined) m.tree.session.redis = { url };
  if (m.has('redis_ca_path')) m.notCarried('redis_ca_path', 'authgate trusts the system CAs for Redis TLS (set NODE_EXTRA_CA_CERTS)');
  if (m.bool('redis_insecure_skip_tls_verify', false)) m.notCarried('redis_insecure_skip_tls_verify', 'refused: authgate always verifies Redis certificates');
  if (m.has('redis_connection_idle_timeout')) m.notCarried('redis_connection_idle_timeout', 'authgate keeps its Redis connections open');
  m.use('redis_ca_path', 'redis_connection_idle_timeout');
}

/** Builds authgate's Redis URL, the password as a `${VAR}` reference. */
function redisUrl(m: Migration): string | undefined {
  const sentinel = m.bool('redis_use_sentinel', false);
  const cluster = m.bool('redis_use_cluster', false);
  const sentinelUrls = m.list('redis_sentinel_connection_urls');
  const clusterUrls = m.list('redis_cluster_connection_urls');
  const single = m.string('redis_connection_url');
  const urls = sentinel ? sentinelUrls : cluster ? clusterUrls : single === '' ? [] : [single];
  const option = sentinel ? 'redis_sentinel_connection_urls' : cluster ? 'redis_cluster_connection_urls' : 'redis_connection_url';
  if (urls.length === 0) {
    m.problem(option, 'required with session_store_type = "redis"');
    return undefined;
  }
  const parsed = urls.map((u) => parseRedisAddress(u));
  if (parsed.some((p) => p === undefined)) {
    m.problem(option, 'expected redis://[user:password@]host:port URLs');
    return undefined;
  }
  const hosts = parsed.map((p) => p?.hostPort).join(',');
  const first = parsed[0];
  const tls = parsed.some((p) => p?.tls);
  const username = m.string('redis_username') || first?.username || '';
  const password = m.string('redis_password') || parsed.find((p) => p?.password)?.password || '';
  const sentinelPassword = m.string('redis_sentinel_password');
  let auth = '';
  if (password !== '') {
    auth = `${encodeURIComponent(username)}:${m.secretReference('AUTHGATE_REDIS_PASSWORD', encodeURIComponent(password))}@`;
    m.note('redis_password', 'written as ${AUTHGATE_REDIS_PASSWORD} in session.redis.url: set that variable to the password, percent-encoded (it is not printed)');
  } else if (username !== '') {
    auth = `${encodeURIComponent(username)}@`;
  }
  if (sentinel) {
    if (sentinelPassword !== '' && sentinelPassword !== password) {
      m.notCarried('redis_sentinel_password', 'authgate uses one password (the URL\'s) for the sentinels and the master');
    } else if (password !== '' && sentinelPassword === '') {
      m.note('redis_use_sentinel', 'authgate sends the URL\'s password to the sentinels too; they must accept it');
    }
    const master = m.string('redis_sentinel_master_name');
    if (master === '') m.problem('redis_sentinel_master_name', 'required with redis_use_sentinel');
    return `redis+sentinel://${auth}${hosts}/${master || 'mymaster'}${first?.db ? `/${first.db}` : ''}${tls ? '?tls=true' : ''}`;
  }
  m.use('redis_sentinel_master_name', 'redis_sentinel_password');
  if (cluster) return `redis+cluster://${auth}${hosts}${tls ? '?tls=true' : ''}`;
  return `${tls ? 'rediss' : 'redis'}://${auth}${hosts}${first?.db ? `/${first.db}` : ''}`;
}

interface RedisAddress {
  hostPort: string;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
}

function parseRedisAddress(text: string): RedisAddress | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return undefined;
  const db = Number(url.pathname.replace(/^\//, '') || '0');
  return {
    hostPort: url.port ? `${url.hostname}:${url.port}` : url.hostname,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    tls: url.protocol === 'rediss:',
  };
}

/** A duration in authgate's spelling: the largest whole unit ("168h", "90m", "45s"). */
export function formatDuration(ms: number): string {
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Math.round(ms)}ms`;
}
