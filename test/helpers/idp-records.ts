/**
 * What the test provider records of the relying party's requests: every authenticated POST (token, PAR,
 * introspection, revocation) with how the client authenticated, the client assertion decoded; and each
 * authorization request, whether it came as a GET query or as a pushed (PAR) form body.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ClientEndpoint, TokenRequestRecord } from './idp-types.js';

/** oidc-provider's default paths of the endpoints a client authenticates at (the token path is the helper's). */
const CLIENT_ENDPOINTS: ReadonlyMap<string, ClientEndpoint> = new Map([
  ['/token', 'token'],
  ['/request', 'par'],
  ['/token/introspection', 'introspection'],
  ['/token/revocation', 'revocation'],
]);

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The endpoint a POST to `path` authenticates at, or undefined for any other request. */
export function clientEndpointOf(method: string, path: string): ClientEndpoint | undefined {
  return method === 'POST' ? CLIENT_ENDPOINTS.get(path) : undefined;
}

function firstValue(value: unknown): string | undefined {
  return Array.isArray(value) ? (value[0] as string | undefined) : typeof value === 'string' ? value : undefined;
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

/** The record of one authenticated POST, after the provider handled it (its body parsed, its status set). */
export function clientRequestRecord(ctx: KoaContextWithOIDC | { get(name: string): string; status: number; oidc?: undefined }, endpoint: ClientEndpoint): TokenRequestRecord {
  // A grant a test refused (idp-upstream-tokens.ts) left its form on the request, unparsed by the provider.
  const raw = (ctx as { req?: { body?: unknown } }).req?.body;
  const body = (ctx.oidc?.body ?? (typeof raw === 'string' ? Object.fromEntries(new URLSearchParams(raw)) : {})) as Record<string, unknown>;
  const authorization = ctx.get('authorization');
  const assertion = firstValue(body.client_assertion);
  let clientAssertion: TokenRequestRecord['clientAssertion'];
  if (assertion !== undefined && firstValue(body.client_assertion_type) === JWT_BEARER) {
    try {
      clientAssertion = { header: decodeProtectedHeader(assertion), payload: decodeJwt(assertion) };
    } catch {
      clientAssertion = undefined;
    }
  }
  const authMethod: TokenRequestRecord['authMethod'] = /^Basic\s/i.test(authorization)
    ? 'client_secret_basic'
    : clientAssertion
      ? String(clientAssertion.header.alg).startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt'
      : body.client_secret !== undefined
        ? 'client_secret_post'
        : 'none';
  return {
    endpoint,
    grantType: firstValue(body.grant_type) ?? '',
    authMethod,
    clientId: basicClientId(authorization) ?? firstValue(body.client_id) ?? firstValue(clientAssertion?.payload.sub) ?? '',
    status: ctx.status,
    resource: firstValue(body.resource),
    scope: firstValue(body.scope),
    audience: firstValue(body.audience),
    ...(endpoint === 'revocation' ? { tokenTypeHint: firstValue(body.token_type_hint) } : {}),
    ...(clientAssertion ? { clientAssertion } : {}),
  };
}

/** The parameters of a pushed authorization request as the provider parsed them (the client's credentials left out). */
export function pushedParams(ctx: KoaContextWithOIDC): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries((ctx.oidc?.body ?? {}) as Record<string, unknown>)) {
    if (name === 'client_secret' || name === 'client_assertion' || name === 'client_assertion_type') continue;
    for (const one of Array.isArray(value) ? value : [value]) if (typeof one === 'string') params.append(name, one);
  }
  return params;
}

/**
 * Records one authorization request. A request that asked for offline_access has its PKCE challenge kept,
 * so the code it yields gets a refresh token (see issueRefreshToken in idp-configuration.ts).
 */
export function recordAuthorizationRequest(query: URLSearchParams, requests: URLSearchParams[], offlineChallenges: Set<string>): void {
  requests.push(query);
  const challenge = query.get('code_challenge');
  if (challenge && query.get('scope')?.split(' ').includes('offline_access')) offlineChallenges.add(challenge);
}
