/**
 * The test provider's built-in API client and its routes: it gets real JWT access tokens (RFC 9068, through
 * resource indicators) by the code flow for a user or by client_credentials for itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BrowserClient } from './browser-client.js';
import type { JwtAccessTokenRequest } from './idp-types.js';

/** The provider's authorization endpoint path. */
export const AUTHORIZATION_PATH = '/auth';
/** The provider's token endpoint path. */
export const TOKEN_PATH = '/token';
/** The provider's JWKS path. */
export const JWKS_PATH = '/jwks';
/** The built-in API client's redirect URI: never fetched, the code is read off the provider's redirect. */
export const API_CLIENT_REDIRECT_URI = 'http://api-client.invalid/callback';
/** The scope every resource server accepts. */
export const API_SCOPE = 'api';

/** The API client's credentials at the provider. */
export interface ApiClient {
  clientId: string;
  clientSecret: string;
}

/** What asks the provider at `issuer` for JWT access tokens as the API client. */
export function apiClientTokens(issuer: string, apiClient: ApiClient): (request: JwtAccessTokenRequest) => Promise<string> {
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

  return issueJwtAccessToken;
}
