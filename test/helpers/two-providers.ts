/**
 * Two real identity providers ("corp" and "partners", two oidc-provider instances with the same users, so the
 * same `sub` exists at both) in front of one gateway configured with `providers:`. Routes: `/` accepts both,
 * `/staff` only corp, `/partners` only partners.
 */
import type { AnyConfigTree } from './gateway-config.js';
import { baseConfig, startGateway, TEST_CLIENT_ID, TEST_CLIENT_SECRET, type StartedGateway } from './gateway.js';
import { BrowserClient } from './browser-client.js';
import { startIdp, type IdpClient, type IdpOptions, type StartedIdp } from './idp.js';
import { freePort } from './ports.js';
import { startUpstream, type StartedUpstream } from './upstream.js';

/** The running pieces. */
export interface TwoProviderStack {
  corp: StartedIdp;
  partners: StartedIdp;
  upstream: StartedUpstream;
  gateway: StartedGateway;
  publicUrl: string;
  /** The configuration tree the gateway was started with. */
  tree: AnyConfigTree;
  /** A browser signed in as `login` at `provider`, having landed on `path`. */
  signIn(provider: 'corp' | 'partners', login: string, path?: string): Promise<BrowserClient>;
  close(): Promise<void>;
}

/** What a test may change. */
export interface TwoProviderOptions {
  configure?: (tree: AnyConfigTree) => void;
  partners?: Partial<IdpOptions>;
  /** Registers /oauth2/backchannel_logout at both providers. */
  backchannelLogout?: boolean;
  now?: () => number;
  /** The providers whose metadata the start waits for (default: every one). */
  waitFor?: string[];
  /** More of the gateway's registration at each provider (keys, jwksUri), given the gateway's public URL. */
  clients?: (publicUrl: string) => { corp?: Partial<IdpClient>; partners?: Partial<IdpClient> };
}

/** Starts both providers, an upstream and the gateway. */
export async function startTwoProviders(options: TwoProviderOptions = {}): Promise<TwoProviderStack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const client = {
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    redirectUris: [`${publicUrl}/oauth2/callback`],
    postLogoutRedirectUris: [`${publicUrl}/`],
    ...(options.backchannelLogout ? { backchannelLogoutUri: `${publicUrl}/oauth2/backchannel_logout` } : {}),
  };
  const more = options.clients?.(publicUrl) ?? {};
  const [corp, partners, upstream] = await Promise.all([
    startIdp({ clients: [{ ...client, ...more.corp }] }),
    // Cookie jars (like browsers) keep cookies per host, not per port: the second provider names its own.
    startIdp({ clients: [{ ...client, ...more.partners }], cookieSuffix: 'partners', ...options.partners }),
    startUpstream(),
  ]);
  const { oidc, ...rest } = baseConfig({ publicUrl, issuer: corp.issuer, upstreamUrl: upstream.url, listenPort: port });
  const tree: AnyConfigTree = {
    ...rest,
    providers: [
      { ...oidc, id: 'corp', name: 'Corp SSO', issuer: corp.issuer },
      { ...oidc, id: 'partners', name: 'Partner <login> & "friends"', issuer: partners.issuer },
    ],
    upstreams: [
      { name: 'app', path: '/', url: upstream.url, allow: { anyAuthenticatedUser: true } },
      { name: 'staff', path: '/staff', url: upstream.url, providers: ['corp'], allow: { anyAuthenticatedUser: true } },
      { name: 'partner-area', path: '/partners', url: upstream.url, providers: ['partners'], allow: { anyAuthenticatedUser: true } },
    ],
  };
  options.configure?.(tree);
  let gateway: StartedGateway;
  try {
    gateway = await startGateway(tree, { port, now: options.now, waitForProvider: options.waitFor === undefined });
    const { providers } = gateway.gateway.services;
    await Promise.all((options.waitFor ?? []).map((id) => providers.byId(id)?.whenReady ?? Promise.reject(new Error(`no provider ${id}`))));
  } catch (err) {
    await Promise.all([corp.close(), partners.close(), upstream.close()]);
    throw err;
  }
  return {
    corp,
    partners,
    upstream,
    gateway,
    publicUrl,
    tree,
    async signIn(provider, login, path = '/') {
      const browser = new BrowserClient();
      const result = await browser.login(`${publicUrl}/oauth2/start?provider=${provider}&rd=${encodeURIComponent(path)}`, login);
      if (result.response?.status !== 200) throw new Error(`sign-in as ${login} at ${provider} ended with ${result.response?.status}`);
      return browser;
    },
    close: async () => {
      await gateway.close();
      await Promise.all([corp.close(), partners.close(), upstream.close()]);
    },
  };
}
