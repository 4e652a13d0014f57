/**
 * The test provider's side of upstreams' own tokens: an RFC 8693 token exchange (oidc-provider has none
 * built in) that records each exchange, and refusals of resource grants armed by a test.
 */
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { TOKEN_PATH } from './idp-api-client.js';

/** The token exchange grant type (RFC 8693). */
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** One token exchange as the provider saw it. */
export interface ExchangeRecord {
  clientId: string;
  audience: string | undefined;
  resource: string | undefined;
  scope: string | undefined;
  /** The subject token's id and user, as the provider knows them (undefined when it knew no such token). */
  subjectJti: string | undefined;
  subjectSub: string | undefined;
  /** The error the provider answered with, if it refused. */
  error?: string;
}

/** A refusal a test arms: the next resource grants (refresh_token with this resource or scope) get `error`. */
export interface GrantRefusal {
  /** Refresh grants naming this resource (or asking this scope) are refused. */
  resource?: string;
  error: 'invalid_grant' | 'invalid_target' | 'invalid_scope' | 'temporarily_unavailable';
}

/** What the helper keeps for the test. */
export interface UpstreamTokenState {
  exchanges: ExchangeRecord[];
  /** Audiences the exchange refuses with invalid_target. */
  refusedAudiences: Set<string>;
  refusals: GrantRefusal[];
}

/** Registers the exchange grant and the refusal middleware on `provider`. */
/** The thumbprint of a token request's DPoP proof, after checking it was made for this endpoint by its embedded key. */
async function dpopThumbprint(proof: string, htu: string): Promise<string> {
  const { errors } = await import('oidc-provider');
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', maxTokenAge: '60s' });
    if (payload.htm !== 'POST' || payload.htu !== htu || typeof payload.jti !== 'string') throw new Error('htm, htu or jti');
    return await calculateJwkThumbprint(protectedHeader.jwk!);
  } catch {
    throw new errors.InvalidDpopProof('invalid DPoP proof');
  }
}

export async function registerUpstreamTokenGrants(provider: Provider, state: UpstreamTokenState): Promise<void> {
  const { errors } = await import('oidc-provider');
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx: KoaContextWithOIDC) => {
      const params = ctx.oidc.params as Record<string, string | undefined>;
      const client = ctx.oidc.client!;
      const record: ExchangeRecord = {
        clientId: client.clientId,
        audience: params.audience,
        resource: params.resource,
        scope: params.scope,
        subjectJti: undefined,
        subjectSub: undefined,
      };
      state.exchanges.push(record);
      try {
        if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
        const subject = await provider.AccessToken.find(params.subject_token ?? '');
        if (!subject || subject.clientId !== client.clientId) throw new errors.InvalidGrant('subject_token invalid');
        record.subjectJti = subject.jti;
        record.subjectSub = subject.accountId;
        const audience = params.audience ?? params.resource;
        if (audience === undefined || state.refusedAudiences.has(audience)) throw new errors.InvalidTarget();
        const at = new provider.AccessToken({
          accountId: subject.accountId,
          client,
          grantId: subject.grantId,
          gty: 'token-exchange',
          scope: params.scope ?? 'api',
        });
        at.resourceServer = new provider.ResourceServer(audience, {
          scope: params.scope ?? 'api',
          audience,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        });
        // oidc-provider checks no DPoP proof for a registered grant: bind the token here, as its own grants do.
        const proof = ctx.get('dpop');
        if (proof) at.setThumbprint('jkt', await dpopThumbprint(proof, `${ctx.oidc.issuer}${ctx.path}`));
        ctx.body = {
          access_token: await at.save(),
          issued_token_type: ACCESS_TOKEN_TYPE,
          token_type: at.tokenType,
          expires_in: at.expiration,
          scope: at.scope,
        };
      } catch (err) {
        record.error = (err as { error?: string }).error ?? 'server_error';
        throw err;
      }
    },
    ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'],
  );

  // A refusal armed by a test: read the form here (oidc-provider then takes the parsed body) and answer it.
  provider.use(async (ctx, next): Promise<void> => {
    if (state.refusals.length === 0 || ctx.method !== 'POST' || ctx.path !== TOKEN_PATH) {
      await next();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    (ctx.req as unknown as { body: string }).body = text;
    const form = new URLSearchParams(text);
    const resource = form.get('resource') ?? undefined;
    const refusal = form.get('grant_type') === 'refresh_token' ? state.refusals.find((r) => r.resource === undefined || r.resource === resource) : undefined;
    if (!refusal) {
      await next();
      return;
    }
    ctx.status = refusal.error === 'temporarily_unavailable' ? 503 : 400;
    ctx.type = 'application/json';
    ctx.body = { error: refusal.error, error_description: 'the test refused this grant' };
  });
}
