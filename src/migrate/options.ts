/**
 * The oauth2-proxy options the converter recognises, as oauth2-proxy names them: the config-file key, the
 * command-line flag and the value type (environment variables are OAUTH2_PROXY_ + the key in capitals).
 * Taken from oauth2-proxy v7's option structs; an option missing here is reported as unknown.
 */

/** How an option's value is written and parsed. */
export type OptionKind = 'string' | 'bool' | 'list' | 'duration' | 'int';

/** One oauth2-proxy option: its config-file key, its flag and the type of its value. */
export interface OptionSpec {
  key: string;
  flag: string;
  kind: OptionKind;
}

const KIND = { s: 'string', b: 'bool', l: 'list', d: 'duration', i: 'int' } as const;

// key flag kind (s string, b bool, l list, d duration, i int)
const TABLE = `
acr_values acr-values s
allow_query_semicolons allow-query-semicolons b
allowed_groups allowed-group l
allowed_roles allowed-role l
api_routes api-route l
approval_prompt approval-prompt s
auth_logging auth-logging b
auth_logging_format auth-logging-format s
auth_request_response_mode auth-request-response-mode s
authenticated_emails_file authenticated-emails-file s
azure_graph_group_field azure-graph-group-field s
azure_tenant azure-tenant s
backend_logout_url backend-logout-url s
banner banner s
basic_auth_password basic-auth-password s
bearer_token_login_fallback bearer-token-login-fallback b
bitbucket_repository bitbucket-repository s
bitbucket_team bitbucket-team s
client_id client-id s
client_secret client-secret s
client_secret_file client-secret-file s
code_challenge_method code-challenge-method s
cookie_csrf_expire cookie-csrf-expire d
cookie_csrf_per_request cookie-csrf-per-request b
cookie_csrf_per_request_limit cookie-csrf-per-request-limit i
cookie_csrf_samesite cookie-csrf-samesite s
cookie_domains cookie-domain l
cookie_expire cookie-expire d
cookie_httponly cookie-httponly b
cookie_name cookie-name s
cookie_path cookie-path s
cookie_refresh cookie-refresh d
cookie_samesite cookie-samesite s
cookie_secret cookie-secret s
cookie_secret_file cookie-secret-file s
cookie_secure cookie-secure b
custom_sign_in_logo custom-sign-in-logo s
custom_templates_dir custom-templates-dir s
disable_keep_alives disable-keep-alives b
display_htpasswd_form display-htpasswd-form b
email_domains email-domain l
encode_state encode-state b
entra_id_allowed_tenants entra-id-allowed-tenant l
entra_id_federated_token_auth entra-id-federated-token-auth b
errors_to_info_log errors-to-info-log b
exclude_logging_paths exclude-logging-path l
extra_jwt_issuers extra-jwt-issuers l
flush_interval flush-interval d
footer footer s
force_code_challenge_method force-code-challenge-method s
force_https force-https b
force_json_errors force-json-errors b
gcp_healthchecks gcp-healthchecks b
github_org github-org s
github_repo github-repo s
github_team github-team s
github_token github-token s
github_users github-user l
gitlab_groups gitlab-group l
gitlab_projects gitlab-project l
google_admin_api_user_scope google-admin-api-user-scope s
google_admin_email google-admin-email s
google_group google-group l
google_groups google-group l
google_service_account_json google-service-account-json s
google_target_principal google-target-principal s
google_use_application_default_credentials google-use-application-default-credentials b
google_use_organization_id google-use-organization-id b
htpasswd_file htpasswd-file s
htpasswd_user_groups htpasswd-user-group l
http_address http-address s
https_address https-address s
insecure_oidc_allow_unverified_email insecure-oidc-allow-unverified-email b
insecure_oidc_skip_issuer_verification insecure-oidc-skip-issuer-verification b
insecure_oidc_skip_nonce insecure-oidc-skip-nonce b
jwt_key jwt-key s
jwt_key_file jwt-key-file s
keycloak_groups keycloak-group l
logging_compress logging-compress b
logging_filename logging-filename s
logging_local_time logging-local-time b
logging_max_age logging-max-age i
logging_max_backups logging-max-backups i
logging_max_size logging-max-size i
login_url login-url s
metrics_address metrics-address s
metrics_secure_address metrics-secure-address s
metrics_tls_cert_file metrics-tls-cert-file s
metrics_tls_key_file metrics-tls-key-file s
oidc_audience_claims oidc-audience-claim l
oidc_email_claim oidc-email-claim s
oidc_enabled_signing_algs oidc-enabled-signing-alg l
oidc_extra_audiences oidc-extra-audience l
oidc_groups_claim oidc-groups-claim s
oidc_issuer_url oidc-issuer-url s
oidc_jwks_url oidc-jwks-url s
oidc_public_key_files oidc-public-key-file l
pass_access_token pass-access-token b
pass_authorization_header pass-authorization-header b
pass_basic_auth pass-basic-auth b
pass_host_header pass-host-header b
pass_user_headers pass-user-headers b
ping_path ping-path s
ping_user_agent ping-user-agent s
prefer_email_to_user prefer-email-to-user b
profile_url profile-url s
prompt prompt s
provider provider s
provider_ca_files provider-ca-file l
provider_display_name provider-display-name s
proxy_prefix proxy-prefix s
proxy_websockets proxy-websockets b
pubjwk_url pubjwk-url s
ready_path ready-path s
real_client_ip_header real-client-ip-header s
redeem_url redeem-url s
redirect_url redirect-url s
redis_ca_path redis-ca-path s
redis_cluster_connection_urls redis-cluster-connection-urls l
redis_connection_idle_timeout redis-connection-idle-timeout i
redis_connection_url redis-connection-url s
redis_insecure_skip_tls_verify redis-insecure-skip-tls-verify b
redis_password redis-password s
redis_sentinel_connection_urls redis-sentinel-connection-urls l
redis_sentinel_master_name redis-sentinel-master-name s
redis_sentinel_password redis-sentinel-password s
redis_use_cluster redis-use-cluster b
redis_use_sentinel redis-use-sentinel b
redis_username redis-username s
relative_redirect_url relative-redirect-url b
request_id_header request-id-header s
request_logging request-logging b
request_logging_format request-logging-format s
resource resource s
reverse_proxy reverse-proxy b
scope scope s
session_cookie_minimal session-cookie-minimal b
session_store_type session-store-type s
set_authorization_header set-authorization-header b
set_basic_auth set-basic-auth b
set_xauthrequest set-xauthrequest b
show_debug_on_error show-debug-on-error b
signature_key signature-key s
silence_ping_logging silence-ping-logging b
skip_auth_preflight skip-auth-preflight b
skip_auth_regex skip-auth-regex l
skip_auth_routes skip-auth-route l
skip_auth_strip_headers skip-auth-strip-headers b
skip_claims_from_profile_url skip-claims-from-profile-url b
skip_jwt_bearer_tokens skip-jwt-bearer-tokens b
skip_oidc_discovery skip-oidc-discovery b
skip_provider_button skip-provider-button b
ssl_insecure_skip_verify ssl-insecure-skip-verify b
ssl_upstream_insecure_skip_verify ssl-upstream-insecure-skip-verify b
standard_logging standard-logging b
standard_logging_format standard-logging-format s
tls_cert_file tls-cert-file s
tls_cipher_suites tls-cipher-suite l
tls_key_file tls-key-file s
tls_min_version tls-min-version s
trusted_ips trusted-ip l
trusted_proxy_ips trusted-proxy-ip l
upstream_timeout upstream-timeout d
upstreams upstream l
use_system_trust_store use-system-trust-store b
user_id_claim user-id-claim s
validate_url validate-url s
whitelist_domains whitelist-domain l
`;

/** Every recognised option, by config-file key. */
export const OPTIONS: ReadonlyMap<string, OptionSpec> = new Map(
  TABLE.trim()
    .split('\n')
    .map((line) => {
      const [key = '', flag = '', kind = 's'] = line.split(' ');
      return [key, { key, flag, kind: KIND[kind as keyof typeof KIND] }];
    }),
);

/** Flag name → config-file key; google-group is one flag for two keys, and the plural key is today's. */
export const FLAG_TO_KEY: ReadonlyMap<string, string> = new Map(
  [...OPTIONS.values()].filter((o) => o.key !== 'google_group').map((o) => [o.flag, o.key]),
);
