/**
 * The ingress-nginx recipe of docs/forward-auth.md made runnable: its Ingress objects are read from the
 * document, and their annotations rendered into nginx configuration in the shape the ingress-nginx
 * controller generates (rootfs/etc/nginx/template/nginx.tmpl: the internal `/_external-auth-*` location,
 * the `@<sha1>` sign-in location, `auth_request_set` + `proxy_set_header` per auth-response-header), then run
 * by a real nginx with a real gateway, provider and app behind it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { baseConfig, freePort, ROOT, startGateway, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type ConfigTree, type StartedGateway } from './gateway.js';
import { startIdp, type StartedIdp } from './idp.js';
import { startNginx, type StartedNginx } from './nginx-process.js';
import { startUpstream, type StartedUpstream } from './upstream.js';

const PREFIX = 'nginx.ingress.kubernetes.io/';

/** A path of an Ingress rule, as the recipe writes it. */
interface IngressPath {
  path: string;
  pathType: 'Exact' | 'Prefix';
  service: string;
}

/** The two Ingress objects of the recipe: authgate's pages, and the app's with the auth annotations. */
export interface IngressRecipe {
  /** The app Ingress's `nginx.ingress.kubernetes.io/*` annotations, without the prefix. */
  annotations: Record<string, string>;
  /** The app Ingress's paths. */
  appPaths: IngressPath[];
  /** The paths of the Ingress that sends authgate's pages to authgate. */
  authgatePaths: IngressPath[];
}

/** The YAML of the "## ingress-nginx" section of docs/forward-auth.md (its first yaml block). */
export function docsIngressNginxYaml(): string {
  const doc = readFileSync(join(ROOT, 'docs/forward-auth.md'), 'utf8');
  const section = /\n## ingress-nginx\n([\s\S]*?)(?=\n## )/.exec(doc)?.[1];
  const block = section && /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('docs/forward-auth.md has no yaml block under "## ingress-nginx"');
  return block;
}

/** Reads the recipe's Ingress objects (see IngressRecipe) from its YAML. */
export function parseIngressRecipe(yaml: string): IngressRecipe {
  type Ingress = {
    kind: string;
    metadata: { annotations?: Record<string, string> };
    spec: { rules: Array<{ http: { paths: Array<{ path: string; pathType: IngressPath['pathType']; backend: { service: { name: string } } }> } }> };
  };
  const ingresses = parseAllDocuments(yaml)
    .map((d) => d.toJS() as Ingress)
    .filter((o) => o?.kind === 'Ingress');
  const pathsOf = (ingress: Ingress): IngressPath[] =>
    ingress.spec.rules.flatMap((rule) => rule.http.paths.map((p) => ({ path: p.path, pathType: p.pathType, service: p.backend.service.name })));
  const app = ingresses.find((i) => i.metadata.annotations?.[`${PREFIX}auth-url`] !== undefined);
  const pages = ingresses.find((i) => i !== app);
  if (!app || !pages) throw new Error('the ingress-nginx recipe needs an Ingress with auth-url and one for authgate\'s pages');
  const annotations: Record<string, string> = {};
  for (const [name, value] of Object.entries(app.metadata.annotations ?? {})) {
    if (name.startsWith(PREFIX)) annotations[name.slice(PREFIX.length)] = value;
  }
  return { annotations, appPaths: pathsOf(app), authgatePaths: pathsOf(pages) };
}

/** Replaces `from` (which must occur) in `text`, so a recipe the renderer cannot follow fails loudly. */
function replaceOrThrow(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`ingress-nginx recipe: ${JSON.stringify(text)} no longer contains ${JSON.stringify(from)}`);
  return text.replaceAll(from, to);
}

/** `location = /x` for Exact, `location /x` for Prefix, as the controller writes them. */
const locationFor = (p: IngressPath) => (p.pathType === 'Exact' ? `location = ${p.path}` : `location ${p.path}`);

/** The headers the controller sets on every proxied request (its proxy_set_header block). */
const PROXY_HEADERS = `
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Scheme $scheme;
      proxy_set_header X-Scheme $scheme;
      proxy_set_header X-Original-URI $request_uri;`;

/**
 * Renders the recipe as the controller would for one host, with these changes for a test: plain http on
 * 127.0.0.1:{{port}} (so auth-signin's `https://$host` becomes `http://$http_host`, keeping the port), the
 * Services on local ports (auth-url's scheme and host:port become authgate's local address; its path and
 * the `Host` header it implies are kept), and `set` for `set_escape_uri` (Debian's nginx lacks OpenResty's set-misc module, so `rd`
 * is not percent-encoded here: tests use a URL with one query parameter).
 */
export function renderIngressNginx(recipe: IngressRecipe, ports: { authgate: number; app: number }): string {
  const a = recipe.annotations;
  const authUrl = new URL(a['auth-url'] ?? '');
  const signin = replaceOrThrow(a['auth-signin'] ?? '', 'https://$host/', 'http://$http_host/');
  // The Service's cluster DNS name becomes authgate's local address; the Host header keeps the name.
  const authTarget = `http://127.0.0.1:${ports.authgate}${authUrl.pathname}${authUrl.search}`;
  const bufferSize = a['proxy-buffer-size'] ?? '4k';
  const responseHeaders = (a['auth-response-headers'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  const setHeaders = responseHeaders
    .map((h, i) => `      auth_request_set $authHeader${i} $upstream_http_${h.toLowerCase().replaceAll('-', '_')};\n      proxy_set_header '${h}' $authHeader${i};`)
    .join('\n');
  const pages = recipe.authgatePaths
    .map((p) => `    ${locationFor(p)} {${PROXY_HEADERS}\n      proxy_pass http://authgate_pages;\n    }`)
    .join('\n');
  const apps = recipe.appPaths
    .map((p) => {
      const authPath = `/_external-auth-${Buffer.from(p.path).toString('base64url')}-${p.pathType}`;
      const signinLocation = `@${createHash('sha1').update(p.path).update(a['auth-signin'] ?? '').digest('hex')}`;
      return `
    location = ${authPath} {
      internal;
      access_log off;
      proxy_intercept_errors off;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Proto "";
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header Host ${authUrl.hostname};
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Sent-From "nginx-ingress-controller";
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Auth-Request-Redirect $request_uri;
      proxy_buffering off;
      proxy_buffer_size ${bufferSize};
      proxy_buffers 4 ${bufferSize};
      proxy_request_buffering on;
      proxy_ssl_server_name on;
      proxy_pass_request_headers on;
      proxy_http_version 1.1;
      set $target ${authTarget};
      proxy_pass $target;
    }

    location ${signinLocation} {
      internal;
      add_header Set-Cookie $auth_cookie;
      return 302 ${signin};
    }

    ${locationFor(p)} {
      auth_request ${authPath};
      auth_request_set $auth_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $auth_cookie;
${setHeaders}
      set $escaped_request_uri $request_uri;
      error_page 401 = ${signinLocation};
${PROXY_HEADERS}
      proxy_buffer_size ${bufferSize};
      proxy_buffers 4 ${bufferSize};
      proxy_pass http://app_service;
    }`;
    })
    .join('\n');
  return `
  upstream authgate_pages { server 127.0.0.1:${ports.authgate}; }
  upstream app_service { server 127.0.0.1:${ports.app}; }

  server {
    listen 127.0.0.1:{{port}};
    server_name _;
${pages}
${apps}
  }
`;
}

/** Provider, recording app, gateway, and nginx running the rendered ingress-nginx recipe. */
export interface IngressNginxStack {
  idp: StartedIdp;
  /** The app behind nginx; authgate never proxies to it (its upstreams have no url). */
  upstream: StartedUpstream;
  gateway: StartedGateway;
  nginx: StartedNginx;
  /** The recipe read from the document. */
  recipe: IngressRecipe;
  close(): Promise<void>;
}

/** Starts the documented ingress-nginx recipe (publicUrl is nginx's URL) with authgate's `upstreams`. */
export async function startIngressNginxStack(upstreams: NonNullable<ConfigTree['upstreams']>): Promise<IngressNginxStack> {
  const [nginxPort, gatewayPort] = [await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${nginxPort}`;
  const recipe = parseIngressRecipe(docsIngressNginxYaml());
  const upstream = await startUpstream();
  const stopped: Array<() => Promise<void>> = [() => upstream.close()];
  try {
    const idp = await startIdp({
      clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth2/callback`], postLogoutRedirectUris: [`${publicUrl}/`] }],
    });
    stopped.unshift(() => idp.close());
    const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: gatewayPort });
    tree.server.trustedProxies = ['127.0.0.1/32'];
    tree.upstreams = upstreams;
    const gateway = await startGateway(tree, { port: gatewayPort });
    stopped.unshift(() => gateway.close());
    const nginx = await startNginx(renderIngressNginx(recipe, { authgate: gatewayPort, app: upstream.port }), { port: nginxPort });
    return {
      idp,
      upstream,
      gateway,
      nginx,
      recipe,
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
