/**
 * Discovery: the provider's metadata and then the JWKS it names, loaded together and replaced together
 * only when both succeed (a provider whose keys cannot be fetched is not ready; a failed refresh keeps the
 * previous ones). The first load is retried with backoff in the background, so the gateway starts and
 * recovers while the provider is down; afterwards the metadata is refreshed every `oidc.metadataRefresh`
 * and the JWKS alone every `keysRefreshMs`.
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { dpopBinding, type DpopBinding } from './dpop-handle.js';
import type { DpopKeys } from './dpop-key.js';
import { idTokenAlgorithms, type IdTokenPolicy } from './id-token.js';
import type { ProviderCall } from './provider-call.js';
import { ProviderKeys } from './provider-keys.js';

/** Backoff between discovery attempts; tests shorten it. */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/** What one discovery loaded: the provider as every other step sees it. */
export interface Discovered {
  /** openid-client's configuration: it keeps the discovery's customFetch for every later call. */
  configuration: client.Configuration;
  /** The configuration's metadata, copied once: openid-client's serverMetadata() deep-copies it per call. */
  metadata: Readonly<client.ServerMetadata>;
  /** The provider's signing keys and what its ID tokens are checked against. */
  idTokenPolicy: IdTokenPolicy;
  /** With `oidc.dpop`: the DPoP handle (one per provider, kept across refreshes) and its key's thumbprint. */
  dpop?: DpopBinding | undefined;
}

/** What discovery needs: the provider's settings, how to reach it and where to report. */
export interface DiscoveryOptions {
  oidc: Config['oidc'];
  clientAuth: client.ClientAuth;
  fetch: client.CustomFetch;
  call: ProviderCall;
  log: Logger;
  retry: RetryPolicy;
  /** How often the JWKS alone is fetched again; never less often than the metadata. */
  keysRefreshMs: number;
  /** With `oidc.dpop`: the gateway's DPoP keys (dpop-key.ts). */
  dpopKeys?: DpopKeys | undefined;
  /** Told each metadata a load replaced `current` with (pushed-authorization.ts checks its mode against it). */
  onLoaded?: (metadata: Readonly<client.ServerMetadata>) => void;
}

/** Loads the provider and keeps it fresh; `current` is undefined until the first load succeeded. */
export class ProviderDiscovery {
  current: Discovered | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private keysTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;
  private markReady!: () => void;
  /** Resolves once the provider's metadata is loaded (after however many retries it takes). */
  readonly whenReady = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  constructor(private readonly options: DiscoveryOptions) {}

  /** Starts discovery in the background; it retries until it succeeds or stop() is called. */
  start(): void {
    void this.attemptLoad();
  }

  /** Stops retrying and refreshing. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.keysTimer) clearInterval(this.keysTimer);
  }

  private async attemptLoad(): Promise<void> {
    const { oidc, log, retry } = this.options;
    this.retryTimer = undefined;
    try {
      await this.options.call('discovery', () => this.load());
      this.markReady();
      log.info({ issuer: oidc.issuer, attempts: this.attempt + 1 }, 'provider metadata loaded');
      this.scheduleMetadataRefresh();
      this.scheduleKeysRefresh();
    } catch (err) {
      const delay = Math.min(retry.initialMs * 2 ** this.attempt, retry.maxMs);
      this.attempt++;
      log.warn({ err, issuer: oidc.issuer, retryInMs: delay }, 'provider discovery failed');
      if (!this.stopped) {
        this.retryTimer = setTimeout(() => void this.attemptLoad(), delay);
        this.retryTimer.unref();
      }
    }
  }

  /** Fetches the metadata and then the JWKS it names; only when both succeed replaces `current`. */
  private async load(): Promise<void> {
    const { oidc, clientAuth, fetch, log } = this.options;
    const configuration = await client.discovery(new URL(oidc.issuer), oidc.clientId, undefined, clientAuth, {
      execute: oidc.allowInsecureHttp ? [client.allowInsecureRequests] : [],
      timeout: 10,
      [client.customFetch]: fetch,
    });
    const metadata = Object.freeze(configuration.serverMetadata());
    if (!metadata.jwks_uri) throw new Error('the provider metadata names no jwks_uri: its ID tokens cannot be verified');
    const keys = this.current?.idTokenPolicy.keys ?? new ProviderKeys(metadata.jwks_uri, fetch);
    await keys.load(metadata.jwks_uri);
    const algorithms = idTokenAlgorithms(metadata.id_token_signing_alg_values_supported);
    if (algorithms.length === 0) {
      log.warn({ advertised: metadata.id_token_signing_alg_values_supported }, 'the provider offers no asymmetric ID token algorithm; every login will fail');
    }
    const idTokenPolicy = { issuer: metadata.issuer, clientId: oidc.clientId, algorithms, keys, clockSkewMs: oidc.clockSkew, maxAgeMs: oidc.maxIdTokenAge };
    const dpop = await dpopBinding(this.current?.dpop, this.options.dpopKeys, configuration, metadata, log);
    this.current = { configuration, metadata, idTokenPolicy, dpop };
    this.options.onLoaded?.(metadata);
    // Not awaited: readiness does not wait for it, and it cannot fail.
    void keys.warm(algorithms);
  }

  /** Loads the metadata and JWKS again every `oidc.metadataRefresh`; a failure keeps the previous ones. */
  private scheduleMetadataRefresh(): void {
    const { oidc, log } = this.options;
    if (this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      void this.load()
        .then(() => log.debug({ issuer: oidc.issuer }, 'provider metadata and keys refreshed'))
        .catch((err: unknown) => log.warn({ err, issuer: oidc.issuer }, 'provider metadata refresh failed; keeping the previous metadata and keys'))
        .finally(() => this.scheduleMetadataRefresh());
    }, oidc.metadataRefresh);
    this.refreshTimer.unref();
  }

  /**
   * Fetches the JWKS alone again every `keysRefreshMs` when the metadata refresh is rarer, so a key the
   * provider withdraws stops verifying ID and bearer tokens within minutes, not at the next metadata
   * refresh (24 h by default). A failed fetch keeps the keys in use.
   */
  private scheduleKeysRefresh(): void {
    const { oidc, log, keysRefreshMs } = this.options;
    if (this.stopped || this.keysTimer || keysRefreshMs >= oidc.metadataRefresh) return;
    this.keysTimer = setInterval(() => {
      this.current?.idTokenPolicy.keys
        .load()
        .catch((err: unknown) => log.warn({ err, issuer: oidc.issuer }, 'provider JWKS refresh failed; keeping the previous keys'));
    }, keysRefreshMs);
    this.keysTimer.unref();
  }
}
