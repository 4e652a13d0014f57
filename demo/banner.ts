/**
 * The text `npm run demo` prints once everything is up: where to go, who can sign in at which provider and
 * what each may open (worked out from config/demo.yaml's policy, so it cannot drift from it), and the
 * admin API's curl lines for alice's sessions.
 */
import type { Config } from '../src/config/schema.js';
import { evaluatePolicy } from '../src/policy/evaluate.js';
import type { IdpUser } from '../test/helpers/idp.js';
import type { RunningDemo } from './run.js';
import { demoUsersByProvider } from './users.js';

/** The user whose sessions the banner's admin lines list and end. */
export const ADMIN_EXAMPLE_USER = 'alice';

/** The text `npm run demo` prints once everything is up. */
export function demoBanner(demo: RunningDemo): string {
  const { config } = demo;
  const names = new Map(config.providers.map((p) => [p.id, p.name]));
  const everyone = config.providers.flatMap((p) => demoUsersByProvider[p.id] ?? []);
  const width = Math.max(...everyone.map((u) => u.preferredUsername.length));
  const providers = config.providers.flatMap((provider) => [
    `    at ${provider.name} (${demo.idpUrls[provider.id] ?? provider.issuer}):`,
    ...(demoUsersByProvider[provider.id] ?? []).map((user) => {
      const groups = `groups: ${user.groups.join(', ')}`;
      return `      ${user.preferredUsername.padEnd(width)}  ${groups.padEnd(24)} ${whatTheyMayOpen(config, provider.id, user, names)}`;
    }),
  ]);
  const auth = `-H "Authorization: Bearer ${demo.adminToken}"`;
  const sessions = `${demo.adminUrl}/admin/sessions?user=${ADMIN_EXAMPLE_USER}`;
  const store =
    config.session.store === 'redis'
      ? [`  Sessions are kept in Redis${demo.redisUrl ? ` (a redis-server the demo started, ${demo.redisUrl})` : ''}.`]
      : [
          '  Sessions are kept in the cookie, so listing them answers 501: that needs the Redis store (install',
          '  redis-server and the demo starts one). Ending them works (in this process).',
        ];
  return [
    '',
    'authgate demo is running.',
    '',
    `  Open ${demo.url}/ in a browser and choose ${config.providers.map((p) => p.name).join(' or ')}.`,
    '',
    '  Sign in with any password as:',
    ...providers,
    '',
    `  Staff area:  ${demo.url}/admin     Partner area: ${demo.url}/partners`,
    `  Sign out:    ${demo.url}/oauth2/sign_out`,
    `  The legacy app itself (no login; it only shows what the gateway forwards): ${demo.appUrl}/`,
    '',
    ...store,
    `  The admin API (${demo.adminUrl}, this machine only) takes the token made at this start:`,
    `    ${demo.adminToken}`,
    `  List ${ADMIN_EXAMPLE_USER}'s sessions:`,
    `    curl -s ${auth} "${sessions}"`,
    `  End them (${ADMIN_EXAMPLE_USER}'s browser is signed out at its next request):`,
    `    curl -s -X DELETE ${auth} "${sessions}"`,
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n');
}

/** "opens /, /admin; 403 on ...; /partners: sign in at Partners" for one user of one provider. */
function whatTheyMayOpen(config: Config, providerId: string, user: IdpUser, names: Map<string, string>): string {
  const identity = { sub: user.sub, email: user.email, preferredUsername: user.preferredUsername, groups: user.groups, claims: {} };
  const opens: string[] = [];
  const refused: string[] = [];
  const elsewhere: string[] = [];
  const routes = config.upstreams.filter((u) => u.auth !== 'public' && u.host === undefined).sort((a, b) => a.path.localeCompare(b.path));
  for (const route of routes) {
    if (route.providers && !route.providers.includes(providerId)) {
      elsewhere.push(`${route.path}: sign in at ${route.providers.map((id) => names.get(id) ?? id).join(' or ')}`);
    } else if (evaluatePolicy(route.auth, route.allow, identity).allow) opens.push(route.path);
    else refused.push(route.path);
  }
  return [
    opens.length ? `opens ${opens.join(', ')}` : '',
    refused.length ? `gets 403 on ${refused.join(', ')}` : '',
    ...elsewhere,
  ]
    .filter(Boolean)
    .join('; ');
}
