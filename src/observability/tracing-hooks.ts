/**
 * The request's server span as fastify hooks, added only when tracing is on: started on request (continuing
 * the `traceparent` of a trusted proxy only), made current for each route handler, ended on response with
 * the route, status and user (the `sub`, never a token, cookie or email).
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';

/** What the hooks share with the rest of the SDK side (tracing-sdk.ts). */
export interface SpanKit {
  tracer: Tracer;
  /** The current span's context while a handler, the guard or a provider call runs. */
  current: AsyncLocalStorage<Context>;
  /** The context a request's `traceparent` and `tracestate` name (ROOT_CONTEXT when they name none). */
  extract(headers: FastifyRequest['headers']): Context;
  isTrustedProxy: (address: string | undefined) => boolean;
}

const kTrace = Symbol('authgate.trace');

/** One request's server span. */
interface RequestTrace {
  span: Span;
  context: Context;
  ended: boolean;
}
type TracedRequest = FastifyRequest & { [kTrace]: RequestTrace | null };

/** The context of a request's server span (ROOT_CONTEXT before it started). */
export function requestContext(request: FastifyRequest): Context {
  return (request as TracedRequest)[kTrace]?.context ?? ROOT_CONTEXT;
}

/** Adds the hooks; `shutdown` flushes the spans when the gateway closes (the SIGTERM drain included). */
export function registerRequestSpans(app: FastifyInstance, kit: SpanKit, shutdown: () => Promise<void>): void {
  const { tracer, current } = kit;
  app.decorateRequest(kTrace, null);
  app.addHook('onRequest', (request, _reply, done) => {
    // A client's traceparent could pick the trace id (joining someone else's trace) and force sampling: only
    // a trusted proxy's is continued; anyone else's request starts a trace of its own.
    const parent = kit.isTrustedProxy(request.raw.socket.remoteAddress) ? kit.extract(request.headers) : ROOT_CONTEXT;
    const span = tracer.startSpan(
      request.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'authgate.request_id': request.id } },
      parent,
    );
    const context = trace.setSpan(parent, span);
    (request as TracedRequest)[kTrace] = { span, context, ended: false };
    // A WebSocket upgrade goes upstream with the request's own headers (websocket.ts): it carries this span,
    // which lasts as long as the connection (an upgrade that went through gets no onResponse).
    if (request.headers.upgrade !== undefined) {
      const { traceId, spanId, traceFlags } = span.spanContext();
      request.headers.traceparent = `00-${traceId}-${spanId}-0${traceFlags.toString(16)}`;
      request.headers.tracestate = undefined;
      request.raw.socket.once('close', () => endRequestSpan(request as TracedRequest, 101));
    }
    done();
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function inRequestSpan(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const traced = (request as TracedRequest)[kTrace];
      return traced ? current.run(traced.context, callHandler, handler, this, request, reply) : handler.call(this, request, reply);
    };
  });
  app.addHook('onResponse', (request, reply, done) => {
    endRequestSpan(request as TracedRequest, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    endRequestSpan(request as TracedRequest, undefined);
    done();
  });
  app.addHook('onClose', shutdown);
}

function callHandler(handler: RouteHandlerMethod, self: FastifyInstance, request: FastifyRequest, reply: FastifyReply): unknown {
  return handler.call(self, request, reply);
}

/** Names the span by its upstream or gateway route and ends it; status undefined: the client went away. */
function endRequestSpan(request: TracedRequest, status: number | undefined): void {
  const traced = request[kTrace];
  if (!traced || traced.ended) return;
  traced.ended = true;
  const { span } = traced;
  const state = request.authgate as FastifyRequest['authgate'] | null;
  const upstream = state?.upstream?.name;
  const route = request.routeOptions.url;
  const gatewayRoute = upstream === undefined && route !== undefined && !route.startsWith('/__authgate/') ? route : undefined;
  span.updateName(upstream !== undefined ? `${request.method} ${upstream}` : gatewayRoute !== undefined ? `${request.method} ${gatewayRoute}` : request.method);
  if (state) span.setAttribute('url.path', state.path);
  if (upstream !== undefined) span.setAttribute('authgate.upstream', upstream);
  if (gatewayRoute !== undefined) span.setAttribute('http.route', gatewayRoute);
  const sub = state?.principal?.identity.sub;
  if (sub !== undefined) span.setAttribute('user.id', sub);
  if (status === undefined) span.setAttribute('authgate.client_aborted', true);
  else {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setAttributes({ 'error.type': String(status) }).setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
