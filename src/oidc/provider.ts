/**
 * The identity provider as the rest of the gateway sees it: one OidcProvider per provider, holding its state
 * (what discovery loaded) and handing each public call to the step that does it:
 * - discovery.ts: metadata and JWKS, retried at start-up, refreshed afterwards;
 * - authorize.ts: the authorization URL and the RFC 9207 issuer check of the response;
 * - code-grant.ts (with userinfo.ts): the end of a login; refresh-grant.ts; introspection.ts; end-session.ts;
 *   revocation.ts.
 * Every call to the provider goes through one fetch (provider-fetch.ts) and one wrapper that times, counts
 * and classifies it (provider-call.ts); every failure is a ProviderError, a GatewayError with a reason.
 */
import type * as client from 'openid-client';
import type { Logger } from 'pino';
import type { ProviderConfig } from '../config/schema.js';
import type { Identity, TokenSet } from '../identity.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import type { StepUpAsk } from '../policy/step-up.js';
import { authorizationParams, responseIssuerMatches, type CallbackChecks } from './authorize.js';
import { clientAuthFor } from './client-auth.js';
import type { ClientSigningKey } from './client-keys.js';
import { completeLogin, type LoginResult, type LoginSteps } from './code-grant.js';
import type { DpopBinding } from './dpop-handle.js';
import type { DpopKeys } from './dpop-key.js';
import { ProviderDiscovery, type Discovered, type RetryPolicy } from './discovery.js';
import { buildEndSessionUrl } from './end-session.js';
import { identityFromClaims, identityRules } from './identity.js';
import { introspectToken } from './introspection.js';
import { createProviderCall, ProviderError, UNAVAILABLE } from './provider-call.js';
import { createProviderFetch } from './provider-fetch.js';
import { PushedAuthorization } from './pushed-authorization.js';
import type { ProviderKeys } from './provider-keys.js';
import { refreshTokens, type RefreshOutcome, type RefreshSteps } from './refresh-grant.js';
import { revokeSessionTokens, type RevocationOutcome } from './revocation.js';
import { withUserinfo, type UserinfoPolicy } from './userinfo.js';
import { exchangeTokenGrant, resourceTokenGrant, type ResourceGrantResult, type UpstreamToken, type UpstreamTokenAsk } from './upstream-grant.js';

export { pkceChallenge, type CallbackChecks } from './authorize.js';
export type { LoginResult } from './code-grant.js';
export type { RetryPolicy } from './discovery.js';
export type { RefreshOutcome } from './refresh-grant.js';
export type { RevocationOutcome } from './revocation.js';
export { MAX_KEPT_ID_TOKEN_LENGTH } from './token-answer.js';
export type { ResourceGrantResult, UpstreamToken, UpstreamTokenAsk } from './upstream-grant.js';

/** How often the JWKS is fetched again between metadata refreshes: a withdrawn key stops verifying within this. */
export const KEYS_REFRESH_MS = 10 * 60_000;

/** The client of one provider (providers.ts holds one per configured provider). */
export class OidcProvider {
  private readonly discovery: ProviderDiscovery;
  private readonly redirectUri: string;
  /** Every call to the provider goes through this pool (see provider-fetch.ts). */
  private readonly http: ReturnType<typeof createProviderFetch>;
  private readonly login: LoginSteps;
  private readonly refreshSteps: RefreshSteps;
  private readonly par: PushedAuthorization;
  /** The private_key_jwt key, when that is the method (its public half is served at /oauth2/jwks). */
  readonly clientSigningKey: ClientSigningKey | undefined;
  /** Resolves once the provider's metadata is loaded (after however many retries it takes). */
  readonly whenReady: Promise<void>;

  constructor(
    private readonly oidc: ProviderConfig,
    publicUrl: string,
    /** The claims some upstream's `allow.claims` names (read at each login: routes can be reloaded). */
    claimNames: () => readonly string[],
    log: Logger,
    metrics: Metrics,
    retry: RetryPolicy = { initialMs: 500, maxMs: 30_000 },
    /** How often the JWKS alone is fetched again (tests shorten it); never less often than the metadata. */
    keysRefreshMs = KEYS_REFRESH_MS,
    /** Spans for each provider operation and HTTP call, when tracing is on. */
    tracing?: Tracing,
    /** With `oidc.dpop`: the gateway's DPoP keys for this provider (dpop-key.ts). */
    readonly dpopKeys?: DpopKeys,
  ) {
    this.http = createProviderFetch(tracing);
    this.redirectUri = new URL('/oauth2/callback', publicUrl).href;
    const rules = identityRules(oidc);
    const call = createProviderCall(metrics, oidc.id, tracing);
    const { auth: clientAuth, signingKey } = clientAuthFor(oidc);
    this.clientSigningKey = signingKey;
    this.par = new PushedAuthorization(oidc.pushedAuthorizationRequests, oidc.id, log);
    const onLoaded = (metadata: Readonly<client.ServerMetadata>) => this.par.observe(metadata);
    this.discovery = new ProviderDiscovery({ oidc, clientAuth, fetch: this.http.fetch, call, log, retry, keysRefreshMs, dpopKeys, onLoaded });
    this.whenReady = this.discovery.whenReady;
    const userinfo: UserinfoPolicy = { mode: oidc.userinfo, used: () => ['email', oidc.groupsClaim, oidc.userClaim, ...claimNames()] };
    const identityFrom = (claims: Record<string, unknown>, knownUser?: string) => identityFromClaims(claims, rules, claimNames(), knownUser);
    this.login = {
      call,
      redirectUri: this.redirectUri,
      completeClaims: (provider, accessToken, claims, bound) => withUserinfo(provider, call, log, userinfo, accessToken, claims, bound),
      identityFrom,
    };
    this.refreshSteps = { call, log, groupsClaim: oidc.groupsClaim, identityFrom };
  }

  /** The provider's id (`providers[].id`, or "default" for `oidc:`). */
  get id(): string {
    return this.oidc.id;
  }

  /** The provider's settings. */
  get settings(): ProviderConfig {
    return this.oidc;
  }

  /** True once the provider's metadata is loaded. */
  get ready(): boolean {
    return this.discovery.current !== undefined;
  }

  /** The provider's metadata once discovery succeeded. */
  get metadata(): Readonly<client.ServerMetadata> | undefined {
    return this.discovery.current?.metadata;
  }

  /**
   * The provider's signing keys once loaded: the one key set ID tokens and API bearer tokens are both
   * checked with (one fetch path, one refetch policy; see provider-keys.ts).
   */
  get keys(): ProviderKeys | undefined {
    return this.discovery.current?.idTokenPolicy.keys;
  }

  /**
   * With `oidc.dpop`, once discovery loaded: the DPoP handle and its key's thumbprint. Every call that gets
   * or presents a token passes `dpopOptions(provider.dpop)` (dpop-handle.ts): PAR and per-upstream grants too.
   */
  get dpop(): DpopBinding | undefined {
    return this.discovery.current?.dpop;
  }

  /** The one fetch every request to this provider goes through, for verifiers that fetch keys themselves. */
  get fetch(): client.CustomFetch {
    return this.http.fetch;
  }

  /** Starts discovery in the background; it retries until it succeeds or stop() is called. */
  start(): void {
    this.discovery.start();
  }

  /** Stops retrying and closes the connections to the provider. */
  stop(): void {
    this.discovery.stop();
    void this.http.close();
  }

  /** RFC 9207: false when an authorization response names another issuer, or none although promised (authorize.ts). */
  responseIssuerMatches(query: URLSearchParams): boolean {
    return responseIssuerMatches(this.discovery.current?.metadata, query);
  }

  /**
   * The provider's authorization URL for a login (code flow, PKCE S256, state and nonce; pushed first when
   * `pushedAuthorizationRequests` says so; a step-up's acr_values and max_age); `resources`: the RFC 8707
   * resources of the upstreams that take this provider's sessions, one `resource=` each. Rejects with a ProviderError whose face is the page to show.
   */
  async authorizationUrl(checks: CallbackChecks, scopes: readonly string[], stepUp?: StepUpAsk, resources: readonly string[] = []): Promise<URL> {
    const provider = this.loaded();
    const params = authorizationParams(this.redirectUri, checks, {
      scopes,
      prompt: this.oidc.prompt,
      extraParams: this.oidc.extraAuthorizeParams,
      dpopJkt: provider.dpop?.jkt,
      ...(stepUp?.acr === undefined ? {} : { acrValues: stepUp.acr.join(' ') }),
      ...(stepUp?.maxAge === undefined ? {} : { maxAge: stepUp.maxAge }),
      resources,
    });
    return this.par.authorizationUrl(provider, this.login.call, params);
  }

  /** Completes a login (code-grant.ts); rejects with a ProviderError whose face is the page to show. */
  async completeLogin(query: URLSearchParams, checks: CallbackChecks): Promise<LoginResult> {
    return completeLogin(this.loaded(), this.login, query, checks);
  }

  /** Uses a refresh token (refresh-grant.ts); failures are outcomes, for the session layer to act on. */
  async refresh(tokens: TokenSet, identity: Identity): Promise<RefreshOutcome> {
    return refreshTokens(this.discovery.current, this.refreshSteps, tokens, identity);
  }

  /**
   * A token for one upstream by a refresh grant with `resource=`/`scope=` (upstream-grant.ts). The caller
   * holds the session's refresh lock: the grant may rotate the refresh token. Rejects with a ProviderError.
   */
  async tokenForResource(tokens: TokenSet, identity: Identity, ask: UpstreamTokenAsk): Promise<ResourceGrantResult> {
    return resourceTokenGrant(this.loaded(), this.login.call, tokens, identity, ask);
  }

  /** A token for one upstream by exchanging `subjectToken` (RFC 8693); rejects with a ProviderError. */
  async exchangeToken(subjectToken: string, ask: UpstreamTokenAsk): Promise<UpstreamToken> {
    return exchangeTokenGrant(this.loaded(), this.login.call, subjectToken, ask);
  }

  /**
   * Asks the provider about an opaque access token (RFC 7662, authenticated as this client). Resolves to
   * the response (check `active`); rejects with a 503 ProviderError when the provider cannot be asked.
   */
  async introspect(token: string): Promise<Record<string, unknown>> {
    return introspectToken(this.loaded(), this.login.call, token);
  }

  /**
   * Hands the session's refresh token (or access token) back to the provider at sign-out (RFC 7009); resolves
   * to what was revoked, or why nothing was; rejects with a ProviderError when the provider failed.
   */
  async revoke(tokens: TokenSet): Promise<RevocationOutcome> {
    return revokeSessionTokens(this.discovery.current, this.login.call, tokens);
  }

  /** The provider's end-session URL for RP-initiated logout, or null when it offers none. */
  endSessionUrl(idToken: string | undefined, postLogoutRedirectUri: string): URL | null {
    return buildEndSessionUrl(this.discovery.current, this.oidc.clientId, idToken, postLogoutRedirectUri);
  }

  /** What discovery loaded, or a 503 while the provider has not been reached yet. */
  private loaded(): Discovered {
    const provider = this.discovery.current;
    if (!provider) {
      throw new ProviderError(
        { reason: 'unavailable', cause: undefined },
        { ...UNAVAILABLE, message: 'The sign-in service is not reachable right now. Please try again in a moment.' },
      );
    }
    return provider;
  }
}
