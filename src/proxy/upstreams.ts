/**
 * The route table: upstreams ordered longest path prefix first and, for equal prefixes, host-specific
 * before any-host. Matching is on segment boundaries (`/public` matches `/public/x`, not `/publicity`),
 * ignores case and `;params` in segments, so a case-insensitive or Tomcat-like upstream cannot be reached
 * under a shorter, weaker route by spelling the path differently. The table is replaced whole on a config
 * reload; a request keeps the upstream it was routed to.
 */
import type { UpstreamConfig } from '../config/schema.js';
import { canonicalHost, type CanonicalHost } from '../url/host.js';
import { buildHeaderInjector, type HeaderInjector } from './headers.js';
import { canonicalPrefix } from '../url/normalise-path.js';

/** One upstream, ready for matching and proxying. */
export interface CompiledUpstream {
  /** Position in the configuration. */
  index: number;
  name: string;
  config: UpstreamConfig;
  /** The canonical (decoded) prefix, lower-cased, without trailing slash ("/" for the root). */
  matchPrefix: string;
  /** Number of path segments in the prefix (what stripPrefix removes). */
  prefixSegments: number;
  /** The upstream URL's origin, or undefined for a forward-auth-only upstream. */
  origin: string | undefined;
  /** The upstream URL's path without a trailing slash ("" for the root). */
  basePath: string;
  /** Adds identity, token and forwarding headers for this upstream (built once). */
  injectHeaders: HeaderInjector;
  /** How this upstream's own token is asked for (`accessToken` resource, audience, scopes); undefined: the session's. */
  tokenAsk: OwnTokenAsk | undefined;
}

/** An upstream's own token request, made once from its `accessToken` settings. */
export interface OwnTokenAsk {
  resource: string | undefined;
  audience: string | undefined;
  scopes: readonly string[] | undefined;
  /** The three as one string: a cached token asked with other settings (a reload) is not used. */
  key: string;
}

/** The ask of an upstream that sends a token of its own; undefined when it sends the session's or none. */
function ownTokenAsk(config: UpstreamConfig): OwnTokenAsk | undefined {
  const { resource, audience, scopes } = config.accessToken;
  if ((resource === undefined && audience === undefined && scopes === undefined) || config.auth === 'public' || !config.forwardAccessToken) return undefined;
  return { resource, audience, scopes, key: JSON.stringify([resource ?? null, audience ?? null, scopes ?? null]) };
}

/** The current routes: the ordered table and the claims policies need kept in sessions. */
export interface Routes {
  upstreams: CompiledUpstream[];
  claimNames: string[];
  /** The RFC 8707 resources upstreams get tokens for by refresh grant, with the providers they accept (all: undefined). */
  tokenResources: Array<{ resource: string; providers: readonly string[] | undefined }>;
}

/** The resources a login at provider `id` asks for (one `resource=` each), so that later refresh grants may name them. */
export function resourcesFor(routes: Routes, id: string): string[] {
  const wanted: string[] = [];
  for (const { resource, providers } of routes.tokenResources) {
    if ((providers === undefined || providers.includes(id)) && !wanted.includes(resource)) wanted.push(resource);
  }
  return wanted;
}

/** Holds the routes; `replace` swaps them in one assignment (config reload). */
export class RouteTable {
  current: Routes;
  constructor(upstreams: readonly UpstreamConfig[], private readonly publicUrl: string) {
    this.current = this.compile(upstreams);
  }

  /** Replaces every route at once. */
  replace(upstreams: readonly UpstreamConfig[]): void {
    this.current = this.compile(upstreams);
  }

  private compile(upstreams: readonly UpstreamConfig[]): Routes {
    return {
      upstreams: compileUpstreams(upstreams, this.publicUrl),
      claimNames: [...new Set(upstreams.flatMap((u) => Object.keys(u.allow.claims)))],
      // A token exchange (audience) needs nothing granted at login; a refresh grant for a resource does.
      tokenResources: upstreams.flatMap(({ accessToken: { resource, audience }, providers }) =>
        resource !== undefined && audience === undefined ? [{ resource, providers }] : [],
      ),
    };
  }
}

/** Orders and compiles the configured upstreams. */
export function compileUpstreams(upstreams: readonly UpstreamConfig[], publicUrl = 'http://localhost'): CompiledUpstream[] {
  return upstreams
    .map((config, index) => {
      // Canonical like request paths, so "/%40admin", "/café" or "/a//b" match what requests turn into (the
      // schema refused a path with no canonical form).
      const matchPrefix = (canonicalPrefix(config.path) ?? config.path).toLowerCase();
      const url = config.url ? new URL(config.url) : undefined;
      return {
        index,
        name: config.name,
        config,
        matchPrefix,
        prefixSegments: matchPrefix === '/' ? 0 : matchPrefix.split('/').length - 1,
        origin: url?.origin,
        basePath: url ? url.pathname.replace(/\/$/, '') : '',
        injectHeaders: buildHeaderInjector(config, publicUrl),
        tokenAsk: ownTokenAsk(config),
      };
    })
    .sort((a, b) => b.matchPrefix.length - a.matchPrefix.length || Number(b.config.host !== undefined) - Number(a.config.host !== undefined) || a.index - b.index);
}

/**
 * The first upstream matching the Host header and the canonical (decoded) path, or undefined. The Host is
 * compared in canonical form (lower case, one trailing dot removed, port apart); one that cannot name a host
 * matches nothing, not even an any-host upstream (the route step refuses it with 400 before this).
 */
export function matchUpstream(table: readonly CompiledUpstream[], host: string | undefined, path: string): CompiledUpstream | undefined {
  const canonical = canonicalHost(host);
  return canonical === null ? undefined : matchCanonical(table, canonical, path);
}

/** matchUpstream for a Host already in canonical form (undefined: the request had none). */
export function matchCanonical(table: readonly CompiledUpstream[], host: CanonicalHost | undefined, path: string): CompiledUpstream | undefined {
  const matchPath = path.toLowerCase().replace(/;[^/]*/g, '');
  for (const upstream of table) {
    if (upstream.config.host !== undefined && !hostMatches(upstream.config.host, host)) continue;
    const prefix = upstream.matchPrefix;
    if (prefix === '/' || matchPath === prefix || matchPath.startsWith(prefix + '/')) return upstream;
  }
  return undefined;
}

/**
 * The path the upstream receives: the whole path, or without the prefix's segments when stripPrefix is set.
 * Works on either form of a canonical path (decoded or wire): "/" is never encoded in either.
 */
export function upstreamPath(upstream: CompiledUpstream, path: string): string {
  if (!upstream.config.stripPrefix || upstream.prefixSegments === 0) return path;
  const segments = path.split('/');
  const rest = segments.slice(upstream.prefixSegments + 1).join('/');
  return '/' + rest;
}

/** A configured host (canonical, from the schema) against the request's: with its port when it names one. */
function hostMatches(wanted: string, actual: CanonicalHost | undefined): boolean {
  if (actual === undefined) return false;
  return wanted === (wanted.includes(':') && !wanted.endsWith(']') ? actual.value : actual.name);
}
