// A real OpenID Connect identity provider (panva's oidc-provider 9) for tests and the demo.
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import type { JWTHeaderParameters } from 'jose';
import type Provider from 'oidc-provider';
import type { Account, ClientMetadata, Configuration, JWK, KoaContextWithOIDC, ResourceServer, SigningAlgorithmWithNone } from 'oidc-provider';
import { BrowserClient } from './browser-client.js';

/** A person who can sign in at the test identity provider (any password is accepted). */
export interface IdpUser {
  sub: string;
  email: string;
  emailVerified?: boolean;
  preferredUsername: string;
  name: string;
  groups: string[];
}

/** The default users, so tests and the demo share well-known identities. */
export const demoUsers: IdpUser[] = [
  { sub: 'alice', email: 'alice@example.com', emailVerified: true, preferredUsername: 'alice', name: 'Alice Admin', groups: ['admins', 'staff'] },
  { sub: 'bob', email: 'bob@example.org', emailVerified: true, preferredUsername: 'bob', name: 'Bob Staff', groups: ['staff'] },
];

/** A relying party registered at the provider (a confidential web client using the code flow). */
export interface IdpClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  backchannelLogoutUri?: string;
}

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

/** One POST to the token endpoint as it arrived on the wire, so tests can prove how the client authenticated. */
export interface TokenRequestRecord {
  grantType: string;
  /** From the request itself: a Basic Authorization header wins over a client_secret form field. */
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
  clientId: string;
  status: number;
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
  /** Where the provider publishes its signing keys (as its discovery document says). */
  jwksUri: string;
  /** Every token endpoint request, in order. */
  tokenRequests: TokenRequestRecord[];
  /** The query of every GET to the authorization endpoint, as the relying party sent it, in order. */
  authorizationRequests: URLSearchParams[];
  /** How many token endpoint requests had grant_type=refresh_token (successful or not). */
  refreshGrants(): number;
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

const AUTHORIZATION_PATH = '/auth';
const TOKEN_PATH = '/token';
const JWKS_PATH = '/jwks';
/** The built-in API client's redirect URI: never fetched, the code is read off the provider's redirect. */
const API_CLIENT_REDIRECT_URI = 'http://api-client.invalid/callback';
/** The scope every resource server accepts. */
const API_SCOPE = 'api';

// oidc-provider reports itself through console.warn/console.info: on import (Node 20 is "unsupported")
// and on construction (dev-only interactions, in-memory adapter). Drop only those lines, only meanwhile.
async function withoutProviderNotices<T>(work: () => Promise<T> | T): Promise<T> {
  const { warn, info } = console;
  const filter = (original: (...args: unknown[]) => void) => (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE)/.test(args[0])) return;
    original.apply(console, args);
  };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    return await work();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

/** An RSA signing key both as the provider's JWK (with kid) and as a KeyObject for signing in tests. */
function signingKey(): { jwk: JWK & { kid: string }; privateKey: KeyObject } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { jwk: { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }, privateKey };
}

function clientMetadata(client: IdpClient): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    token_endpoint_auth_method: client.authMethod ?? 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...(client.backchannelLogoutUri
      ? { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
  };
}

function account(user: IdpUser): Account {
  return {
    accountId: user.sub,
    claims: () => ({
      sub: user.sub,
      email: user.email,
      email_verified: user.emailVerified ?? true,
      name: user.name,
      preferred_username: user.preferredUsername,
      groups: user.groups,
    }),
  };
}

/** The claims of a compact JWT, unverified (the provider's own token, to be changed and signed again). */
function decodePayload(jwt: string): Record<string, unknown> {
  const [, payload = ''] = jwt.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function basicClientId(header: string | undefined): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const id = decoded.slice(0, Math.max(decoded.indexOf(':'), 0));
  try {
    return decodeURIComponent(id.replace(/\+/g, ' '));
  } catch {
    return id;
  }
}

/** Starts the provider on 127.0.0.1 and resolves once it accepts connections. */
export async function startIdp(options: IdpOptions): Promise<StartedIdp> {
  const users = new Map((options.users ?? demoUsers).map((u) => [u.sub, u]));
  const tokenRequests: TokenRequestRecord[] = [];
  let tokenFailure: 'http-503' | 'drop' | null = null;
  let refreshTamper: RefreshTamper | 'html-502' | null = null;
  let idTokenTamper: IdTokenTamper | null = null;
  const authorizationRequests: URLSearchParams[] = [];
  // PKCE challenges of authorization requests that asked for offline_access (see issueRefreshToken).
  const offlineChallenges = new Set<string>();
  const sessionIds = new Set<string>();
  const providerKey = signingKey();
  // Made on first use: generating an RSA key takes a moment most tests do not need to spend.
  let otherKey: ReturnType<typeof signingKey> | undefined;
  let publishedJwks: { keys: JWK[] } | null = null;
  let jwksCount = 0;
  let jwksFailing = false;
  const apiClient = { clientId: 'authgate-test-api-client', clientSecret: randomBytes(24).toString('base64url') };

  // The issuer must name the real port, so the server listens first and the provider is plugged in after.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const wantsOffline = (ctx: KoaContextWithOIDC, code: { codeChallenge?: string; scopes: Set<string> }) =>
    ctx.oidc.client?.grantTypeAllowed('refresh_token') === true
    && (code.scopes.has('offline_access') || (code.codeChallenge !== undefined && offlineChallenges.has(code.codeChallenge)));

  const configuration: Configuration = {
    clients: [
      ...options.clients.map(clientMetadata),
      {
        client_id: apiClient.clientId,
        client_secret: apiClient.clientSecret,
        redirect_uris: [API_CLIENT_REDIRECT_URI],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'client_credentials'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [providerKey.jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clockTolerance: options.clockTolerance ?? 0,
    ...(options.idTokenSigningAlgs ? { enabledJWA: { idTokenSigningAlgValues: options.idTokenSigningAlgs } } : {}),
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      return user ? account(user) : undefined;
    },
    pkce: { required: () => true },
    routes: { authorization: AUTHORIZATION_PATH, token: TOKEN_PATH, jwks: JWKS_PATH },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = page('Sign out', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button><button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = page('Signed out', '<p>You are signed out of the identity provider.</p>');
        },
      },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      clientCredentials: { enabled: true },
      // Set up below, once the provider's module (and its InvalidTarget error) is loaded.
      resourceIndicators: { enabled: false },
    },
    // Identity claims in JWT access tokens for users, as Keycloak and Okta put them there; nothing else changes.
    extraTokenClaims: (_ctx, token) => {
      const user = 'accountId' in token && token.resourceServer?.accessTokenFormat === 'jwt' ? users.get(token.accountId) : undefined;
      return user
        ? { email: user.email, email_verified: user.emailVerified ?? true, preferred_username: user.preferredUsername, groups: user.groups }
        : undefined;
    },
    // offline_access only survives an authorization request that also says prompt=consent (OIDC Core 11);
    // most real providers do not insist, so a refresh token is issued when the request asked for offline_access.
    issueRefreshToken: (ctx, _client, code) => wantsOffline(ctx, code),
    expiresWithSession: (ctx, code) => !wantsOffline(ctx, code),
    rotateRefreshToken: options.rotateRefreshTokens ?? true,
    ttl: {
      AccessToken: (ctx) =>
        ctx.oidc.params?.grant_type === 'refresh_token' ? (options.refreshedAccessTokenTtl ?? options.accessTokenTtl ?? 3600) : (options.accessTokenTtl ?? 3600),
      ClientCredentials: options.accessTokenTtl ?? 3600,
      IdToken: options.idTokenTtl ?? 3600,
      AuthorizationCode: 60,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Identity provider error', Object.entries(out).map(([k, v]) => `<p id="${escapeHtml(k)}">${escapeHtml(String(v))}</p>`).join(''));
    },
    // The default fetch refuses loopback addresses (SSRF guard), which would stop back-channel logout to 127.0.0.1.
    fetch: (url, init) => {
      const unguarded: RequestInit & { dispatcher?: unknown } = { ...init };
      delete unguarded.dispatcher;
      return fetch(url, unguarded);
    },
  };

  const provider: Provider = await withoutProviderNotices(async () => {
    const { default: ProviderClass, interactionPolicy, errors } = await import('oidc-provider');
    // Any absolute http(s) URL is a resource server whose tokens are JWTs with that audience. Requests without
    // `resource` (the gateway's own logins) keep getting opaque access tokens for userinfo, as before.
    configuration.features = {
      ...configuration.features,
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx, resource): ResourceServer => {
          if (!/^https?:\/\/[^/?#]+/.test(resource)) throw new errors.InvalidTarget();
          return { scope: API_SCOPE, audience: resource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    };
    // devInteractions accepts any login name; one we do not know shows the login form again instead of a 500.
    const policy = interactionPolicy.base();
    policy.get('login')?.checks.add(
      new interactionPolicy.Check('unknown_account', 'the signed-in user does not exist', (ctx) =>
        Boolean(ctx.oidc.session?.accountId && !ctx.oidc.account)),
    );
    return new ProviderClass(issuer, { ...configuration, interactions: { policy } });
  }).catch((err: unknown) => {
    server.close();
    throw err;
  });

  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === JWKS_PATH) {
      jwksCount += 1;
      if (jwksFailing) {
        ctx.status = 503;
        ctx.type = 'text/plain';
        ctx.body = 'the test made the JWKS endpoint fail';
        return;
      }
      if (publishedJwks !== null) {
        ctx.type = 'application/jwk-set+json';
        ctx.body = publishedJwks;
        return;
      }
    }
    if (ctx.method === 'GET' && ctx.path === AUTHORIZATION_PATH) {
      const query = new URLSearchParams(ctx.querystring);
      authorizationRequests.push(query);
      const challenge = query.get('code_challenge');
      if (challenge && query.get('scope')?.split(' ').includes('offline_access')) offlineChallenges.add(challenge);
    }
    if (ctx.method !== 'POST' || ctx.path !== TOKEN_PATH) {
      await next();
      // devInteractions pages @import a web font from Google: keep every page offline.
      if (typeof ctx.body === 'string') ctx.body = ctx.body.replace(/@import url\(https:[^)]*\);?/g, '');
      return;
    }
    if (tokenFailure !== null) {
      tokenRequests.push({ grantType: 'unknown (failing)', authMethod: 'none', clientId: '', status: tokenFailure === 'drop' ? 0 : 503 });
      if (tokenFailure === 'drop') {
        ctx.req.socket.destroy();
        return;
      }
      ctx.status = 503;
      ctx.type = 'application/json';
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the test made the token endpoint fail' };
      return;
    }
    try {
      await next();
      const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
      const grant = oidc?.body?.grant_type;
      if (grant === 'authorization_code' && idTokenTamper !== null && ctx.status === 200 && oidc?.client?.clientId !== apiClient.clientId) {
        const tamper = idTokenTamper;
        idTokenTamper = null;
        if (tamper.publishOtherKey) publishedJwks = { keys: [publicJwk('provider'), publicJwk('other')] };
        const body = ctx.body as { id_token?: string };
        const claims = decodePayload(body.id_token ?? '');
        ctx.body = { ...body, id_token: await signJwt(tamper.claims ? tamper.claims(claims) : claims, tamper.sign) };
      }
      if (grant === 'refresh_token' && refreshTamper !== null && ctx.status === 200) {
        const tamper = refreshTamper;
        refreshTamper = null;
        if (tamper === 'html-502') {
          ctx.status = 502;
          ctx.type = 'text/html';
          ctx.body = '<html><body><h1>502 Bad Gateway</h1></body></html>';
        } else {
          const body = ctx.body as { id_token?: string };
          const { sign, ...claims } = tamper;
          ctx.body = { ...body, id_token: await signJwt({ ...decodePayload(body.id_token ?? ''), ...claims }, sign) };
        }
      }
    } finally {
      const body = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc?.body ?? {};
      const authorization = ctx.get('authorization');
      const basicId = basicClientId(authorization);
      tokenRequests.push({
        grantType: firstValue(body.grant_type as string | string[] | undefined) ?? '',
        authMethod: /^Basic\s/i.test(authorization) ? 'client_secret_basic' : body.client_secret !== undefined ? 'client_secret_post' : 'none',
        clientId: basicId ?? firstValue(body.client_id as string | string[] | undefined) ?? '',
        status: ctx.status,
      });
    }
  });

  provider.on('session.saved', (session) => sessionIds.add(session.jti));
  provider.on('session.destroyed', (session) => sessionIds.delete(session.jti));
  const callback = provider.callback();
  server.on('request', (req, res) => void callback(req, res));

  async function revokeGrant(grantId: string): Promise<void> {
    await Promise.all([
      provider.AccessToken.revokeByGrantId(grantId),
      provider.RefreshToken.revokeByGrantId(grantId),
      provider.AuthorizationCode.revokeByGrantId(grantId),
      provider.Grant.find(grantId).then((grant) => grant?.destroy()),
    ]);
  }

  function publicJwk(key: 'provider' | 'other' = 'provider'): JWK & { kid: string } {
    const { jwk, privateKey } = key === 'other' ? (otherKey ??= signingKey()) : providerKey;
    return { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid: jwk.kid, alg: 'RS256', use: 'sig' };
  }

  async function signJwt(payload: Record<string, unknown>, sign: SignJwtOptions = {}): Promise<string> {
    const alg = sign.alg ?? 'RS256';
    const kid = sign.kid === undefined ? providerKey.jwk.kid : sign.kid;
    const header: JWTHeaderParameters = { alg };
    if (kid !== null) header.kid = kid;
    if (sign.typ !== undefined) header.typ = sign.typ;
    if (alg === 'none') {
      // jose's SignJWT refuses to produce unsecured JWTs, so build one by hand.
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${encode(header)}.${encode(payload)}.`;
    }
    let key: KeyObject | Uint8Array;
    if (/^HS\d+$/.test(alg)) {
      const secret = sign.secret ?? options.clients[0]?.clientSecret;
      if (secret === undefined) throw new TypeError('signJwt: an HS algorithm needs a secret');
      key = new TextEncoder().encode(secret);
    } else if (/^(RS|PS)\d+$/.test(alg)) {
      key = sign.key === 'other' ? (otherKey ??= signingKey()).privateKey : providerKey.privateKey;
    } else {
      throw new TypeError(`signJwt: unsupported alg ${alg} (use RS*, PS*, HS* or none)`);
    }
    return new SignJWT(payload).setProtectedHeader(header).sign(key);
  }

  async function tokenRequest(form: Record<string, string>): Promise<string> {
    const response = await fetch(`${issuer}${TOKEN_PATH}`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(apiClient.clientId)}:${encodeURIComponent(apiClient.clientSecret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams(form).toString(),
    });
    const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new Error(`token endpoint (${form.grant_type}) answered ${response.status}: ${body.error ?? ''} ${body.error_description ?? ''}`);
    }
    return body.access_token;
  }

  async function issueJwtAccessToken({ sub, resource, scope = API_SCOPE }: JwtAccessTokenRequest): Promise<string> {
    if (sub === undefined) return tokenRequest({ grant_type: 'client_credentials', resource, scope });
    const verifier = randomBytes(32).toString('base64url');
    const authorization = new URL(`${issuer}${AUTHORIZATION_PATH}`);
    authorization.search = new URLSearchParams({
      client_id: apiClient.clientId,
      response_type: 'code',
      redirect_uri: API_CLIENT_REDIRECT_URI,
      scope: `openid ${scope}`,
      resource,
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { callbackUrl } = await new BrowserClient().login(authorization, sub, { stopAtCallback: true });
    const answer = new URL(callbackUrl).searchParams;
    const code = answer.get('code');
    if (!code) throw new Error(`authorization for ${sub} failed: ${answer.get('error') ?? ''} ${answer.get('error_description') ?? ''}`);
    return tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: API_CLIENT_REDIRECT_URI, code_verifier: verifier, resource });
  }

  return {
    issuer,
    port,
    jwksUri: `${issuer}${JWKS_PATH}`,
    tokenRequests,
    authorizationRequests,
    refreshGrants: () => tokenRequests.filter((r) => r.grantType === 'refresh_token').length,
    jwksRequests: () => jwksCount,
    publicJwk,
    publishJwks: (document) => {
      publishedJwks = document;
    },
    failJwks: (fail) => {
      jwksFailing = fail;
    },
    issueJwtAccessToken,
    apiClient,
    failTokenEndpoint: (mode) => {
      tokenFailure = mode;
    },
    tamperNextRefresh: (change) => {
      refreshTamper = change;
    },
    tamperNextIdToken: (change) => {
      idTokenTamper = change;
    },
    signJwt,
    addUser: (user) => {
      users.set(user.sub, user);
    },
    async backchannelLogout(sub) {
      const failures: unknown[] = [];
      for (const jti of [...sessionIds]) {
        const session = await provider.Session.find(jti);
        if (!session || session.accountId !== sub) continue;
        // Same steps as the provider's own end_session confirm with logout=yes.
        for (const [clientId, state] of Object.entries(session.authorizations ?? {})) {
          // Client#backchannelLogout exists in oidc-provider 9 but is missing from @types/oidc-provider.
          const client = (await provider.Client.find(clientId)) as
            | (InstanceType<Provider['Client']> & { backchannelLogout(sub: string, sid?: string): Promise<void> })
            | undefined;
          if (client?.backchannelLogoutUri) {
            await client.backchannelLogout(sub, session.sidFor(clientId)).catch((err: unknown) => failures.push(err));
          }
          if (state.grantId && !state.persistsLogout) await revokeGrant(state.grantId);
        }
        await session.destroy();
      }
      if (failures.length) throw new AggregateError(failures, `back-channel logout of ${sub} failed for ${failures.length} client(s)`);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
