/**
 * The types of the tracing (tracing.ts) shared with the SDK side (tracing-sdk.ts), which tracing.ts imports
 * only when tracing is on.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CustomFetch } from 'openid-client';
import type { Logger } from 'pino';

/** Headers as the upstream call sends them (undefined: not sent). */
export type OutgoingHeaders = Record<string, string | string[] | undefined>;

/** An outgoing call's span, ended by whoever sees the call end. */
export interface CallSpan {
  /** Records the status of the answer. */
  answered(status: number): void;
  /** Ends the span, marked failed when an error is given; later calls do nothing. */
  end(error?: Error): void;
}

/** A preHandler that resolves once the request may go on (the guard's shape). */
export type TracedStep = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** The tracing of one gateway. */
export interface Tracing {
  /**
   * Adds the request's server span (started on request, ended on response), runs each route's handler in its
   * context (so provider calls below it become its children), and flushes the spans on close. Call it
   * before any route is registered.
   */
  register(app: FastifyInstance): void;
  /** The guard, run in a span of its own under the request's. */
  traceGuard(guard: TracedStep): TracedStep;
  /**
   * Starts the client span of a request's upstream call and writes its context into the outgoing headers
   * as `traceparent` (and `tracestate`, replacing the client's).
   */
  startUpstreamCall(request: FastifyRequest, headers: OutgoingHeaders, origin: string, path: string): CallSpan;
  /** Runs one provider operation (code grant, refresh, ...) in a span under the current one, if any. */
  inSpan<T>(name: string, attributes: Record<string, string>, work: () => Promise<T>): Promise<T>;
  /** The provider fetch with a client span around each HTTP call. */
  traceFetch(fetch: CustomFetch): CustomFetch;
  /** Exports the spans not sent yet and stops. */
  shutdown(): Promise<void>;
}

/** What the tracing needs besides its section. */
export interface TracingDeps {
  log: Logger;
  /** Whose `traceparent` is continued: the peers of `server.trustedProxies` (http/trusted-proxies.ts). */
  isTrustedProxy: (address: string | undefined) => boolean;
}
