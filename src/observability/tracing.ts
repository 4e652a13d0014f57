/**
 * OpenTelemetry tracing as the rest of the gateway sees it: an interface, and `createTracing`, which loads
 * the SDK (tracing-sdk.ts) only when `tracing.otlpEndpoint` is set. With tracing off there is no Tracing at
 * all: every stage keeps the code it had, chosen once at start-up, so a request pays nothing for it.
 */
import type { Config } from '../config/schema.js';
import type { Tracing, TracingDeps } from './tracing-types.js';

export type { CallSpan, OutgoingHeaders, TracedStep, Tracing, TracingDeps } from './tracing-types.js';

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
