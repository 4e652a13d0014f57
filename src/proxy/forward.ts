/**
 * The upstream call for plain HTTP: one route behind the guard serves every upstream (the routed one is on
 * the request, so a reload can replace them), bodies streamed through, sent with @fastify/reply-from under
 * one options object per upstream (built on first use, so a reload's new upstreams get theirs).
 */
import fastifyReplyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { sendGatewayError } from '../http/replies.js';
import type { CookieNames } from '../session/cookie-names.js';
import { responseHeadersForClient, type Headers } from './response-headers.js';
import { UPSTREAM_ROUTE } from './route-step.js';
import type { CompiledUpstream } from './upstreams.js';

/** What reply-from is told for one upstream. */
interface ForwardOptions {
  getUpstream(): string;
  timeout: number;
  queryString(search: string, url: string, request: FastifyRequest): string;
  rewriteRequestHeaders(request: FastifyRequest, headers: Headers): Headers;
  rewriteHeaders(headers: Headers): Headers;
  onError(reply: FastifyReply, error: { error: Error & { statusCode?: number } }): void;
}

const BAD_PATH = new GatewayError(ErrorCode.badPath, 400, 'The request path is not allowed (encoded "/" or "\\", or malformed).');

/** Registers the internal route the route step sends proxied requests to: guard, then headers and the call. */
export async function registerForward(app: FastifyInstance, deps: { guard: preHandlerAsyncHookHandler; cookieNames: CookieNames }): Promise<void> {
  const optionsFor = createForwardOptions(deps.cookieNames);
  await app.register(async (scope) => {
    // Bodies are streamed to the upstream as they arrive, whatever their type.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    await scope.register(fastifyReplyFrom, {
      undici: { connections: 128 },
      disableRequestLogging: true, // reply-from's own two info lines per request: the contract wants one
      // No hidden retries: by default reply-from repeats a GET up to 10 times on a 503 (and on a reset
      // socket), multiplying the load on an upstream that is already failing. No method is retried.
      retryMethods: [],
    });
    scope.all(UPSTREAM_ROUTE, { preHandler: deps.guard }, (request, reply) => {
      try {
        return reply.from(request.authgate.upstreamPath, optionsFor(request.authgate.upstream as CompiledUpstream) as never);
      } catch {
        // reply-from refuses what it cannot decode (an escape that is not UTF-8) before sending anything.
        return sendGatewayError(request, reply, BAD_PATH);
      }
    });
  });
}

/** The options for each upstream, made once and kept as long as the upstream is in use. */
function createForwardOptions(cookieNames: CookieNames): (upstream: CompiledUpstream) => ForwardOptions {
  const rewriteHeaders = (headers: Headers) => responseHeadersForClient(headers, cookieNames);
  const made = new WeakMap<CompiledUpstream, ForwardOptions>();
  return (upstream) => {
    const known = made.get(upstream);
    if (known) return known;
    const origin = upstream.origin ?? '';
    const options: ForwardOptions = {
      getUpstream: () => origin,
      timeout: upstream.config.timeout,
      // The query exactly as the client sent it (the route step kept it apart from the normalised path).
      queryString: (_search, _url, request) => request.authgate.query,
      // headers: identity, token and X-Forwarded-*, by the injector built once for this upstream.
      rewriteRequestHeaders: (request, headers) => upstream.injectHeaders(request, headers),
      rewriteHeaders,
      onError: upstreamFailed,
    };
    made.set(upstream, options);
    return options;
  };
}

/** The upstream did not answer (in time): 504 or 502, with the details in the log only. */
function upstreamFailed(reply: FastifyReply, { error }: { error: Error & { statusCode?: number } }): void {
  const timedOut = error.statusCode === 504;
  const { request } = reply;
  request.log.warn({ err: error, upstream: request.authgate.upstream?.name }, timedOut ? 'upstream timed out' : 'upstream unavailable');
  void sendGatewayError(
    request,
    reply,
    timedOut
      ? new GatewayError(ErrorCode.upstreamTimeout, 504, 'The application did not answer in time.')
      : new GatewayError(ErrorCode.upstreamUnavailable, 502, 'The application is not reachable right now.'),
  );
}
