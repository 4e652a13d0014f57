/**
 * The nginx forward-auth stack for tests: the nginx recipe read from docs/forward-auth.md, in front of a
 * recording app, with a gateway behind it; and an ingress-nginx style server block. The nginx process
 * itself is run by nginx-process.ts (re-exported here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, freePort, ROOT, startGateway, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type ConfigTree, type StartedGateway } from './gateway.js';
import { startIdp, type IdpOptions, type StartedIdp } from './idp.js';
import { startNginx, type StartedNginx } from './nginx-process.js';
import { startUpstream, type StartedUpstream } from './upstream.js';

export { nginxAvailable, startNginx, type StartedNginx } from './nginx-process.js';

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
