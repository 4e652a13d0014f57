/**
 * What the gateway learns about one request as it travels the pipeline, kept on `request.authgate`.
 */
import type { FastifyRequest } from 'fastify';
import type { InFlightEntry } from './in-flight.js';
import type { Principal } from '../proxy/principal.js';
import type { CompiledUpstream } from '../proxy/upstreams.js';
import type { LoadedSession } from '../session/types.js';

/** Per-request state; set in onRequest, filled in by the guard. */
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
  /** Set by the guard when the session must be written back after the response. */
  sessionDirty: boolean;
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
