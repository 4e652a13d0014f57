/**
 * OpenTelemetry tracing as the rest of the gateway sees it: an interface, and `createTracing`, which loads
 * the SDK (tracing-sdk.ts) only when `tracing.otlpEndpoint` is set. With tracing off there is no Tracing at
 * all: every stage keeps the code it had, chosen once at start-up, so a request pays nothing for it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CustomFetch } from 'openid-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { TrustedProxyMatcher } from '../http/trusted-proxies.js';

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
  /** Whose `traceparent` is continued: the peers of `server.trustedProxies`. */
  isTrustedProxy: TrustedProxyMatcher;
}

/** The tracing for a configuration, or undefined when it is off (then the SDK is never imported). */
export async function createTracing(config: Config['tracing'], deps: TracingDeps): Promise<Tracing | undefined> {
  if (config.otlpEndpoint === '') return undefined;
  const { startTracing } = await import('./tracing-sdk.js');
  return startTracing({ ...config, otlpEndpoint: tracesUrl(config.otlpEndpoint) }, deps);
}

/**
 * The URL spans are posted to: one given with a path is used as it is (as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * is); one without gets the OTLP/HTTP traces path (as OTEL_EXPORTER_OTLP_ENDPOINT does).
 */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '/') url.pathname = '/v1/traces';
  return url.href;
}
