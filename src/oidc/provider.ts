/**
 * The identity provider as the gateway sees it, through openid-client: discovery (retried with backoff
 * in the background, so the gateway starts and recovers while the provider is down), the authorization
 * URL, the code grant with every check openid-client makes, userinfo and RP-initiated logout.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Identity, TokenSet } from '../identity.js';
import { idTokenAlgorithms, InvalidIdToken, verifyIdToken, type IdTokenPolicy } from './id-token.js';
import { identityFromClaims, identityRules, mergeClaims, type IdentityRules } from './identity.js';
import { createProviderFetch } from './provider-fetch.js';
import { JwksUnavailable, ProviderKeys } from './provider-keys.js';

/** How often the JWKS is fetched again between metadata refreshes: a withdrawn key stops verifying within this. */
export const KEYS_REFRESH_MS = 10 * 60_000;

/** Backoff between discovery attempts; tests shorten it. */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/** The checks a callback must pass: what the login transaction remembered. */
export interface CallbackChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The result of a successful login at the provider. */
export interface LoginResult {
  identity: Identity;
  tokens: TokenSet;
  providerSid: string | undefined;
}

/** The provider client: one per gateway. */
export class OidcProvider {
  private configuration: client.Configuration | undefined;
  /** The configuration's metadata, copied once: openid-client's serverMetadata() deep-copies it per call. */
  private serverMetadata: Readonly<client.ServerMetadata> | undefined;
  /** The provider's signing keys and what its ID tokens are checked against (with the metadata). */
  private idTokenPolicy: IdTokenPolicy | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private keysTimer: NodeJS.Timeout | undefined;
  private readonly rules: IdentityRules;
  private attempt = 0;
  private stopped = false;
  private readonly redirectUri: string;
  private readonly clientAuth: client.ClientAuth;
  /** Every call to the provider goes through this pool (see provider-fetch.ts). */
  private readonly http = createProviderFetch();
  private markReady!: () => void;
  /** Resolves once the provider's metadata is loaded (after however many retries it takes). */
  readonly whenReady = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  constructor(
    private readonly oidc: Config['oidc'],
    publicUrl: string,
    /** The claims some upstream's `allow.claims` names (read at each login: routes can be reloaded). */
    private readonly claimNames: () => readonly string[],
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly retry: RetryPolicy = { initialMs: 500, maxMs: 30_000 },
    /** How often the JWKS alone is fetched again (tests shorten it); never less often than the metadata. */
    private readonly keysRefreshMs = KEYS_REFRESH_MS,
  ) {
    this.redirectUri = new URL('/oauth2/callback', publicUrl).href;
    this.rules = identityRules(oidc);
    this.clientAuth =
      oidc.clientAuthMethod === 'client_secret_post' ? client.ClientSecretPost(oidc.clientSecret) : client.ClientSecretBasic(oidc.clientSecret);
  }

  /** True once the provider's metadata is loaded. */
  get ready(): boolean {
    return this.configuration !== undefined;
  }

  /** The provider's metadata once discovery succeeded. */
  get metadata(): Readonly<client.ServerMetadata> | undefined {
    return this.serverMetadata;
  }

  /**
   * The provider's signing keys once loaded: the one key set ID tokens and API bearer tokens are both
   * checked with (one fetch path, one refetch policy; see provider-keys.ts).
   */
  get keys(): ProviderKeys | undefined {
    return this.idTokenPolicy?.keys;
  }

  /** Starts discovery in the background; it retries until it succeeds or stop() is called. */
  start(): void {
    void this.discover();
  }

  /** Stops retrying. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.keysTimer) clearInterval(this.keysTimer);
    void this.http.close();
  }

  private async discover(): Promise<void> {
    this.timer = undefined;
    const done = this.metrics.providerDuration.startTimer({ operation: 'discovery' });
    try {
      await this.load();
      this.metrics.providerRequests.inc({ operation: 'discovery', outcome: 'success' });
      this.markReady();
      this.log.info({ issuer: this.oidc.issuer, attempts: this.attempt + 1 }, 'provider metadata loaded');
      this.scheduleMetadataRefresh();
      this.scheduleKeysRefresh();
    } catch (err) {
      this.metrics.providerRequests.inc({ operation: 'discovery', outcome: 'error' });
      const delay = Math.min(this.retry.initialMs * 2 ** this.attempt, this.retry.maxMs);
      this.attempt++;
      this.log.warn({ err, issuer: this.oidc.issuer, retryInMs: delay }, 'provider discovery failed');
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.discover(), delay);
        this.timer.unref();
      }
    } finally {
      done();
    }
  }

  /**
   * Fetches the metadata and then the JWKS it names, and only when both succeed replaces the ones in use:
   * a provider whose keys cannot be fetched is not ready, and a failed refresh keeps the previous ones.
   */
  private async load(): Promise<void> {
    const configuration = await client.discovery(
      new URL(this.oidc.issuer),
      this.oidc.clientId,
      undefined,
      this.clientAuth,
      // openid-client keeps the discovery's customFetch for every later call of this configuration.
      { execute: this.oidc.allowInsecureHttp ? [client.allowInsecureRequests] : [], timeout: 10, [client.customFetch]: this.http.fetch },
    );
    const metadata = Object.freeze(configuration.serverMetadata());
    if (!metadata.jwks_uri) throw new Error('the provider metadata names no jwks_uri: its ID tokens cannot be verified');
    const keys = this.idTokenPolicy?.keys ?? new ProviderKeys(metadata.jwks_uri, this.http.fetch);
    await keys.load(metadata.jwks_uri);
    const algorithms = idTokenAlgorithms(metadata.id_token_signing_alg_values_supported);
    if (algorithms.length === 0) {
      this.log.warn({ advertised: metadata.id_token_signing_alg_values_supported }, 'the provider offers no asymmetric ID token algorithm; every login will fail');
    }
    this.idTokenPolicy = {
      issuer: metadata.issuer,
      clientId: this.oidc.clientId,
      algorithms,
      keys,
      clockSkewMs: this.oidc.clockSkew,
      maxAgeMs: this.oidc.maxIdTokenAge,
    };
    this.serverMetadata = metadata;
    this.configuration = configuration;
  }

  /** Fetches the metadata and JWKS again every `oidc.metadataRefresh`; a failure keeps the previous ones. */
  private scheduleMetadataRefresh(): void {
    if (this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      void this.load()
        .then(() => this.log.debug({ issuer: this.oidc.issuer }, 'provider metadata and keys refreshed'))
        .catch((err: unknown) => this.log.warn({ err, issuer: this.oidc.issuer }, 'provider metadata refresh failed; keeping the previous metadata and keys'))
        .finally(() => this.scheduleMetadataRefresh());
    }, this.oidc.metadataRefresh);
    this.refreshTimer.unref();
  }

  /**
   * Fetches the JWKS alone again every `keysRefreshMs` (10 minutes) when the metadata refresh is rarer, so a
   * key the provider withdraws stops verifying ID and bearer tokens within minutes, not at the next metadata
   * refresh (24 h by default). A failed fetch keeps the keys in use.
   */
  private scheduleKeysRefresh(): void {
    if (this.stopped || this.keysTimer || this.keysRefreshMs >= this.oidc.metadataRefresh) return;
    this.keysTimer = setInterval(() => {
      this.idTokenPolicy?.keys
        .load()
        .catch((err: unknown) => this.log.warn({ err, issuer: this.oidc.issuer }, 'provider JWKS refresh failed; keeping the previous keys'));
    }, this.keysRefreshMs);
    this.keysTimer.unref();
  }

  private config(): client.Configuration {
    if (!this.configuration) {
      throw new GatewayError(
        ErrorCode.providerUnavailable,
        503,
        'The sign-in service is not reachable right now. Please try again in a moment.',
      );
    }
    return this.configuration;
  }

  /**
   * RFC 9207 for every authorization response, error responses included (openid-client checks it only for
   * the responses it completes): false when the response names another issuer, or names none although this
   * provider promises to (`authorization_response_iss_parameter_supported`). Such a response may come from
   * another provider mixed up with this one, so not even its error is shown.
   */
  responseIssuerMatches(query: URLSearchParams): boolean {
    const metadata = this.serverMetadata;
    if (!metadata) return true; // nothing to compare with; completeLogin refuses with 503 anyway
    const iss = query.get('iss');
    if (iss === null) return metadata.authorization_response_iss_parameter_supported !== true;
    return iss === metadata.issuer;
  }

  /** The provider's authorization URL for a login (code flow, PKCE S256, state and nonce). */
  authorizationUrl(checks: CallbackChecks, scopes: readonly string[]): URL {
    const config = this.config();
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: scopes.join(' '),
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: pkceChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
      ...(scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    });
  }

  /**
   * Completes a login: validates the authorization response (state, iss), exchanges the code with the
   * client secret and the PKCE verifier, and validates the ID token (signature, iss, aud, exp, nonce).
   */
  async completeLogin(query: URLSearchParams, checks: CallbackChecks): Promise<LoginResult> {
    const config = this.config();
    const currentUrl = new URL(this.redirectUri);
    currentUrl.search = query.toString();
    let response: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    const grantDone = this.metrics.providerDuration.startTimer({ operation: 'code_grant' });
    try {
      response = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      this.metrics.providerRequests.inc({ operation: 'code_grant', outcome: 'success' });
    } catch (err) {
      this.metrics.providerRequests.inc({ operation: 'code_grant', outcome: 'error' });
      throw toGatewayError(err);
    } finally {
      grantDone();
    }
    if (!response.claims() || response.id_token === undefined) {
      throw new GatewayError(ErrorCode.loginFailed, 400, 'The provider did not return an ID token.');
    }
    const claims = await this.verifyLoginIdToken(response.id_token, checks.nonce);
    const tokens: TokenSet = {
      accessToken: response.access_token,
      refreshToken: response.refresh_token,
      idToken: storableIdToken(response.id_token),
      expiresAt: response.expires_in === undefined ? undefined : Date.now() + response.expires_in * 1000,
      obtainedAt: Date.now(),
    };
    let merged: Record<string, unknown> = { ...claims };
    if (this.needsUserinfo(merged) && this.serverMetadata?.userinfo_endpoint) {
      const done = this.metrics.providerDuration.startTimer({ operation: 'userinfo' });
      try {
        const userinfo = await client.fetchUserInfo(config, response.access_token, claims.sub as string);
        done();
        merged = mergeClaims(claims, userinfo);
        this.metrics.providerRequests.inc({ operation: 'userinfo', outcome: 'success' });
      } catch (err) {
        done();
        this.metrics.providerRequests.inc({ operation: 'userinfo', outcome: 'error' });
        this.log.warn({ err }, 'userinfo request failed; using the ID token claims only');
      }
    }
    return {
      identity: this.identityFrom(merged),
      tokens,
      providerSid: typeof claims.sid === 'string' ? claims.sid : undefined,
    };
  }

  /**
   * Uses a refresh token. A rotated refresh token replaces the old one; a provider that does not rotate
   * keeps the old one valid. A new ID token must name the same issuer and subject (OIDC Core 12.2).
   */
  async refresh(tokens: TokenSet, identity: Identity): Promise<RefreshOutcome> {
    if (!tokens.refreshToken) return { ok: false, reason: 'invalid_grant' };
    const config = this.configuration;
    if (!config) return { ok: false, reason: 'unavailable' };
    let response: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    const done = this.metrics.providerDuration.startTimer({ operation: 'refresh' });
    try {
      response = await client.refreshTokenGrant(config, tokens.refreshToken);
      done();
    } catch (err) {
      done();
      const reason = classifyRefreshError(err);
      const message = {
        invalid_grant: 'refresh token refused by the provider',
        invalid_response: 'refresh response failed validation; ending the session',
        unavailable: 'token refresh failed',
      }[reason];
      this.log.warn({ err, sub: identity.sub }, message);
      return { ok: false, reason };
    }
    let claims: Record<string, unknown> | undefined;
    if (response.id_token !== undefined) {
      try {
        claims = await this.verifyIdToken(response.id_token);
      } catch (err) {
        if (err instanceof JwksUnavailable) {
          this.log.warn({ err, sub: identity.sub }, 'token refresh failed: the provider keys could not be fetched');
          return { ok: false, reason: 'unavailable' };
        }
        if (!(err instanceof InvalidIdToken)) throw err;
        this.log.warn({ reason: err.message, sub: identity.sub }, 'refreshed ID token failed verification; ending the session');
        return { ok: false, reason: 'invalid_response' };
      }
    }
    if (claims && (claims.sub !== identity.sub || claims.iss !== this.serverMetadata?.issuer)) {
      this.log.warn({ sub: identity.sub }, 'refreshed ID token names another subject or issuer; ending the session');
      return { ok: false, reason: 'invalid_response' };
    }
    return {
      ok: true,
      tokens: {
        accessToken: response.access_token,
        refreshToken: response.refresh_token ?? tokens.refreshToken,
        idToken: response.id_token === undefined ? tokens.idToken : storableIdToken(response.id_token),
        expiresAt: response.expires_in === undefined ? undefined : Date.now() + response.expires_in * 1000,
        obtainedAt: Date.now(),
      },
      identity: claims ? this.refreshedIdentity(identity, claims) : identity,
    };
  }

  /**
   * Asks the provider about an opaque access token (RFC 7662 introspection, authenticated as this client).
   * Resolves to the response (check `active`); rejects when the provider cannot be asked.
   */
  async introspect(token: string): Promise<Record<string, unknown>> {
    const config = this.config();
    if (!this.serverMetadata?.introspection_endpoint) {
      throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The provider offers no token introspection.');
    }
    const done = this.metrics.providerDuration.startTimer({ operation: 'introspection' });
    try {
      const response = await client.tokenIntrospection(config, token);
      done();
      this.metrics.providerRequests.inc({ operation: 'introspection', outcome: 'success' });
      return response;
    } catch (err) {
      done();
      this.metrics.providerRequests.inc({ operation: 'introspection', outcome: 'error' });
      throw err;
    }
  }

  /** The provider's end-session URL for RP-initiated logout, or null when it offers none. */
  endSessionUrl(idToken: string | undefined, postLogoutRedirectUri: string): URL | null {
    const config = this.configuration;
    if (!config || !this.serverMetadata?.end_session_endpoint) return null;
    return client.buildEndSessionUrl(config, {
      client_id: this.oidc.clientId,
      post_logout_redirect_uri: postLogoutRedirectUri,
      ...(idToken ? { id_token_hint: idToken } : {}),
    });
  }

  /** A refreshed ID token may leave out what the login had from userinfo (email, groups): keep those. */
  private refreshedIdentity(identity: Identity, claims: Record<string, unknown>): Identity {
    const fresh = this.identityFrom({ ...identity.claims, ...claims });
    return {
      ...fresh,
      email: claims.email === undefined ? identity.email : fresh.email,
      preferredUsername: claims.preferred_username === undefined ? identity.preferredUsername : fresh.preferredUsername,
      groups: claims[this.oidc.groupsClaim] === undefined ? identity.groups : fresh.groups,
    };
  }

  private needsUserinfo(claims: Record<string, unknown>): boolean {
    return claims.email === undefined || claims[this.oidc.groupsClaim] === undefined;
  }

  private identityFrom(claims: Record<string, unknown>): Identity {
    return identityFromClaims(claims, this.rules, this.claimNames());
  }

  /** The gateway's own check of an ID token (see id-token.ts); rejects with InvalidIdToken or JwksUnavailable. */
  private async verifyIdToken(token: string, nonce?: string): Promise<Record<string, unknown>> {
    const policy = this.idTokenPolicy;
    if (!policy) throw new JwksUnavailable('the provider keys are not loaded');
    return verifyIdToken(token, policy, nonce);
  }

  /** verifyIdToken at login: a token that fails is a 400 page, keys that cannot be fetched a 503. */
  private async verifyLoginIdToken(token: string, nonce: string): Promise<Record<string, unknown>> {
    try {
      return await this.verifyIdToken(token, nonce);
    } catch (err) {
      if (err instanceof JwksUnavailable) {
        throw new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable right now. Please try again.', {
          cause: err,
        });
      }
      if (err instanceof InvalidIdToken) {
        // The reason is the message of the cause (logged); the token itself is never attached.
        throw new GatewayError(ErrorCode.loginFailed, 400, 'The sign-in response could not be verified. Please sign in again.', { cause: err });
      }
      throw err;
    }
  }

}

/**
 * ID tokens longer than this are not kept in the session. The session keeps the ID token only as the
 * id_token_hint of RP-initiated logout; a user with thousands of groups (which `oidc.groupsFilter` trims
 * from the identity, not from the token) would otherwise carry it in every Cookie header, and a hint this
 * large would not fit in the logout URL anyway. Without a hint the provider asks the user to confirm.
 */
export const MAX_KEPT_ID_TOKEN_LENGTH = 8 * 1024;

function storableIdToken(token: string | undefined): string | undefined {
  return token !== undefined && token.length <= MAX_KEPT_ID_TOKEN_LENGTH ? token : undefined;
}

/** What a refresh grant produced. */
export type RefreshOutcome =
  | { ok: true; tokens: TokenSet; identity: Identity }
  /** invalid_grant: refused; invalid_response: tokens that fail validation (another iss or sub, a bad
   * signature); unavailable: the provider could not be reached or failed (5xx, network, timeout). */
  | { ok: false; reason: 'invalid_grant' | 'invalid_response' | 'unavailable' };

/**
 * Sorts a failed refresh: a refusal or a response that fails validation ends the session; a provider that
 * cannot answer (network, timeout, 5xx, or a 4xx that is about our client rather than the grant) keeps it.
 */
function classifyRefreshError(err: unknown): 'invalid_grant' | 'invalid_response' | 'unavailable' {
  if (err instanceof client.ResponseBodyError) return err.error === 'invalid_grant' ? 'invalid_grant' : 'unavailable';
  const name = (err as { name?: string }).name;
  if (err instanceof TypeError || name === 'TimeoutError' || name === 'AbortError') return 'unavailable';
  // A 5xx that is not an OAuth error body (a proxy's HTML error page in front of the provider).
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Response && cause.status >= 500) return 'unavailable';
  if (err instanceof client.ClientError || (err as { code?: unknown }).code !== undefined) return 'invalid_response';
  return 'unavailable';
}

/**
 * Maps openid-client's errors to what the user sees: the provider refusing (invalid_grant, a reused
 * code) or a response that fails validation is a 400; an unreachable or failing provider is a 503.
 */
function toGatewayError(err: unknown): GatewayError {
  if (err instanceof client.AuthorizationResponseError) {
    return new GatewayError(ErrorCode.providerError, 400, `The provider refused the sign-in: ${err.error}`, { cause: err });
  }
  if (err instanceof client.ResponseBodyError) {
    if (err.status >= 500) {
      return new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service failed. Please try again.', { cause: err });
    }
    return new GatewayError(ErrorCode.loginFailed, 400, `The provider refused the sign-in: ${err.error}`, { cause: err });
  }
  if (err instanceof TypeError || (err as { name?: string }).name === 'TimeoutError' || (err as { name?: string }).name === 'AbortError') {
    return new GatewayError(ErrorCode.providerUnavailable, 503, 'The sign-in service is not reachable right now. Please try again.', { cause: err });
  }
  return new GatewayError(ErrorCode.loginFailed, 400, 'The sign-in response could not be verified. Please sign in again.', { cause: err });
}

/**
 * The S256 code challenge (RFC 7636 §4.2): BASE64URL(SHA-256(verifier)). node:crypto's one-shot hash; the
 * WebCrypto digest openid-client offers goes through the thread pool and was a tenth of a login's CPU.
 */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
