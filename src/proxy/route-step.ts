/**
 * The route step, run by fastify's rewriteUrl (the only hook before route lookup): routeRequest decides,
 * and the URL fastify routes on says where the request goes. The decision waits on the raw request until
 * the prepare step moves it to request.authgate (routeDecisionOf).
 */
import type { IncomingMessage } from 'node:http';
import { routeRequest, type RouteDecision } from './route-request.js';
import type { RouteTable } from './upstreams.js';

/** Internal routes proxied requests are rewritten to; unreachable from outside, as every URL is rewritten. */
export const UPSTREAM_ROUTE = '/__authgate/upstream';
/** The WebSocket proxy's prefix; the upstream target follows it. */
export const WEBSOCKET_ROUTE = '/__authgate/websocket';
const NO_UPSTREAM_ROUTE = '/__authgate/no-upstream';
const REFUSED_ROUTE = '/__authgate/refused';

const kRoute = Symbol('authgate.route');
/** `upgrade` is Node's own flag (set by its parser) for a request that asks to switch protocols. */
type RoutedMessage = IncomingMessage & { [kRoute]?: RouteDecision; upgrade?: boolean };

/** Creates fastify's rewriteUrl: one canonical path and host, one match, for routing, policy and the upstream. */
export function createRouteStep(routes: RouteTable): (req: IncomingMessage) => string {
  return function routeStep(req: RoutedMessage): string {
    const route = routeRequest(routes.current.upstreams, req.url ?? '/', req.headers.host);
    req[kRoute] = route;
    const { path, query } = route;
    if (route.refusal) return REFUSED_ROUTE;
    if (route.gateway) return path + (query ? `?${query}` : '');
    if (!route.upstream?.origin) return NO_UPSTREAM_ROUTE;
    // A WebSocket's internal route carries the target (in wire form, which the WebSocket client's URL parser
    // keeps as it is): @fastify/http-proxy derives the upstream URL from it.
    return req.upgrade === true ? WEBSOCKET_ROUTE + route.target + (query ? `?${query}` : '') : UPSTREAM_ROUTE;
  };
}

/** What the route step decided for this raw request (undefined if it did not run). */
export function routeDecisionOf(req: IncomingMessage): RouteDecision | undefined {
  return (req as RoutedMessage)[kRoute];
}
