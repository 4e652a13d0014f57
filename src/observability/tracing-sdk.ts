/**
 * The OpenTelemetry SDK behind `Tracing`, imported only when tracing is on: a tracer provider with a batch
 * processor posting OTLP/HTTP JSON, a parent-based ratio sampler, and W3C trace context. The current span
 * travels in an AsyncLocalStorage of this gateway's own (no global context manager or tracer provider is
 * registered, so two gateways in one process never mix their spans).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { CustomFetch } from 'openid-client';
import type { Config } from '../config/schema.js';
import { registerRequestSpans, requestContext, type SpanKit } from './tracing-hooks.js';
import type { CallSpan, OutgoingHeaders, Tracing, TracingDeps } from './tracing-types.js';

/** Reads a header of a carrier of incoming headers; writes one of outgoing headers. */
const headerGetter = {
  get: (carrier: Record<string, string | string[] | undefined>, key: string) => carrier[key],
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
};
const headerSetter = {
  set: (carrier: OutgoingHeaders, key: string, value: string) => {
    carrier[key] = value;
  },
};

/** Starts the SDK for a tracing section whose endpoint is set (the full traces URL). */
export function startTracing(config: Config['tracing'], deps: TracingDeps): Tracing {
  const { log } = deps;
  const exporter = new OTLPTraceExporter({ url: config.otlpEndpoint });
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': config.serviceName })),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // The SDK reports a failed export here (once per batch); without it a collector that is down goes unseen.
  setGlobalErrorHandler((err) => log.warn({ err }, 'tracing: spans could not be exported'));
  log.info({ otlpEndpoint: withoutCredentials(config.otlpEndpoint), sampleRatio: config.sampleRatio }, 'tracing: exporting spans');

  const tracer = provider.getTracer('authgate');
  const current = new AsyncLocalStorage<Context>();
  const propagator = new W3CTraceContextPropagator();
  const kit: SpanKit = {
    tracer,
    current,
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, headerGetter),
    isTrustedProxy: deps.isTrustedProxy,
  };

  return {
    register: (app) => registerRequestSpans(app, kit, () => provider.shutdown()),
    traceGuard: (guard) => (request, reply) => {
      const parent = requestContext(request);
      const span = tracer.startSpan('guard', { attributes: { 'authgate.upstream': request.authgate.upstream?.name ?? '' } }, parent);
      return current.run(trace.setSpan(parent, span), guard, request, reply).then(
        (answered) => {
          // A guard that answers returns the reply, a thenable: what resolves is undefined either way.
          span.setAttribute('authgate.guard.allowed', !reply.sent);
          span.end();
          return answered;
        },
        (err: unknown) => {
          failed(span, err);
          span.end();
          throw err;
        },
      );
    },
    startUpstreamCall(request, headers, origin, path) {
      const parent = requestContext(request);
      const span = tracer.startSpan(
        request.method,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': request.method,
            'url.full': origin + path,
            'authgate.upstream': request.authgate.upstream?.name ?? '',
          },
        },
        parent,
      );
      // A client's own tracestate belongs to the trace it named, which an untrusted one does not continue.
      headers.tracestate = undefined;
      propagator.inject(trace.setSpan(parent, span), headers, headerSetter);
      return callSpan(span);
    },
    inSpan(name, attributes, work) {
      const parent = current.getStore() ?? ROOT_CONTEXT;
      const span = tracer.startSpan(name, { attributes }, parent);
      return current.run(trace.setSpan(parent, span), work).then(
        (result) => {
          span.end();
          return result;
        },
        (err: unknown) => {
          failed(span, err);
          span.end();
          throw err;
        },
      );
    },
    traceFetch: (fetch) => tracedFetch(fetch, tracer, current),
    shutdown: () => provider.shutdown(),
  };
}

/** The provider fetch with a client span per call: method, URL without query or credentials, status. */
function tracedFetch(fetch: CustomFetch, tracer: Tracer, current: AsyncLocalStorage<Context>): CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    const span = tracer.startSpan(
      `${options.method} ${target.pathname}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': options.method, 'url.full': target.origin + target.pathname, 'server.address': target.hostname },
      },
      current.getStore() ?? ROOT_CONTEXT,
    );
    const call = callSpan(span);
    try {
      const response = await fetch(url, options);
      call.answered(response.status);
      call.end();
      return response;
    } catch (err) {
      call.end(err as Error);
      throw err;
    }
  };
}

/** A CallSpan over an SDK span: status recorded, ended once. */
function callSpan(span: Span): CallSpan {
  let ended = false;
  return {
    answered(status) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 400) span.setAttributes({ 'error.type': String(status) }).setStatus({ code: SpanStatusCode.ERROR });
    },
    end(error) {
      if (ended) return;
      ended = true;
      if (error) failed(span, error);
      span.end();
    },
  };
}

/**
 * Marks a span failed with the error's kind only (a provider failure's reason, an error code, or its
 * name): messages may quote what a provider or upstream said, and spans leave the gateway.
 */
export function failed(span: Span, err: unknown): void {
  const { reason, code, name } = (err ?? {}) as { reason?: unknown; code?: unknown; name?: unknown };
  const type = [reason, code, name].find((value): value is string => typeof value === 'string');
  span.setAttributes({ 'error.type': type ?? 'error' }).setStatus({ code: SpanStatusCode.ERROR });
}

/** The endpoint for the log line: a user or password in it stays out. */
function withoutCredentials(endpoint: string): string {
  const url = new URL(endpoint);
  url.username = '';
  url.password = '';
  return url.href;
}
