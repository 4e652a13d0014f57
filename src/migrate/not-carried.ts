/**
 * Why the options no mapping step reads are not carried over. An option given with a value that changes
 * nothing (false for a flag, an empty list) is not worth a line.
 */
import type { Migration } from './migration.js';

/** oauth2-proxy's jwt_key signs login.gov's client assertions; login.gov itself is not converted (map-provider.ts). */
const LOGIN_GOV_KEY = 'the key of oauth2-proxy\'s login.gov provider, which this converter refuses; for a provider that takes private_key_jwt set oidc.clientAuthMethod: private_key_jwt with the key in clientPrivateKeyFile (and clientAssertionAudience: tokenEndpoint where the provider wants its token endpoint as aud, as login.gov does); see docs/fapi.md';
const LOGGING = 'authgate logs JSON lines to stdout (one per request, with user and remoteAddr); LOG_LEVEL or server.logLevel sets the level';
const DISCOVERY = 'authgate discovers every endpoint and key from the issuer\'s metadata';
const GOOGLE_ADMIN = 'authgate does not call the Google Admin SDK';
const REFUSED_TLS = 'refused: authgate always verifies certificates (give a private CA with NODE_EXTRA_CA_CERTS)';

/** Option → why authgate does not carry it. */
export const NOT_CARRIED_REASONS: Readonly<Record<string, string>> = {
  ssl_insecure_skip_verify: REFUSED_TLS,
  provider_ca_files: 'give the CA with NODE_EXTRA_CA_CERTS',
  use_system_trust_store: 'Node.js uses the system CAs plus NODE_EXTRA_CA_CERTS',
  insecure_oidc_skip_issuer_verification: 'refused: authgate checks that the ID token\'s iss is oidc.issuer',
  insecure_oidc_skip_nonce: 'authgate always checks the nonce',
  skip_oidc_discovery: DISCOVERY,
  login_url: DISCOVERY,
  redeem_url: DISCOVERY,
  profile_url: DISCOVERY,
  validate_url: DISCOVERY,
  oidc_jwks_url: DISCOVERY,
  oidc_public_key_files: DISCOVERY,
  pubjwk_url: DISCOVERY,
  oidc_audience_claims: 'authgate checks the standard aud claim',
  oidc_extra_audiences: 'authgate accepts ID tokens for oidc.clientId only (extra audiences are for api.audiences with skip_jwt_bearer_tokens)',
  oidc_enabled_signing_algs: 'authgate accepts the algorithms the provider publishes',
  acr_values: 'send it with oidc.extraAuthorizeParams: { acr_values: ... } if the provider needs it',
  resource: 'send it with oidc.extraAuthorizeParams: { resource: ... } if the provider needs it',
  auth_request_response_mode: 'authgate uses the default response mode (query)',
  jwt_key: LOGIN_GOV_KEY,
  jwt_key_file: LOGIN_GOV_KEY,
  entra_id_federated_token_auth: 'workload-identity client authentication is not supported; use a client secret',
  entra_id_allowed_tenants: 'a tenant-specific oidc.issuer admits that tenant only',
  azure_graph_group_field: 'authgate reads groups from the groups claim, not from Microsoft Graph',
  google_use_organization_id: GOOGLE_ADMIN,
  google_admin_email: GOOGLE_ADMIN,
  google_admin_api_user_scope: GOOGLE_ADMIN,
  google_service_account_json: GOOGLE_ADMIN,
  google_target_principal: GOOGLE_ADMIN,
  google_use_application_default_credentials: GOOGLE_ADMIN,
  github_token: 'authgate does not call the GitHub API',
  htpasswd_file: 'authgate has no local users: every user signs in at the provider',
  htpasswd_user_groups: 'authgate has no local users',
  display_htpasswd_form: 'authgate has no local users',
  backend_logout_url: 'authgate uses the provider\'s end_session_endpoint from its metadata at sign-out',
  show_debug_on_error: 'authgate error pages never show details',
  force_json_errors: 'authgate answers JSON to every request whose Accept does not name text/html',
  force_https: 'redirect http to https in front of authgate (ingress, load balancer)',
  relative_redirect_url: 'authgate builds its redirect URI from server.publicUrl',
  ping_path: 'authgate answers /ping and /ready at fixed paths',
  ready_path: 'authgate answers /ping and /ready at fixed paths',
  ping_user_agent: 'authgate answers /ping and /ready at fixed paths',
  gcp_healthchecks: 'point the health check at /ping',
  signature_key: 'GAP-Signature request signing is not supported',
  encode_state: 'authgate keeps the login state in an encrypted cookie of its own',
  allow_query_semicolons: 'authgate passes the query as received',
  session_cookie_minimal: 'authgate keeps the tokens it needs to refresh and forward',
  request_id_header: 'authgate makes its own request id (reqId in each log line)',
  cookie_csrf_per_request: 'authgate keeps each login in a transaction cookie of its own',
  cookie_csrf_per_request_limit: 'authgate caps the open logins itself',
  cookie_csrf_expire: 'authgate\'s login transaction lasts a fixed few minutes',
  cookie_csrf_samesite: 'authgate\'s login transaction cookie is SameSite=Lax',
  standard_logging: LOGGING,
  standard_logging_format: LOGGING,
  auth_logging: LOGGING,
  auth_logging_format: LOGGING,
  request_logging: LOGGING,
  request_logging_format: LOGGING,
  logging_filename: LOGGING,
  logging_max_size: LOGGING,
  logging_max_age: LOGGING,
  logging_max_backups: LOGGING,
  logging_local_time: LOGGING,
  logging_compress: LOGGING,
  exclude_logging_paths: LOGGING,
  silence_ping_logging: LOGGING,
  errors_to_info_log: LOGGING,
};

/** Options whose oauth2-proxy default is true: only `false` changes anything. */
const TRUE_BY_DEFAULT = new Set(['insecure_oidc_skip_nonce', 'standard_logging', 'auth_logging', 'request_logging', 'logging_local_time', 'logging_compress']);

/** Reports every given option that no mapping step read, unless its value changes nothing. */
export function reportUnused(m: Migration): void {
  for (const key of m.unused()) {
    const value = m.options.values.get(key);
    if (value === '' || (Array.isArray(value) && value.length === 0)) continue;
    if (typeof value === 'boolean' && value === TRUE_BY_DEFAULT.has(key)) continue;
    m.notCarried(key, NOT_CARRIED_REASONS[key] ?? 'authgate has no equivalent');
  }
  for (const name of m.options.unknown) m.notCarried(name, 'not an oauth2-proxy option this converter knows (misspelt, or from a newer release)');
}
