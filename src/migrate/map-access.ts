/**
 * Who may pass: email domains, the authenticated-emails file and groups → the `defaults.allow` rule every
 * upstream inherits. oauth2-proxy admits nobody without an email rule and everybody with "*"; the output
 * never widens that quietly: "*" is said in a comment and on stderr, and a restriction authgate cannot
 * express fails the run instead of vanishing.
 */
import { readFileSync } from 'node:fs';
import type { Migration, Tree } from './migration.js';

/** Restrictions oauth2-proxy enforced that authgate cannot: dropping one would admit users it refused. */
const RESTRICTIONS: Record<string, string> = {
  github_org: 'GitHub organisations are checked through the GitHub API, which authgate does not call',
  github_team: 'GitHub teams are checked through the GitHub API, which authgate does not call',
  github_repo: 'GitHub repository access is checked through the GitHub API, which authgate does not call',
  github_users: 'GitHub user names come from the GitHub API, which authgate does not call',
  gitlab_projects: 'GitLab project membership is checked through the GitLab API, which authgate does not call',
  bitbucket_team: 'Bitbucket teams are checked through the Bitbucket API, which authgate does not call',
  bitbucket_repository: 'Bitbucket repositories are checked through the Bitbucket API, which authgate does not call',
  allowed_roles:
    'Keycloak roles sit in realm_access/resource_access, which authgate does not read; add a mapper that puts them in the groups claim and list them in defaults.allow.groups',
};

/** Maps the email and group rules into `defaults` (auth: required, allow: {...}). */
export function mapAccess(m: Migration): void {
  const allow: Tree = {};
  const domains = m.list('email_domains').map((d) => d.replace(/^@/, ''));
  const everyone = domains.includes('*');
  const emails = readEmailsFile(m);
  const groups = [...m.list('allowed_groups'), ...m.list('keycloak_groups'), ...m.list('gitlab_groups')];
  const googleGroups = m.list('google_groups');
  if (googleGroups.length > 0) {
    groups.push(...googleGroups);
    m.note(
      'google_groups',
      'kept in defaults.allow.groups, but Google ID tokens carry no groups: nobody passes until the provider sends a groups claim (oauth2-proxy asked the Admin SDK)',
    );
    m.use('google_admin_email', 'google_service_account_json', 'google_use_application_default_credentials', 'google_target_principal', 'google_admin_api_user_scope');
  }

  if (everyone) {
    if (emails.length > 0) m.note('authenticated_emails_file', 'redundant: email_domains "*" admits every address');
  } else {
    const exact = domains.filter((d) => !d.includes('*') && !d.startsWith('.'));
    const wildcard = domains.filter((d) => !exact.includes(d));
    for (const domain of wildcard) {
      m.notCarried('email_domains', `"${domain}" (subdomains): authgate matches the domain after "@" exactly; list each subdomain`);
    }
    if (exact.length > 0) allow.emailDomains = exact;
    if (emails.length > 0) mapEmails(m, allow, emails, exact);
    if (exact.length === 0 && emails.length === 0) {
      // An empty rule would admit everybody: fail instead.
      m.problem(
        'email_domains',
        wildcard.length > 0
          ? 'no domain or address is left to admit by; list the subdomains in defaults.allow.emailDomains'
          : 'neither email_domains nor authenticated_emails_file admits anyone (oauth2-proxy refuses to start so)',
      );
    }
  }
  if (groups.length > 0) allow.groups = groups;
  const provider = m.string('provider', 'google');
  if (groups.length > 0 && (provider === 'entra-id' || provider === 'azure')) {
    m.note('allowed_groups', 'Entra ID puts group object ids in the groups claim (add it under Token configuration) and leaves it out past 200 groups; authgate does not ask Microsoft Graph');
  }
  for (const [option, why] of Object.entries(RESTRICTIONS)) {
    if (m.has(option)) m.problem(option, `${why}; without it the migrated gateway would admit users oauth2-proxy refused`);
    m.use(option);
  }
  if (everyone && Object.keys(allow).length === 0) {
    allow.anyAuthenticatedUser = true;
    m.comments.set(
      'defaults.allow',
      ' oauth2-proxy had email_domains = ["*"]: every user who can sign in at the provider passes.\n Kept on purpose; narrow it with emailDomains, emails or groups.',
    );
    m.note('email_domains', '"*" carried as defaults.allow.anyAuthenticatedUser: true: every user who signs in at the provider passes, as before; narrow it if that was not meant');
  }
  m.tree.defaults.auth = 'required';
  m.tree.defaults.allow = allow;
}

/** oauth2-proxy admits an address from the file OR a listed domain; authgate's lists must all pass. */
function mapEmails(m: Migration, allow: Tree, emails: string[], domains: string[]): void {
  if (domains.length === 0) {
    allow.emails = emails;
    return;
  }
  const outside = emails.filter((e) => !domains.includes(e.slice(e.lastIndexOf('@') + 1).toLowerCase()));
  if (outside.length > 0) {
    m.notCarried(
      'authenticated_emails_file',
      `${outside.length} address${outside.length === 1 ? '' : 'es'} outside email_domains (${outside.join(', ')}): authgate's allow lists must all pass, so they are refused; give them a group or an upstream of their own`,
    );
  }
}

function readEmailsFile(m: Migration): string[] {
  const file = m.string('authenticated_emails_file');
  if (file === '') return [];
  try {
    return readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
  } catch (err) {
    m.problem('authenticated_emails_file', `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return [];
  }
}
