/**
 * The provider: oauth2-proxy's provider type, issuer, client, scopes, prompt and claim names → `oidc`;
 * its JWT bearer options → `api`. authgate speaks OpenID Connect only, so OAuth-2-only providers stop here.
 */
import type { Migration } from './migration.js';

/** Provider types whose login is OpenID Connect, and the issuer oauth2-proxy assumes when none is given. */
const OIDC_PROVIDERS: Record<string, ((m: Migration) => string | undefined) | undefined> = {
  oidc: undefined,
  'keycloak-oidc': undefined,
  adfs: undefined,
  'entra-id': undefined,
  azure: (m) => {
    const tenant = m.string('azure_tenant', 'common');
    if (tenant === 'common' || tenant === 'organizations' || tenant === 'consumers') {
      m.problem('azure_tenant', `"${tenant}" is a multi-tenant endpoint whose ID tokens name each user's own tenant as issuer; give your tenant id`);
      return undefined;
    }
    return `https://login.microsoftonline.com/${tenant}/v2.0`;
  },
  google: () => 'https://accounts.google.com',
  gitlab: () => 'https://gitlab.com',
};

/** Maps the provider and client settings into `oidc` (and `api` for JWT bearer tokens). */
export function mapProvider(m: Migration): void {
  const { oidc } = m.tree;
  const provider = m.string('provider', 'google');
  if (!(provider in OIDC_PROVIDERS)) {
    m.problem('provider', `"${provider}" signs in with plain OAuth 2.0 or its own API; authgate speaks OpenID Connect only (use the provider's OIDC endpoint with provider = "oidc")`);
  }
  let issuer = m.string('oidc_issuer_url');
  if (issuer === '') {
    const fallback = OIDC_PROVIDERS[provider]?.(m);
    if (fallback !== undefined) {
      issuer = fallback;
      m.note('oidc_issuer_url', `not given; oauth2-proxy's ${provider} provider implies ${fallback}`);
    } else if (provider in OIDC_PROVIDERS) {
      m.problem('oidc_issuer_url', 'required: authgate discovers the provider from its issuer');
    }
  }
  if (issuer !== '') oidc.issuer = issuer;
  if (issuer.startsWith('http:')) {
    oidc.allowInsecureHttp = true;
    m.note('oidc_issuer_url', 'is http://; oidc.allowInsecureHttp: true is set, which is for local development only');
  }
  const azureTenant = m.string('azure_tenant');
  if (azureTenant !== '' && provider !== 'azure') m.notCarried('azure_tenant', 'the tenant is part of oidc.issuer');

  const clientId = m.string('client_id');
  if (clientId === '') m.problem('client_id', 'required');
  else oidc.clientId = clientId;
  mapClientSecret(m);

  mapScopes(m, provider);
  mapPrompt(m);
  mapClaims(m);
  mapBearerTokens(m);
}

function mapClientSecret(m: Migration): void {
  const secret = m.string('client_secret');
  const file = m.string('client_secret_file');
  if (file !== '') {
    m.tree.oidc.clientSecretFile = file;
    if (secret !== '') m.note('client_secret', 'ignored: client_secret_file is given and wins, as in oauth2-proxy');
    return;
  }
  m.tree.oidc.clientSecret = m.secretReference('AUTHGATE_CLIENT_SECRET', secret === '' ? undefined : secret);
  if (secret === '') {
    m.note('client_secret', 'not given; authgate needs a confidential client: set AUTHGATE_CLIENT_SECRET to its secret');
  } else {
    m.note('client_secret', 'written as ${AUTHGATE_CLIENT_SECRET}: set that variable to the client secret (it is not printed)');
  }
}

function mapScopes(m: Migration, provider: string): void {
  const scope = m.string('scope');
  const groups = m.list('allowed_groups');
  m.use('allowed_groups'); // the rule itself is mapped in map-access.ts
  const { oidc } = m.tree;
  if (scope !== '') {
    const scopes = scope.split(/[\s,]+/).filter((s) => s !== '');
    if (!scopes.includes('openid')) {
      scopes.unshift('openid');
      m.note('scope', '"openid" added: authgate signs in with OpenID Connect');
    }
    oidc.scopes = scopes;
  } else if (provider === 'google') {
    // Google refuses the offline_access scope; it gives a refresh token for access_type=offline instead.
    oidc.scopes = ['openid', 'email', 'profile'];
  } else if (provider === 'oidc' && groups.length > 0) {
    oidc.scopes = ['openid', 'email', 'profile', 'offline_access', 'groups'];
    m.note('scope', 'not given; "groups" added as oauth2-proxy does for allowed_groups with the oidc provider');
  }
  if (provider === 'google') oidc.extraAuthorizeParams = { access_type: 'offline' };
  const method = m.string('code_challenge_method') || m.string('force_code_challenge_method');
  if (method !== '' && method.toUpperCase() !== 'S256') {
    m.notCarried('code_challenge_method', `authgate always uses PKCE with S256, never "${method}"`);
  }
}

function mapPrompt(m: Migration): void {
  const prompt = m.string('prompt');
  const approval = m.string('approval_prompt');
  if (prompt !== '') {
    m.tree.oidc.prompt = prompt;
    if (approval !== '') m.note('approval_prompt', 'ignored: prompt is given, as in oauth2-proxy');
  } else if (approval !== '' && approval !== 'auto') {
    m.notCarried(
      'approval_prompt',
      `approval_prompt=${approval} is a pre-OpenID-Connect parameter; authgate sends oidc.prompt when set (oidc.prompt: consent shows the consent page at every sign-in)`,
    );
  }
}

function mapClaims(m: Migration): void {
  const { oidc } = m.tree;
  const groupsClaim = m.string('oidc_groups_claim', 'groups');
  if (groupsClaim !== 'groups') oidc.groupsClaim = groupsClaim;
  const emailClaim = m.string('oidc_email_claim', 'email');
  if (emailClaim !== 'email') m.notCarried('oidc_email_claim', `authgate reads the email from the "email" claim only, not "${emailClaim}"`);
  // oauth2-proxy's X-Forwarded-User is the sub, or the email with prefer_email_to_user.
  if (m.bool('prefer_email_to_user', false)) oidc.userClaim = 'email';
  // user_id_claim is the older name of oidc_email_claim in oauth2-proxy, not the user's name.
  const userIdClaim = m.string('user_id_claim', 'email');
  if (userIdClaim !== 'email') {
    m.notCarried(
      'user_id_claim',
      `oauth2-proxy read the email from "${userIdClaim}"; authgate reads the "email" claim (for X-Forwarded-User from "${userIdClaim}", set oidc.userClaim: ${userIdClaim})`,
    );
  }
  if (m.bool('insecure_oidc_allow_unverified_email', false)) oidc.trustUnverifiedEmail = true;
  // Both fill missing claims from the userinfo (profile) endpoint unless told not to.
  if (m.bool('skip_claims_from_profile_url', false)) oidc.userinfo = 'never';
}

function mapBearerTokens(m: Migration): void {
  const skipJwt = m.bool('skip_jwt_bearer_tokens', false);
  if (!skipJwt) return;
  const issuers = m.list('extra_jwt_issuers');
  const audiences = m.list('oidc_extra_audiences');
  m.tree.api.acceptBearerTokens = true;
  const extra = new Set<string>(audiences);
  for (const pair of issuers) {
    const [issuer, audience] = pair.split('=');
    if (issuer !== m.tree.oidc.issuer) {
      m.notCarried('extra_jwt_issuers', `authgate accepts bearer tokens from oidc.issuer only, not from ${issuer}`);
    } else if (audience) {
      extra.add(audience);
    }
  }
  if (extra.size > 0) {
    const clientId = typeof m.tree.oidc.clientId === 'string' ? m.tree.oidc.clientId : undefined;
    m.tree.api.audiences = [...(clientId ? [clientId] : []), ...extra];
  }
  m.use('bearer_token_login_fallback');
}
