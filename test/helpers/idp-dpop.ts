/**
 * DPoP at the test provider (RFC 9449; oidc-provider 9 has it on by default): options to require nonces and
 * to register clients whose tokens must be bound, and recordings of what the provider saw: each request that
 * carried a DPoP proof (its key's thumbprint, htm, htu, nonce) and each access token it issued with its jkt.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';

/** DPoP options of the test provider. */
export interface IdpDpopOptions {
  /** Every proof must carry a provider nonce: the first gets `use_dpop_nonce` (400, or 401 at userinfo). */
  requireNonce?: boolean;
  /** Client ids registered with `dpop_bound_access_tokens: true`: a token request without a proof is refused. */
  boundClients?: string[];
  /** Every token request with a proof gets `use_dpop_nonce` with a fresh nonce: a provider whose nonces never work. */
  refuseNonces?: boolean;
}

/** One request that carried a `DPoP` header, as the provider received and answered it. */
export interface DpopProofRecord {
  /** The request path (`/token`, `/me`, `/request` ...). */
  path: string;
  jkt: string;
  htm: string;
  htu: string;
  nonce?: string;
  ath?: string;
  status: number;
  /** The OAuth error of the answer, if any (e.g. use_dpop_nonce). */
  error?: string;
}

/** One access token the provider issued (opaque ones are saved, JWT ones only issued). */
export interface IssuedAccessTokenRecord {
  /** For an opaque token, the token itself. */
  jti: string;
  /** The thumbprint the token is bound to; absent for a Bearer token. */
  jkt?: string;
  clientId?: string;
  gty?: string;
  format: 'opaque' | 'jwt';
}

/** What the provider recorded about DPoP. */
export interface IdpDpopRecords {
  proofs: DpopProofRecord[];
  issuedAccessTokens: IssuedAccessTokenRecord[];
  /** Turns `refuseNonces` on or off from now on. */
  refuseNonces(on: boolean): void;
}

/** Applies the DPoP options to the provider's configuration (before it is built). */
export function dpopConfiguration(configuration: Configuration, options: IdpDpopOptions | undefined): void {
  if (!options) return;
  if (options.requireNonce) configuration.features = { ...configuration.features, dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } };
  const bound = new Set(options.boundClients ?? []);
  configuration.clients = (configuration.clients ?? []).map((client) => (bound.has(client.client_id) ? { ...client, dpop_bound_access_tokens: true } : client));
}

/** Records DPoP proofs and issued access tokens from now on. */
export function recordDpop(provider: Provider, options: IdpDpopOptions | undefined): IdpDpopRecords {
  let refusing = options?.refuseNonces === true;
  const records: IdpDpopRecords = {
    proofs: [],
    issuedAccessTokens: [],
    refuseNonces: (on) => {
      refusing = on;
    },
  };
  provider.use(async (ctx, next) => {
    const proof = ctx.get('dpop');
    if (!proof) {
      await next();
      return;
    }
    try {
      if (refusing && ctx.method === 'POST' && ctx.path === '/token') {
        ctx.status = 400;
        ctx.set('DPoP-Nonce', randomBytes(16).toString('base64url'));
        ctx.body = { error: 'use_dpop_nonce', error_description: 'the test provider refuses every nonce' };
        return;
      }
      await next();
    } finally {
      const record = await describeProof(proof);
      const error = (ctx.body as { error?: unknown } | undefined)?.error ?? /error="([^"]+)"/.exec(ctx.response.get('www-authenticate'))?.[1];
      if (record) records.proofs.push({ path: ctx.path, ...record, status: ctx.status, ...(typeof error === 'string' ? { error } : {}) });
    }
  });
  type Token = { jti: string; jkt?: string; clientId?: string; gty?: string };
  const save = (format: IssuedAccessTokenRecord['format']) => (token: Token) => {
    records.issuedAccessTokens.push({ jti: token.jti, format, ...(token.jkt ? { jkt: token.jkt } : {}), ...(token.clientId ? { clientId: token.clientId } : {}), ...(token.gty ? { gty: token.gty } : {}) });
  };
  provider.on('access_token.saved', save('opaque'));
  provider.on('access_token.issued', save('jwt'));
  return records;
}

async function describeProof(proof: string): Promise<Omit<DpopProofRecord, 'path' | 'status' | 'error'> | undefined> {
  try {
    const { jwk } = decodeProtectedHeader(proof);
    const claims = decodeJwt(proof);
    return {
      jkt: await calculateJwkThumbprint(jwk as JWK),
      htm: String(claims.htm),
      htu: String(claims.htu),
      ...(typeof claims.nonce === 'string' ? { nonce: claims.nonce } : {}),
      ...(typeof claims.ath === 'string' ? { ath: claims.ath } : {}),
    };
  } catch {
    return undefined; // not a JWT: the provider refuses it, nothing to record
  }
}
