/**
 * skip_auth_routes and skip_auth_regex → `auth: public` upstream routes. A route is carried only when its
 * regex is an anchored literal path prefix (`^/public/`, `^/static/.*`, `^/api/v1\.0/`), the one shape an
 * authgate path prefix means exactly; anything else (a method, a negation, `$`, a wildcard inside the
 * path) is reported and the path stays signed-in only, so nothing is opened by guess.
 */
import type { Migration, Tree } from './migration.js';

/** The literal path a regex is an anchored prefix of, or undefined when it is not one. */
export function literalPrefix(regex: string): string | undefined {
  if (!regex.startsWith('^')) return undefined;
  let body = regex.slice(1);
  // "anything after" adds nothing to a prefix
  for (const tail of ['.*', '(.*)', '(/.*)?', '.*$']) {
    if (body.endsWith(tail) && !body.endsWith(`\\${tail}`)) body = body.slice(0, -tail.length);
  }
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c === '\\') {
      const next = body[++i];
      // Only an escaped punctuation character is a literal; \d, \w, \s … are classes.
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined;
      out += next;
    } else if ('.^$*+?()[]{}|'.includes(c)) {
      return undefined;
    } else {
      out += c;
    }
  }
  return out.startsWith('/') ? out : undefined;
}

/** One skip-auth entry as oauth2-proxy reads it: `[METHOD][!]=regex` or a bare regex. */
function parseRoute(route: string): { method: string; negate: boolean; regex: string } {
  const m = /^([A-Za-z]*)(!?)=(.*)$/.exec(route);
  if (!m) return { method: '', negate: false, regex: route };
  return { method: m[1] ?? '', negate: m[2] === '!', regex: m[3] ?? '' };
}

/**
 * Adds an `auth: public` upstream for each carried route (or marks an upstream public when the route is
 * its whole path); `routes` are the upstreams from oauth2-proxy's list, with their oauth2-proxy paths.
 */
export function mapSkipAuthRoutes(m: Migration, upstreams: Array<{ path: string; entry: Tree }>): void {
  const entries = [
    ...m.list('skip_auth_routes').map((route) => ({ option: 'skip_auth_routes', route })),
    ...m.list('skip_auth_regex').map((route) => ({ option: 'skip_auth_regex', route })),
  ];
  const taken = new Set<string>();
  for (const { option, route } of entries) {
    const { method, negate, regex } = parseRoute(route);
    if (negate) {
      m.notCarried(option, `"${route}": a negated route has no authgate equivalent; the paths stay signed-in only`);
      continue;
    }
    if (method !== '') {
      m.notCarried(option, `"${route}": authgate's public routes are for every method; the path stays signed-in only (add an upstream with auth: public if every method may pass)`);
      continue;
    }
    const path = literalPrefix(regex);
    if (path === undefined) {
      m.notCarried(option, `"${route}" is not a plain path prefix (^/literal/path); the paths it matched stay signed-in only: add an upstream with auth: public for each prefix that may pass`);
      continue;
    }
    const owner = upstreams
      .filter((u) => path.startsWith(u.path) || `${path}/` === u.path)
      .sort((a, b) => b.path.length - a.path.length)[0];
    if (!owner) {
      m.notCarried(option, `"${route}": no upstream serves ${path}`);
      continue;
    }
    const key = path.replace(/\/$/, '') || '/';
    if (taken.has(key)) continue;
    taken.add(key);
    if (key === (owner.path.replace(/\/$/, '') || '/')) {
      owner.entry.auth = 'public';
      continue;
    }
    const name = `${String(owner.entry.name)}-public-${taken.size}`;
    m.tree.upstreams.push({ ...owner.entry, name, path, auth: 'public' });
  }
}
