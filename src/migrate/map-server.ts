/**
 * The listener and the public address: http_address, metrics_address, redirect_url, and which peers'
 * X-Forwarded-* are believed (reverse_proxy + trusted_proxy_ips) → `server`.
 */
import type { Migration } from './migration.js';

/** Maps listener, public URL and trusted-proxy options into `server`. */
export function mapServer(m: Migration): void {
  const { server } = m.tree;
  const listen = listenAddress(m, 'http_address');
  if (listen !== undefined) server.listen = listen;
  const metrics = listenAddress(m, 'metrics_address');
  if (metrics !== undefined) server.metricsListen = metrics;
  for (const option of ['https_address', 'tls_cert_file', 'tls_key_file', 'tls_min_version', 'tls_cipher_suites', 'metrics_secure_address', 'metrics_tls_cert_file', 'metrics_tls_key_file']) {
    if (m.has(option)) m.notCarried(option, 'authgate serves plain HTTP; terminate TLS in front of it (ingress, load balancer)');
    m.use(option);
  }
  mapPublicUrl(m);
  mapTrustedProxies(m);
}

/** oauth2-proxy's "[http://]host:port" (host may be empty) as authgate's "host:port". */
function listenAddress(m: Migration, option: string): string | undefined {
  const raw = m.string(option);
  if (raw === '') return undefined;
  const text = raw.replace(/^http:\/\//i, '');
  if (/^(unix|fd):/i.test(text)) {
    m.notCarried(option, `"${raw}": authgate listens on TCP only`);
    return undefined;
  }
  const at = text.lastIndexOf(':');
  if (at === -1) {
    m.problem(option, `"${raw}": expected host:port`);
    return undefined;
  }
  const host = text.slice(0, at);
  return `${host === '' ? '0.0.0.0' : host}${text.slice(at)}`;
}

function mapPublicUrl(m: Migration): void {
  const redirect = m.string('redirect_url');
  if (redirect === '') {
    m.tree.server.publicUrl = '${AUTHGATE_PUBLIC_URL}';
    m.note('redirect_url', 'not given (oauth2-proxy guessed it from each request); set AUTHGATE_PUBLIC_URL to the address users reach, e.g. https://app.example.com');
    return;
  }
  let url: URL;
  try {
    url = new URL(redirect);
  } catch {
    m.problem('redirect_url', `"${redirect}" is not an absolute URL (relative redirect URLs have no authgate equivalent)`);
    return;
  }
  m.tree.server.publicUrl = url.origin;
  if (url.pathname !== '/oauth2/callback') {
    m.note('redirect_url', `authgate's callback is ${url.origin}/oauth2/callback; register that redirect URI at the provider`);
  }
  const prefix = m.string('proxy_prefix', '/oauth2');
  if (prefix !== '/oauth2') m.notCarried('proxy_prefix', `authgate's own paths are /oauth2/*, not ${prefix}/*`);
}

function mapTrustedProxies(m: Migration): void {
  const reverseProxy = m.bool('reverse_proxy', false);
  const proxies = m.list('trusted_proxy_ips');
  const header = m.string('real_client_ip_header', 'X-Real-IP');
  if (!reverseProxy) {
    if (proxies.length > 0) m.notCarried('trusted_proxy_ips', 'only used with reverse_proxy, which is off');
    return;
  }
  if (proxies.length === 0) {
    m.notCarried(
      'reverse_proxy',
      'oauth2-proxy then believed X-Forwarded-* from any peer; authgate believes only server.trustedProxies: list your proxies\' addresses there (forward-auth needs them)',
    );
  } else {
    m.tree.server.trustedProxies = proxies;
  }
  if (header.toLowerCase() !== 'x-forwarded-for' && header.toLowerCase() !== 'x-real-ip') {
    m.notCarried('real_client_ip_header', `authgate reads the client address from X-Forwarded-For of trusted proxies, not ${header}`);
  }
}
