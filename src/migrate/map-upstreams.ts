/**
 * Upstreams and what they receive: oauth2-proxy's `upstreams` (URL path = route prefix) → `upstreams`;
 * its header, host, WebSocket, timeout and preflight options → `defaults`, which every upstream inherits.
 * file:// and static:// upstreams have no authgate equivalent and are reported.
 */
import { formatDuration } from './map-session.js';
import type { Migration, Tree } from './migration.js';
import { mapSkipAuthRoutes } from './skip-auth-routes.js';

/** Maps the upstream list and the per-upstream options. */
export function mapUpstreams(m: Migration): void {
  mapUpstreamDefaults(m);
  const carried: Array<{ path: string; entry: Tree }> = [];
  const names = new Set<string>();
  let forwardAuthOnly = false;
  for (const raw of m.list('upstreams')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      m.problem('upstreams', `"${raw}" is not a URL`);
      continue;
    }
    if (url.protocol === 'static:') {
      forwardAuthOnly ||= url.pathname === '' || url.pathname === '/';
      m.notCarried('upstreams', `"${raw}": authgate serves no static responses; an upstream without url answers /oauth2/auth (forward-auth) only`);
      continue;
    }
    if (url.protocol === 'file:') {
      m.notCarried('upstreams', `"${raw}": authgate serves no files; put a static file server behind it and make it an upstream`);
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      m.notCarried('upstreams', `"${raw}": authgate proxies to http:// and https:// only`);
      continue;
    }
    const path = url.pathname || '/';
    if (path !== '/' && !path.endsWith('/')) {
      m.note('upstreams', `"${raw}": oauth2-proxy matched the path ${path} exactly; authgate routes ${path} and everything under it`);
    }
    if (url.search !== '' || url.hash !== '') m.notCarried('upstreams', `"${raw}": the query or fragment is dropped`);
    const entry: Tree = { name: uniqueName(url, names), path, url: url.origin };
    m.tree.upstreams.push(entry);
    carried.push({ path, entry });
  }
  if (carried.length === 0) {
    // An upstream without url is what forward-auth (nginx auth_request, Traefik ForwardAuth) needs.
    m.tree.upstreams.push({ name: 'forward-auth', path: '/' });
    if (!forwardAuthOnly && !m.has('upstreams')) m.note('upstreams', 'none given; one upstream without url is written, for forward-auth (/oauth2/auth) only');
  }
  mapSkipAuthRoutes(m, carried);
}

/** Names for metrics and logs: the path's last segment, else the host's first label ("app" for an IP), made unique. */
function uniqueName(url: URL, names: Set<string>): string {
  const segment = url.pathname.split('/').filter((s) => s !== '').pop();
  const label = /^[\d.]+$|^\[/.test(url.hostname) ? undefined : url.hostname.split('.')[0];
  const base = (segment ?? label ?? 'app').replace(/[^A-Za-z0-9_.-]/g, '-') || 'app';
  let name = base;
  for (let i = 2; names.has(name); i++) name = `${base}-${i}`;
  names.add(name);
  return name;
}

/** Options oauth2-proxy applies to every upstream → `defaults`. */
function mapUpstreamDefaults(m: Migration): void {
  const { defaults } = m.tree;
  // oauth2-proxy passes the browser's Host by default; authgate sends the upstream's unless told.
  if (m.bool('pass_host_header', true)) defaults.preserveHost = true;
  if (!m.bool('proxy_websockets', true)) defaults.websocket = false;
  const timeout = m.duration('upstream_timeout');
  if (timeout !== undefined) defaults.timeout = formatDuration(timeout);
  if (m.bool('skip_auth_preflight', false)) defaults.skipAuthPreflight = true;
  mapTokenHeaders(m, defaults);

  if (m.bool('ssl_upstream_insecure_skip_verify', false)) {
    m.notCarried('ssl_upstream_insecure_skip_verify', 'refused: authgate always verifies upstream certificates (give the CA with NODE_EXTRA_CA_CERTS)');
  }
  if (m.has('flush_interval')) m.notCarried('flush_interval', 'authgate streams responses as they come');
  if (m.bool('disable_keep_alives', false)) m.notCarried('disable_keep_alives', 'authgate keeps a connection pool per upstream');
  const trusted = m.list('trusted_ips');
  if (trusted.length > 0) {
    m.notCarried('trusted_ips', 'authgate never skips sign-in by client address (an address is not an identity); use an upstream with auth: public, or api.acceptBearerTokens for machines');
  }
  if (m.list('whitelist_domains').length > 0) {
    m.notCarried('whitelist_domains', 'authgate returns after sign-in only to its own origin (server.publicUrl); other hosts need a gateway of their own or forward-auth');
  }
  if (m.list('api_routes').length > 0) {
    m.notCarried('api_routes', 'authgate answers 401 rather than a redirect to any request that is not a browser navigation, whatever its path');
  }
  if (!m.bool('skip_auth_strip_headers', true)) {
    m.notCarried('skip_auth_strip_headers', 'authgate always removes client-sent identity headers (X-Forwarded-User, X-Auth-Request-*, ...)');
  }
  m.use('skip_provider_button'); // authgate has no provider button: it always goes straight to the provider
}

/** Which tokens and identity headers the upstreams and the forward-auth answer carry. */
function mapTokenHeaders(m: Migration, defaults: Tree): void {
  const passAccess = m.bool('pass_access_token', false);
  const passAuthorization = m.bool('pass_authorization_header', false);
  const xAuthRequest = m.bool('set_xauthrequest', false);
  if (passAccess) defaults.accessToken = { header: 'X-Forwarded-Access-Token' };
  if (passAuthorization) {
    m.note('pass_authorization_header', 'authgate sends the access token as "Authorization: Bearer", where oauth2-proxy sent the ID token');
    if (passAccess) m.notCarried('pass_authorization_header', 'authgate sends the access token in one header; X-Forwarded-Access-Token (pass_access_token) was chosen');
  }
  // oauth2-proxy sends no token unless asked to; authgate's default would send the access token.
  if (!passAccess && !passAuthorization) defaults.forwardAccessToken = false;
  if (xAuthRequest && passAccess) defaults.authRequestAccessToken = true;
  // oauth2-proxy sends the user headers when either option is on.
  if (!m.bool('pass_user_headers', true) && !m.bool('pass_basic_auth', true)) {
    m.notCarried('pass_user_headers', 'authgate always sends X-Forwarded-User, -Email, -Preferred-Username and -Groups (and removes client copies)');
  }
  for (const option of ['set_basic_auth', 'basic_auth_password', 'set_authorization_header']) {
    if (m.has(option)) m.notCarried(option, 'authgate sends identity in X-Forwarded-* / X-Auth-Request-* headers only, never as Basic auth or an Authorization answer');
    m.use(option);
  }
}
