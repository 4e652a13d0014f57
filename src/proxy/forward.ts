/**
 * The upstream call for plain HTTP: one route behind the guard serves every upstream (the routed one is on
 * the request, so a reload can replace them), bodies streamed through, sent straight through undici's
 * dispatcher (upstream-exchange.ts relays the answer through fastify's reply).
 */
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import type { Tracing } from '../observability/tracing.js';
import type { CookieNames } from '../session/cookie-names.js';
import { connectionTokens, responseHeadersForClient, type Headers } from './response-headers.js';
import { UPSTREAM_ROUTE } from './route-step.js';
import { TracedUpstreamExchange, UpstreamExchange, type ExchangeRoute } from './upstream-exchange.js';
import type { CompiledUpstream } from './upstreams.js';

/** What one upstream's requests share, made once per upstream. */
interface UpstreamTarget {
  origin: string;
  host: string;
  timeout: number;
}

/**
 * Registers the internal route the route step sends proxied requests to: guard, then headers and the call.
 * With tracing on, the call gets a client span whose context goes upstream as `traceparent`.
 */
export async function registerForward(
  app: FastifyInstance,
  deps: { guard: preHandlerAsyncHookHandler; cookieNames: CookieNames; tracing: Tracing | undefined },
): Promise<void> {
  // Keep-alive connections to each upstream origin; TLS certificates are verified (undici's default).
  const agent = new Agent({ connections: 128 });
  app.addHook('onClose', async () => agent.close());
  const route: ExchangeRoute = { clientHeaders: (headers) => responseHeadersForClient(headers, deps.cookieNames) };
  const targetOf = targetsByUpstream();
  const dispatchOptions = (request: FastifyRequest): Dispatcher.DispatchOptions & { origin: string; headers: Headers } => {
    const upstream = request.authgate.upstream as CompiledUpstream;
    const target = targetOf(upstream);
    const query = request.authgate.query;
    return {
      origin: target.origin,
      path: query === '' ? request.authgate.upstreamPath : `${request.authgate.upstreamPath}?${query}`,
      method: request.method,
      headers: upstream.injectHeaders(request, requestHeaders(request, target.host)),
      body: (request.body as Dispatcher.DispatchOptions['body']) ?? null,
      headersTimeout: target.timeout,
      bodyTimeout: target.timeout,
    };
  };
  const { tracing } = deps;
  await app.register(async (scope) => {
    // Bodies are streamed to the upstream as they arrive, whatever their type.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    // The handler is chosen once: with tracing off a request runs no tracing code at all.
    scope.all(
      UPSTREAM_ROUTE,
      { preHandler: deps.guard },
      tracing === undefined
        ? (request, reply) => {
            agent.dispatch(dispatchOptions(request), new UpstreamExchange(request, reply, route));
          }
        : (request, reply) => {
            const options = dispatchOptions(request);
            const span = tracing.startUpstreamCall(request, options.headers, options.origin, request.authgate.upstreamPath);
            agent.dispatch(options, new TracedUpstreamExchange(request, reply, route, span));
          },
    );
  });
}

/** The shared parts of each upstream's requests, made on first use (a reload's new upstreams get theirs). */
function targetsByUpstream(): (upstream: CompiledUpstream) => UpstreamTarget {
  const made = new WeakMap<CompiledUpstream, UpstreamTarget>();
  return (upstream) => {
    let target = made.get(upstream);
    if (!target) {
      const origin = upstream.origin ?? '';
      target = { origin, host: new URL(origin).host, timeout: upstream.config.timeout };
      made.set(upstream, target);
    }
    return target;
  };
}

/**
 * The client's headers as the injector starts from: a copy without Connection and the headers it names
 * (so a client cannot strip what the gateway adds), with Host set to the upstream's.
 */
function requestHeaders(request: FastifyRequest, host: string): Headers {
  // A dictionary from the start: the injector adds a dozen headers, and adding them one by one to a copy
  // with its own hidden class cost more than the rest of the injector (BENCHMARKS.md).
  const headers = Object.create(null) as Headers;
  const incoming = request.headers;
  for (const name in incoming) headers[name] = incoming[name];
  const connection = headers.connection;
  if (connection !== undefined) {
    headers.connection = undefined;
    // Most clients say just "keep-alive" (or "close"): nothing listed, no split.
    if (connection !== 'keep-alive' && connection !== 'close') for (const listed of connectionTokens(connection)) headers[listed] = undefined;
  }
  headers.host = host;
  return headers;
}
