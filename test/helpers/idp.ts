// A real OpenID Connect identity provider (panva's oidc-provider 9) for tests and the demo. Its users and
// clients, API shapes, signing keys, configuration and API client live in the idp-*.ts files beside it.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Provider from 'oidc-provider';
import type { JWK, KoaContextWithOIDC } from 'oidc-provider';
import { demoUsers } from './idp-accounts.js';
import { apiClientTokens, AUTHORIZATION_PATH, JWKS_PATH, TOKEN_PATH } from './idp-api-client.js';
import { createProvider, providerConfiguration } from './idp-configuration.js';
import { dpopConfiguration, recordDpop } from './idp-dpop.js';
import { revocationFailures } from './idp-revocation.js';
import { clientEndpointOf, clientRequestRecord, pushedParams, recordAuthorizationRequest } from './idp-records.js';
import { createSigner, decodePayload } from './idp-signing.js';
import { setUpStepUp } from './idp-step-up.js';
import type { IdpOptions, IdTokenTamper, RefreshTamper, StartedIdp, TokenRequestRecord } from './idp-types.js';
import { registerUpstreamTokenGrants, type UpstreamTokenState } from './idp-upstream-tokens.js';

export { demoUsers, type IdpClient, type IdpUser } from './idp-accounts.js';
export type {
  IdpOptions,
  IdTokenTamper,
  JwtAccessTokenRequest,
  RefreshTamper,
  SignJwtOptions,
  StartedIdp,
  TokenRequestRecord,
} from './idp-types.js';

/** oidc-provider's default path of the userinfo endpoint. */
const USERINFO_PATH = '/me';

/** Starts the provider on 127.0.0.1 and resolves once it accepts connections. */
export async function startIdp(options: IdpOptions): Promise<StartedIdp> {
  const users = new Map((options.users ?? demoUsers).map((u) => [u.sub, u]));
  const tokenRequests: TokenRequestRecord[] = [];
  const clientRequests: TokenRequestRecord[] = [];
  const authorizationGets: URLSearchParams[] = [];
  let tokenFailure: 'http-503' | 'drop' | null = null;
  let refreshTamper: RefreshTamper | 'html-502' | null = null;
  let idTokenTamper: IdTokenTamper | null = null;
  const authorizationRequests: URLSearchParams[] = [];
  // PKCE challenges of authorization requests that asked for offline_access (see issueRefreshToken).
  const offlineChallenges = new Set<string>();
  const sessionIds = new Set<string>();
  const { providerKey, publicJwk, signJwt } = createSigner(options.clients[0]?.clientSecret);
  let publishedJwks: { keys: JWK[] } | null = null;
  let jwksCount = 0;
  let userinfoCount = 0;
  let jwksFailing = false;
  const revocation = revocationFailures();
  const apiClient = { clientId: 'authgate-test-api-client', clientSecret: randomBytes(24).toString('base64url') };

  // The issuer must name the real port, so the server listens first and the provider is plugged in after.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const configuration = providerConfiguration({ options, users, apiClient, providerKey, offlineChallenges });
  const stepUp = setUpStepUp(configuration, options);
  dpopConfiguration(configuration, options.dpop);
  const provider: Provider = await createProvider(issuer, configuration, options.resourceScopes).catch((err: unknown) => {
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
    if (ctx.path === USERINFO_PATH) userinfoCount += 1;
    if (ctx.method === 'GET' && ctx.path === AUTHORIZATION_PATH) {
      const query = new URLSearchParams(ctx.querystring);
      authorizationGets.push(query);
      // A pushed request was recorded when it was pushed; this GET only names it.
      if (!query.has('request_uri')) recordAuthorizationRequest(query, authorizationRequests, offlineChallenges);
    }
    const endpoint = clientEndpointOf(ctx.method, ctx.path);
    if (endpoint !== undefined && endpoint !== 'token') {
      try {
        if (endpoint === 'revocation' && (await revocation.answered(ctx))) return;
        await next();
        if (endpoint === 'par') recordAuthorizationRequest(pushedParams(ctx as unknown as KoaContextWithOIDC), authorizationRequests, offlineChallenges);
      } finally {
        const record = clientRequestRecord(ctx, endpoint);
        clientRequests.push(record);
        if (endpoint === 'revocation') revocation.recorded(record);
      }
      return;
    }
    if (ctx.method !== 'POST' || ctx.path !== TOKEN_PATH) {
      await next();
      // devInteractions pages @import a web font from Google: keep every page offline.
      if (typeof ctx.body === 'string') ctx.body = ctx.body.replace(/@import url\(https:[^)]*\);?/g, '');
      return;
    }
    if (tokenFailure !== null) {
      const failing: TokenRequestRecord = { endpoint: 'token', grantType: 'unknown (failing)', authMethod: 'none', clientId: '', status: tokenFailure === 'drop' ? 0 : 503 };
      tokenRequests.push(failing);
      clientRequests.push(failing);
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
      const record = clientRequestRecord(ctx, 'token');
      tokenRequests.push(record);
      clientRequests.push(record);
    }
  });

  stepUp.attach(provider);
  const dpop = recordDpop(provider, options.dpop);
  const upstreamTokens: UpstreamTokenState = { exchanges: [], refusedAudiences: new Set(), refusals: [] };
  await registerUpstreamTokenGrants(provider, upstreamTokens);
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

  const issueJwtAccessToken = apiClientTokens(issuer, apiClient);

  return {
    issuer,
    port,
    stepUp,
    jwksUri: `${issuer}${JWKS_PATH}`,
    tokenRequests,
    clientRequests,
    authorizationRequests,
    dpop,
    authorizationGets,
    refreshGrants: () => tokenRequests.filter((r) => r.grantType === 'refresh_token').length,
    upstreamTokens,
    userinfoRequests: () => userinfoCount,
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
    revocation: revocation.control,
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
