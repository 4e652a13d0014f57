/**
 * The prepare step (onRequest): the request's state from the route step's decision, spoofed identity
 * headers stripped, the gateway's own cookies taken out of the Cookie header (they never go upstream), and
 * the route step's refusal answered.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { sendGatewayError } from '../http/replies.js';
import type { InFlightList } from '../observability/in-flight.js';
import { NO_COOKIES, splitCookieHeader, type CookieNames } from '../session/cookie-names.js';
import { stripIdentityHeaders } from './headers.js';
import { routeDecisionOf } from './route-step.js';

/** Creates the onRequest hook. */
export function createPrepareRequest(deps: { cookieNames: CookieNames; inFlight: InFlightList<FastifyRequest> }): onRequestHookHandler {
  const { cookieNames, inFlight } = deps;
  return function prepareRequest(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    const route = routeDecisionOf(request.raw);
    const header = request.headers.cookie;
    const cookies = header ? splitCookieHeader(header, cookieNames) : undefined;
    if (cookies) {
      // Assigned, not deleted: a delete turns the headers object into a slow dictionary for everything after.
      request.headers.cookie = cookies.others === '' ? undefined : cookies.others;
    }
    request.authgate = {
      cookies: cookies?.gateway ?? NO_COOKIES,
      upstream: route?.upstream,
      path: route?.path ?? request.url.split('?')[0] ?? '/',
      query: route?.query ?? '',
      upstreamPath: route?.target ?? '/',
      session: undefined,
      sessionWrite: 'none',
      principal: undefined,
      inFlight: inFlight.add(request),
    };
    stripIdentityHeaders(request.headers);
    if (route?.refusal) {
      void sendGatewayError(request, reply, route.refusal);
      return;
    }
    done();
  };
}
