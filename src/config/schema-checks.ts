/**
 * The checks that involve more than one field: an http issuer, cookie prefixes, timeouts that contradict
 * each other, listeners that collide, upstreams that share a name or a route.
 */
import type { z } from 'zod';
import { canonicalPrefix } from '../url/normalise-path.js';
import { checkClientCredentials, type ClientAuthKeys } from './schema-client-auth.js';
import type { Shape } from './schema-shape.js';
import { parseUrl } from './schema-types.js';

type IssuePath = readonly PropertyKey[];

/**
 * Whether nothing was reported at `path`, inside it or above it, so a cross-field check may read the value
 * there. An unknown key says nothing about its neighbours' values and does not count.
 */
function parsedCleanly(issues: readonly z.core.$ZodRawIssue[], path: IssuePath): boolean {
  return issues.every((issue) => {
    if (issue.code === 'unrecognized_keys') return true;
    const at = issue.path ?? [];
    const shared = Math.min(at.length, path.length);
    return at.slice(0, shared).some((part, i) => part !== path[i]);
  });
}

/**
 * Checks that involve more than one field. They run even when other fields are invalid, so one `--check`
 * reports every problem at once; each check reads only values that parsed cleanly (the rest of `config`
 * may still hold raw input, whatever its static type says).
 */
export function checkAcrossFields(config: Shape, ctx: z.core.$RefinementCtx<Shape>): void {
  if (typeof config !== 'object' || config === null) return; // the file's top level is reported already
  const issuesBefore = [...ctx.issues];
  const clean = (...paths: IssuePath[]) => paths.every((path) => parsedCleanly(issuesBefore, path));

  checkProviders(config, clean, ctx);
  if (clean(['session', 'cookieName'], ['server', 'publicUrl'])) {
    const name = config.session.cookieName;
    if (name !== undefined && /^__(Host|Secure)-/i.test(name) && !config.server.publicUrl.startsWith('https:')) {
      ctx.addIssue({
        code: 'custom',
        path: ['session', 'cookieName'],
        message: 'browsers only accept __Host- and __Secure- cookies over https; publicUrl is http',
      });
    }
  }
  if (
    clean(['server', 'shutdownDelay'], ['server', 'shutdownGrace']) &&
    config.server.shutdownDelay !== undefined &&
    config.server.shutdownDelay >= config.server.shutdownGrace
  ) {
    ctx.addIssue({ code: 'custom', path: ['server', 'shutdownDelay'], message: 'must be shorter than server.shutdownGrace' });
  }
  if (
    clean(['server', 'headersTimeout'], ['server', 'requestTimeout']) &&
    config.server.requestTimeout > 0 &&
    config.server.headersTimeout > config.server.requestTimeout
  ) {
    ctx.addIssue({ code: 'custom', path: ['server', 'headersTimeout'], message: 'must not be longer than server.requestTimeout' });
  }
  if (clean(['session', 'idleTimeout'], ['session', 'absoluteTimeout']) && config.session.absoluteTimeout < config.session.idleTimeout) {
    ctx.addIssue({ code: 'custom', path: ['session', 'absoluteTimeout'], message: 'must not be shorter than session.idleTimeout' });
  }
  if (clean(['server', 'listen'], ['server', 'metricsListen']) && config.server.metricsListen !== '') {
    if (sameSocket(config.server.listen, config.server.metricsListen)) {
      ctx.addIssue({ code: 'custom', path: ['server', 'metricsListen'], message: 'must differ from server.listen (or be "" to serve /metrics there)' });
    }
  }
  if (clean(['server', 'listen'], ['server', 'metricsListen'], ['admin', 'listen']) && config.admin.listen !== '') {
    const { listen: main, metricsListen } = config.server;
    if (sameSocket(main, config.admin.listen) || (metricsListen !== '' && sameSocket(metricsListen, config.admin.listen))) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'listen'], message: 'must differ from server.listen and server.metricsListen' });
    }
  }
  if (Array.isArray(config.upstreams)) checkUpstreamsApart(config.upstreams, clean, ctx);
}

/**
 * Exactly one of `oidc` and `providers`; provider ids and issuers unique (a callback, a logout token and a
 * bearer token are routed by their issuer, so two providers may not share one); http issuers only when
 * allowed; an upstream's `providers` names configured ones.
 */
function checkProviders(config: Shape, clean: (...paths: IssuePath[]) => boolean, ctx: z.core.$RefinementCtx<Shape>): void {
  if (config.oidc !== undefined && config.providers !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['providers'], message: 'give either oidc: (one provider) or providers: (several), not both' });
    return;
  }
  if (config.oidc === undefined && config.providers === undefined) {
    ctx.addIssue({ code: 'custom', path: ['oidc'], message: 'required: the identity provider (or providers: for several)' });
    return;
  }
  const entries: Array<[IssuePath, { issuer: string; allowInsecureHttp: boolean; id?: string } & ClientAuthKeys]> = config.oidc
    ? [[['oidc'], config.oidc]]
    : (Array.isArray(config.providers) ? config.providers : []).map((provider, index) => [['providers', index], provider]);
  const ids = new Map<string, number>();
  const issuers = new Map<string, number>();
  entries.forEach(([at, provider], index) => {
    checkClientCredentials(at, provider, clean, ctx as z.core.$RefinementCtx<never>);
    if (clean([...at, 'issuer'], [...at, 'allowInsecureHttp']) && parseUrl(provider.issuer)?.protocol === 'http:' && !provider.allowInsecureHttp) {
      ctx.addIssue({
        code: 'custom',
        path: [...at, 'issuer'],
        message: `an http:// issuer is refused; use https, or set ${at.join('.').replace(/\.(\d+)$/, '[$1]')}.allowInsecureHttp: true for local development only`,
      });
    }
    if (provider.id !== undefined && clean([...at, 'id'])) {
      const same = ids.get(provider.id);
      if (same !== undefined) ctx.addIssue({ code: 'custom', path: [...at, 'id'], message: `duplicates providers[${same}].id` });
      ids.set(provider.id, index);
    }
    if (config.providers && clean([...at, 'issuer'])) {
      const same = issuers.get(provider.issuer.replace(/\/$/, ''));
      if (same !== undefined) {
        ctx.addIssue({ code: 'custom', path: [...at, 'issuer'], message: `duplicates providers[${same}].issuer: tokens and logouts are matched to a provider by issuer` });
      }
      issuers.set(provider.issuer.replace(/\/$/, ''), index);
    }
  });
  if (!Array.isArray(config.upstreams)) return;
  const known = config.oidc ? new Set(['default']) : new Set(ids.keys());
  config.upstreams.forEach((upstream, index) => {
    if (!clean(['upstreams', index, 'providers']) || upstream.providers === undefined) return;
    upstream.providers.forEach((id, at) => {
      if (!known.has(id)) {
        ctx.addIssue({ code: 'custom', path: ['upstreams', index, 'providers', at], message: `no provider has the id "${id}" (known: ${[...known].join(', ')})` });
      }
    });
  });
}

/** Two upstreams may share neither a name nor a host and path (the second could never be reached). */
function checkUpstreamsApart(
  upstreams: Shape['upstreams'],
  clean: (...paths: IssuePath[]) => boolean,
  ctx: z.core.$RefinementCtx<Shape>,
): void {
  const names = new Map<string, number>();
  const routes = new Map<string, number>();
  upstreams.forEach((upstream, index) => {
    const at = (field: string) => ['upstreams', index, field];
    if (clean(at('name'))) {
      const sameName = names.get(upstream.name);
      if (sameName !== undefined) {
        ctx.addIssue({ code: 'custom', path: at('name'), message: `duplicates upstreams[${sameName}].name` });
      }
      names.set(upstream.name, index);
    }
    if (clean(at('host'), at('path'))) {
      // The route table compares canonical paths case-insensitively, so "/API", "/api/" and "/%61pi" are one route.
      const key = `${upstream.host ?? '*'} ${(canonicalPrefix(upstream.path) ?? upstream.path).toLowerCase()}`;
      const sameRoute = routes.get(key);
      if (sameRoute !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: at('path'),
          message: `upstreams[${sameRoute}] already has this host and path; one of them would never be reached`,
        });
      }
      routes.set(key, index);
    }
  });
}

/** Whether two listen addresses would bind the same port on an overlapping address. */
function sameSocket(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const any = (host: string) => host === '0.0.0.0' || host === '::' || host === '';
  return a.host === b.host || any(a.host) || any(b.host);
}
