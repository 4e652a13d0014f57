/**
 * Shared by the bearer-token tests (test/routes/bearer-*.test.ts): the gateway configuration with bearers on,
 * a forger that signs access tokens exactly as the test provider issues them, and the two outcomes every
 * case asserts (401 invalid_token with nothing proxied, or proxied with the token's identity).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SignJwtOptions } from '../helpers/idp.js';
import type { ConfigTree, Stack } from '../helpers/gateway.js';

/** The audience of the API the tokens are issued for. */
export const API = 'https://api.example.test';
/** The Accept header of an API call. */
export const JSON_ACCEPT = 'application/json';
/** The Accept header of a browser navigation. */
export const NAVIGATION_ACCEPT = 'text/html,application/xhtml+xml,*/*;q=0.8';
/** The WWW-Authenticate answer to a bad bearer token. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="authgate", error="invalid_token"';

/** The gateway of most tests: bearers on, audience the API, an admins-only /admin next to the default /. */
export function withBearers(audiences: string[] = [API]) {
  return (c: ConfigTree) => {
    c.api = { acceptBearerTokens: true, audiences };
    c.server.trustedProxies = ['127.0.0.1/32'];
    const url = c.upstreams[0]?.url;
    // authRequestAccessToken: forward-auth answers for /admin carry the token (to the trusted proxy only).
    c.upstreams.push({ name: 'admin', path: '/admin', url, allow: { groups: ['admins'] }, authRequestAccessToken: true });
  };
}

/** The current time in seconds, as JWT claims count it. */
export const now = () => Math.floor(Date.now() / 1000);

/**
 * Signs an access token the way the provider issues them (see issueJwtAccessToken: header typ at+jwt and the
 * provider's kid, the same claims); `claims` overrides them, an undefined value removes a claim.
 */
export function forge(stack: Stack, claims: Record<string, unknown> = {}, options: SignJwtOptions = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    iss: stack.idp.issuer,
    sub: 'alice',
    aud: API,
    iat: now(),
    exp: now() + 300,
    jti: randomBytes(12).toString('base64url'),
    client_id: stack.idp.apiClient.clientId,
    scope: 'api',
    email: 'alice@example.com',
    preferred_username: 'alice',
    groups: ['admins', 'staff'],
  };
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
  }
  return stack.idp.signJwt(payload, { typ: 'at+jwt', ...options });
}

/** Requests `path` from the gateway with this Authorization header (none when undefined). */
export function call(stack: Stack, path: string, authorization: string | undefined, accept = JSON_ACCEPT): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (authorization !== undefined) headers.authorization = authorization;
  return fetch(`${stack.publicUrl}${path}`, { headers, redirect: 'manual' });
}

/** Asserts the gateway answered 401 invalid_token and proxied nothing. */
export async function assertInvalidToken(stack: Stack, token: string, path = '/api/things', accept = JSON_ACCEPT, why?: string): Promise<void> {
  const seen = stack.upstream.requests.length;
  const response = await call(stack, path, `Bearer ${token}`, accept);
  assert.equal(response.status, 401, why);
  assert.deepEqual(await response.json(), { error: 'invalid_token' });
  assert.equal(response.headers.get('www-authenticate'), INVALID_TOKEN_CHALLENGE);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.equal(stack.upstream.requests.length, seen, 'the upstream saw nothing');
}

/** Asserts a request with this token was proxied, and returns what the upstream received. */
export async function assertProxied(stack: Stack, token: string, path = '/api/things') {
  const seen = stack.upstream.requests.length;
  const response = await call(stack, path, `Bearer ${token}`);
  assert.equal(response.status, 200, await response.clone().text());
  await response.body?.cancel();
  assert.equal(stack.upstream.requests.length, seen + 1);
  const received = stack.upstream.last();
  assert.ok(received);
  return received;
}

/** Claims of a valid access token for the main stack, for hand-built variants without typ at+jwt. */
export function claimsOf(stack: Stack): Record<string, unknown> {
  return { iss: stack.idp.issuer, sub: 'alice', aud: API, iat: now(), exp: now() + 300, jti: randomBytes(12).toString('base64url') };
}
