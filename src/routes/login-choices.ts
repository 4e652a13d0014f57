/**
 * Which providers may sign a user in for a target: those its upstream accepts (`upstreams[].providers`), or
 * every provider. Only an offer: the guard judges each request's session against its route again.
 */
import type { FastifyRequest } from 'fastify';
import type { OidcProvider } from '../oidc/provider.js';
import type { Providers } from '../oidc/providers.js';
import { matchUpstream, type RouteTable } from '../proxy/upstreams.js';
import { normaliseTarget } from '../url/normalise-path.js';

/** The providers offered for `rd` (a safe same-origin target), in configuration order. */
export function providersFor(request: FastifyRequest, rd: string, deps: { providers: Providers; routes: RouteTable }): OidcProvider[] {
  const { providers, routes } = deps;
  const target = normaliseTarget(rd.split('#', 1)[0]);
  const upstream = target ? matchUpstream(routes.current.upstreams, request.headers.host, target.path) : undefined;
  const accepted = upstream?.config.providers;
  return accepted === undefined ? [...providers.list] : providers.list.filter((provider) => accepted.includes(provider.id));
}
