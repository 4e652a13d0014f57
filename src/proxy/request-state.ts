/**
 * What the gateway learns about one request as it travels the road, kept on `request.authgate`.
 */
import type { FastifyRequest } from 'fastify';
import type { InFlightEntry } from '../observability/in-flight.js';
import type { SessionWrite } from '../session/access.js';
import type { LoadedSession } from '../session/types.js';
import type { Principal } from './principal.js';
import type { CompiledUpstream } from './upstreams.js';

/** Per-request state; set by the prepare step, filled in by the guard and the gateway routes. */
export interface RequestState {
  /** The gateway's own cookies from the Cookie header (removed from what goes upstream). */
  cookies: ReadonlyMap<string, string>;
  /** The upstream the route step chose, if any. */
  upstream: CompiledUpstream | undefined;
  /** The canonical path in its wire form (what routing, policy and the upstream see, as logged), without query. */
  path: string;
  /** The query string as received, without "?". */
  query: string;
  /** The path the upstream receives (its base path, stripPrefix applied); the query goes as received. */
  upstreamPath: string;
  /** undefined until loaded; null when signed out. */
  session: LoadedSession | null | undefined;
  /** What the write-back step does with the session once the answer is ready (decided when it was loaded). */
  sessionWrite: SessionWrite;
  /** Who the request acts as, once the guard allowed it (undefined on public routes and for anonymous optional ones). */
  principal: Principal | undefined;
  /** This request's entry in the list of requests in flight (for the shutdown log line). */
  inFlight: InFlightEntry<FastifyRequest>;
}

declare module 'fastify' {
  interface FastifyRequest {
    authgate: RequestState;
  }
}
