/**
 * Every configured identity provider, each with its own client, discovery and retries: one provider that
 * cannot be reached leaves the others working. A login, a session, a logout token and a bearer token each
 * name their provider (by id, or by `iss`); nothing of one provider is ever checked with another's keys.
 */
import type { Logger } from 'pino';
import type { Config, ProviderConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { loadDpopKeys } from './dpop-key.js';
import { OidcProvider, type RetryPolicy } from './provider.js';

/** What building a provider client needs besides its settings. */
export interface ProviderClientDeps {
  publicUrl: string;
  /** The claims some upstream's `allow.claims` names (read at each login: routes can be reloaded). */
  claimNames: () => readonly string[];
  log: Logger;
  metrics: Metrics;
  retry?: RetryPolicy | undefined;
  keysRefreshMs?: number | undefined;
  tracing?: Tracing | undefined;
  /** `session.keys`: the DPoP key of a provider with `dpop` and no `dpopKey` is derived from them. */
  sessionKeys?: readonly string[] | undefined;
}

/** The configured providers, in configuration order. */
export class Providers {
  /** Every provider, in configuration order. */
  readonly list: readonly OidcProvider[];
  /** The first provider: session keys are bound to it, and a session naming no provider is its. */
  readonly primary: OidcProvider;
  /** Resolves once every provider's metadata is loaded (tests wait for it; serving never does). */
  readonly whenAllReady: Promise<void>;
  private readonly byIdMap: ReadonlyMap<string, OidcProvider>;
  private readonly byIssuerMap: ReadonlyMap<string, OidcProvider>;

  constructor(configs: readonly ProviderConfig[], deps: ProviderClientDeps) {
    this.list = configs.map(
      (settings) => new OidcProvider(settings, deps.publicUrl, deps.claimNames, deps.log.child({ provider: settings.id }), deps.metrics, deps.retry, deps.keysRefreshMs, deps.tracing, loadDpopKeys(settings, deps.sessionKeys ?? [])),
    );
    this.primary = this.list[0]!;
    this.byIdMap = new Map(this.list.map((provider) => [provider.id, provider]));
    // Issuers are unique (schema-checks.ts); discovery refuses metadata naming another issuer, so the
    // configured one is the one tokens carry (a trailing slash aside, which some providers add).
    this.byIssuerMap = new Map(this.list.flatMap((provider) => issuerForms(provider.settings.issuer).map((form) => [form, provider] as const)));
    for (const provider of this.list) {
      deps.metrics.providerReady.set({ provider: provider.id }, 0);
      void provider.whenReady.then(() => deps.metrics.providerReady.set({ provider: provider.id }, 1));
    }
    this.whenAllReady = Promise.all(this.list.map((provider) => provider.whenReady)).then(() => undefined);
  }

  /** The provider with this id. */
  byId(id: string): OidcProvider | undefined {
    return this.byIdMap.get(id);
  }

  /** The provider whose issuer this is (exactly, or but for a trailing slash). */
  byIssuer(issuer: string): OidcProvider | undefined {
    return this.byIssuerMap.get(issuer);
  }

  /** The provider a session belongs to; undefined when that provider is no longer configured. */
  ofSession(session: { provider?: string | undefined }): OidcProvider | undefined {
    return session.provider === undefined ? this.primary : this.byIdMap.get(session.provider);
  }

  /** The ids of the providers whose metadata is not loaded yet (/ready names them). */
  missing(): string[] {
    return this.list.filter((provider) => !provider.ready).map((provider) => provider.id);
  }

  /** Starts every provider's discovery in the background. */
  start(): void {
    for (const provider of this.list) provider.start();
  }

  /** Stops retrying and closes the connections to every provider. */
  stop(): void {
    for (const provider of this.list) provider.stop();
  }
}

/** An issuer as written and without (or with) its trailing slash. */
function issuerForms(issuer: string): string[] {
  return issuer.endsWith('/') ? [issuer, issuer.slice(0, -1)] : [issuer, `${issuer}/`];
}

/** Builds the registry from the configuration. */
export function createProviders(config: Config, deps: Omit<ProviderClientDeps, 'publicUrl'>): Providers {
  return new Providers(config.providers, { ...deps, publicUrl: config.server.publicUrl, sessionKeys: config.session.keys });
}
