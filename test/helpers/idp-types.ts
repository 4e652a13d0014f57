/**
 * The shapes of the test identity provider's API (test/helpers/idp.ts): how it starts, how tests tamper
 * with its answers, and the handles of a running provider.
 */
import type { IdpRevocationControl } from './idp-revocation.js';
import type { JWK, SigningAlgorithmWithNone } from 'oidc-provider';
import type { IdpClient, IdpUser } from './idp-accounts.js';
import type { IdpStepUp, IdpStepUpOptions } from './idp-step-up.js';
import type { IdpDpopOptions, IdpDpopRecords } from './idp-dpop.js';
import type { UpstreamTokenState } from './idp-upstream-tokens.js';

/** How to start the provider; every field but `clients` has a test-friendly default. */
export interface IdpOptions {
  /** 0 or undefined picks a free port. */
  port?: number;
  clients: IdpClient[];
  /** Defaults to `demoUsers`; more can be added later with `addUser`. */
  users?: IdpUser[];
  /** Seconds, default 3600. */
  accessTokenTtl?: number;
  /**
   * Seconds, for access tokens from a refresh grant (default accessTokenTtl): longer than the first token's,
   * a test that moves the gateway's clock on to make the first token due finds the refreshed one not due.
   */
  refreshedAccessTokenTtl?: number;
  /** Seconds, default 3600. */
  idTokenTtl?: number;
  /** Default true: a refresh token is then single-use, and replaying one revokes the whole grant. */
  rotateRefreshTokens?: boolean;
  /** Seconds, default 0 (oidc-provider's own default is 15), so short-lived tokens really expire. */
  clockTolerance?: number;
  /**
   * The ID token algorithms the discovery document advertises (`id_token_signing_alg_values_supported`);
   * default ["RS256"]. The provider itself keeps signing with RS256; tests forge the others with `signJwt`.
   */
  idTokenSigningAlgs?: SigningAlgorithmWithNone[];
  /**
   * Appended to the provider's cookie names (`_session`, `_interaction`, `_interaction_resume`). Browsers do
   * not keep cookies apart by port, so two providers on 127.0.0.1 in one browser need different names, or
   * each one's cookies overwrite the other's (a sign-out at one then finds no session there). Default: none.
   */
  cookieSuffix?: string;
  /** Step-up: acr values offered, logins' acr and auth_time set by tests (idp-step-up.ts). Default: off. */
  stepUp?: IdpStepUpOptions;
  /** DPoP: require nonces, clients whose tokens must be bound (idp-dpop.ts). */
  dpop?: IdpDpopOptions;
  /**
   * Pushed authorization requests (RFC 9126): 'off' (default) disables the feature, so it is not advertised
   * and logins carry their parameters in the browser's redirect, where many suites read them (state,
   * redirect_uri); 'on' (oidc-provider's own default) advertises the endpoint, so the gateway's default
   * `auto` pushes; 'required' refuses any authorization request that was not pushed.
   */
  par?: 'off' | 'on' | 'required';
  /** Claims left out of ID tokens: only the userinfo endpoint gives them (default none). */
  userinfoOnlyClaims?: string[];
  /** The RFC 7009 revocation endpoint, advertised in discovery (default true). */
  revocation?: boolean;
  /**
   * The client assertion algorithms the provider takes and advertises (token_endpoint_auth_signing_alg_values_supported);
   * default oidc-provider's own (HS256, RS256, PS256, ES256, Ed25519, EdDSA).
   */
  clientAuthSigningAlgs?: string[];
  /** Scopes every resource server has besides "api" (RFC 8707 resources' tokens carry those asked and granted). */
  resourceScopes?: string[];
}

/** How `tamperNextRefresh` changes the next refresh answer's ID token: other claims, another signature. */
export interface RefreshTamper {
  sub?: string;
  iss?: string;
  sign?: SignJwtOptions;
}

/** How `tamperNextIdToken` changes the ID token of the next authorization_code answer to a registered client. */
export interface IdTokenTamper {
  /** New claims from the provider's own (default: the same claims). */
  claims?: (claims: Record<string, unknown>) => Record<string, unknown>;
  /** How the new token is signed (default: like the provider, with its own key and kid). */
  sign?: SignJwtOptions;
  /** First publish the "other" key next to the provider's in the JWKS, as a provider rotating its keys does. */
  publishOtherKey?: boolean;
}

/** The endpoints a client authenticates at. */
export type ClientEndpoint = 'token' | 'par' | 'introspection' | 'revocation';

/** One POST to an endpoint the client authenticates at, as it arrived on the wire, so tests can prove how the client authenticated. */
export interface TokenRequestRecord {
  endpoint: ClientEndpoint;
  /** "" for any endpoint but the token endpoint. */
  grantType: string;
  /**
   * From the request itself: a Basic Authorization header wins over a client assertion (HS* algs:
   * client_secret_jwt), which wins over a client_secret form field.
   */
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt' | 'none';
  clientId: string;
  status: number;
  /** The client assertion (RFC 7523), decoded but not verified (the provider verified it, or refused: see status). */
  clientAssertion?: { header: Record<string, unknown>; payload: Record<string, unknown> };
  /** The `resource`, `scope` and `audience` asked for, when the request named them. */
  resource?: string | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
  /** The revocation request's `token_type_hint`, when it gave one. */
  tokenTypeHint?: string | undefined;
}

/** How `signJwt` signs: by default exactly like the provider signs its ID and logout tokens. */
export interface SignJwtOptions {
  /** Default "RS256". RS and PS algorithms use the RSA key chosen by `key`; HS algorithms use `secret`; "none" leaves the token unsigned. */
  alg?: string;
  /** Default: the provider's signing kid. A string sets another kid; null leaves the kid out of the header. */
  kid?: string | null;
  /** The `typ` header, absent unless given (the provider's logout tokens say "logout+jwt"). */
  typ?: string;
  /** "provider" (default): the key published in the JWKS. "other": an RSA key that is in no JWKS (one per provider). */
  key?: 'provider' | 'other';
  /** For HS algorithms; default the first client's secret, the key the provider itself would use for HS. */
  secret?: string;
}

/** What `issueJwtAccessToken` asks the provider for. */
export interface JwtAccessTokenRequest {
  /**
   * A user (a login the provider knows): the token comes from a real authorization code grant of the built-in
   * API client, signed in as that user through the provider's login and consent pages. Left out: a
   * client_credentials grant, whose token's `sub` is the API client's id (a machine client).
   */
  sub?: string;
  /** The resource indicator (RFC 8707), an absolute http(s) URL; it becomes the token's `aud`. */
  resource: string;
  /** Default "api", the one scope every resource server has here. */
  scope?: string;
}

/** A running provider and the handles tests need to inspect and control it. */
export interface StartedIdp {
  /** "http://127.0.0.1:PORT", no trailing slash. */
  issuer: string;
  port: number;
  /** Step-up handles: the next login's acr and age, the logins made (idp-step-up.ts). */
  stepUp: IdpStepUp;
  /** Where the provider publishes its signing keys (as its discovery document says). */
  jwksUri: string;
  /** Every token endpoint request, in order. */
  tokenRequests: TokenRequestRecord[];
  /** Every POST to an endpoint the client authenticates at (token, PAR, introspection, revocation), in order. */
  clientRequests: TokenRequestRecord[];
  /**
   * Every authorization request as the relying party made it, in order: the query of a GET to the
   * authorization endpoint, or the form body of a pushed request (the GET that then names its request_uri
   * is in `authorizationGets` only).
   */
  authorizationRequests: URLSearchParams[];
  /** DPoP proofs the provider received and the access tokens it issued, with their jkt (idp-dpop.ts). */
  dpop: IdpDpopRecords;
  /** The query of every GET to the authorization endpoint, pushed requests' too, in order. */
  authorizationGets: URLSearchParams[];
  /** How many token endpoint requests had grant_type=refresh_token (successful or not). */
  refreshGrants(): number;
  /** Token exchanges as recorded, refused audiences and armed refusals of resource grants (idp-upstream-tokens.ts). */
  upstreamTokens: UpstreamTokenState;
  /** How many requests the userinfo endpoint has answered so far (from anyone). */
  userinfoRequests(): number;
  /** How many GET requests the JWKS endpoint has answered so far (from anyone). */
  jwksRequests(): number;
  /**
   * A real JWT access token (RFC 9068) issued by the provider itself through resource indicators (RFC 8707):
   * header typ "at+jwt" and the provider's kid; claims iss, sub, aud (the resource), exp, iat, jti, client_id,
   * scope, and for a user also email, preferred_username and groups (added like Keycloak and Okta add them).
   * The client is the built-in `apiClient`, not one of `clients`; its requests appear in `tokenRequests` and
   * `authorizationRequests` like any other.
   */
  issueJwtAccessToken(request: JwtAccessTokenRequest): Promise<string>;
  /** The built-in confidential client that `issueJwtAccessToken` uses (code and client_credentials grants). */
  apiClient: { clientId: string; clientSecret: string };
  /** The public JWK of a signing key (see SignJwtOptions.key) with its own kid, as a JWKS publishes it. */
  publicJwk(key?: 'provider' | 'other'): JWK & { kid: string };
  /**
   * Makes the JWKS endpoint publish `document` instead of the provider's own keys (null: its own again), as
   * during a key rotation or after a compromised key is withdrawn. What the provider signs with does not change.
   */
  publishJwks(document: { keys: JWK[] } | null): void;
  /** Makes the JWKS endpoint answer 503 until called with false (the requests are still counted). */
  failJwks(fail: boolean): void;
  /** Signs `payload` as given (no claims are added) to forge tokens the provider could have issued; see SignJwtOptions. */
  signJwt(payload: Record<string, unknown>, options?: SignJwtOptions): Promise<string>;
  addUser(user: IdpUser): void;
  /** Ends all of the user's provider sessions like an RP-initiated "log out everywhere" and sends logout tokens to back-channel clients; rejects (after ending the sessions) if a delivery failed. */
  backchannelLogout(sub: string): Promise<void>;
  /**
   * Makes the token endpoint fail until called with null: 'http-503' answers 503 with an OAuth error body,
   * 'drop' closes the connection without an answer (a network error). Failed requests are recorded too.
   */
  failTokenEndpoint(mode: 'http-503' | 'drop' | null): void;
  /** Makes the revocation endpoint answer 503 or hold requests unanswered (idp-revocation.ts). */
  revocation: IdpRevocationControl;
  /**
   * Changes the next successful refresh_token answer, as a misbehaving provider or a proxy in front of it
   * would: the ID token re-signed with the provider's key but other claims ({sub} or {iss}), or signed as
   * `sign` says (another key, alg none, HS256 ...), or a 502 HTML page instead of the JSON (the refresh token
   * is used up at the provider either way).
   */
  tamperNextRefresh(change: RefreshTamper | 'html-502'): void;
  /**
   * Replaces the ID token of the next successful authorization_code answer to one of `clients` (not the
   * built-in API client) by one made from its claims as `change` says: a misbehaving or compromised provider,
   * or an attacker who can answer in its place.
   */
  tamperNextIdToken(change: IdTokenTamper): void;
  /** Stops the server and closes every connection. */
  close(): Promise<void>;
}
