/**
 * One request's exchange with its upstream, as an undici dispatch handler: the upstream's answer goes to the
 * client through fastify's own reply (so the write-back, cookie and log hooks run as for any answer). An
 * answer of known small size is gathered and sent as one buffer with its headers; any other is streamed
 * with backpressure. An upstream that fails before its answer could be relayed gets the gateway's 502/504.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { ErrorCode, GatewayError } from '../errors.js';
import { sendGatewayError } from '../http/replies.js';
import type { CallSpan } from '../observability/tracing.js';
import type { Headers } from './response-headers.js';

/** Answers at most this large (by their Content-Length) are relayed in one write. */
const GATHER_LIMIT = 64 * 1024;

/** What the exchange needs from its forward step. */
export interface ExchangeRoute {
  /** The upstream's answer headers as the client may see them. */
  clientHeaders(headers: Headers): Headers;
}

type Controller = Dispatcher.DispatchController;

/** Relays one upstream answer to one client; made per request. */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;
  readonly #route: ExchangeRoute;
  /** The gathered answer (status, headers, chunks) until it is complete. */
  #status = 0;
  #headers: Headers | undefined;
  #chunks: Buffer[] | undefined;
  /** The streamed answer's body, once the answer turned out to need streaming. */
  #body: Readable | undefined;

  constructor(request: FastifyRequest, reply: FastifyReply, route: ExchangeRoute) {
    this.#request = request;
    this.#reply = reply;
    this.#route = route;
  }

  /** Present so undici drives this handler through its controller API. */
  onRequestStart(): void {}

  onResponseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[]>): void {
    if (this.#clientGone()) {
      // The client is gone: nothing to relay, and the upstream connection is freed at once.
      controller.abort(new Error('client closed the connection'));
      return;
    }
    this.#status = statusCode;
    this.#headers = this.#route.clientHeaders(headers);
    if (this.#gathers(statusCode, headers)) {
      this.#chunks = [];
      return;
    }
    if (!this.#start()) {
      controller.abort(new Error('the upstream answered with a status the gateway cannot relay'));
      return;
    }
    const body = new Readable({ read: () => controller.resume() });
    body.on('close', () => {
      if (!body.readableEnded) controller.abort(new Error('client closed the connection'));
    });
    this.#body = body;
    this.#reply.send(body);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#chunks) this.#chunks.push(chunk);
    else if (this.#body && !this.#body.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    const chunks = this.#chunks;
    if (chunks) {
      this.#chunks = undefined;
      if (!this.#start()) return;
      this.#reply.send(chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    } else this.#body?.push(null);
  }

  onResponseError(_controller: Controller, error: Error): void {
    if (this.#body) {
      // The answer has begun: the client sees it cut short, as it would from the upstream itself.
      this.#body.destroy(error);
      return;
    }
    this.#chunks = undefined;
    if (this.#reply.sent || this.#clientGone()) return;
    upstreamFailed(this.#request, this.#reply, error);
  }

  /**
   * True once the client's connection is closed. Asked of the response: the request lets go of its socket
   * (and counts as destroyed) as soon as its body was read.
   */
  #clientGone(): boolean {
    const response = this.#reply.raw;
    const socket = response.socket;
    return response.destroyed || socket === null || socket.destroyed;
  }

  /** True when the answer is small enough, and typed, to be sent in one piece once complete. */
  #gathers(statusCode: number, headers: Record<string, string | string[]>): boolean {
    if (this.#request.method === 'HEAD' || statusCode === 204 || statusCode === 304) return true;
    const length = headers['content-length'];
    if (typeof length !== 'string') return false; // unknown length: a stream, an event source; relay as it comes
    const bytes = Number(length);
    // Fastify would type an untyped buffer application/octet-stream; an untyped stream stays untyped.
    return bytes === 0 || (bytes <= GATHER_LIMIT && headers['content-type'] !== undefined);
  }

  /** Puts the upstream's status and headers on the reply; false (after a 502) for a status fastify refuses. */
  #start(): boolean {
    const reply = this.#reply;
    try {
      reply.code(this.#status);
    } catch (error) {
      upstreamFailed(this.#request, reply, error as Error);
      return false;
    }
    reply.headers(this.#headers ?? {});
    // A connection cannot carry the next request before this one's body was read: close it after the answer.
    if (!this.#request.raw.complete) reply.header('connection', 'close');
    return true;
  }
}

/** An exchange whose upstream call has a span (tracing on): the span ends with the answer or its failure. */
export class TracedUpstreamExchange extends UpstreamExchange {
  readonly #span: CallSpan;

  constructor(request: FastifyRequest, reply: FastifyReply, route: ExchangeRoute, span: CallSpan) {
    super(request, reply, route);
    this.#span = span;
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[]>): void {
    this.#span.answered(statusCode);
    super.onResponseStart(controller, statusCode, headers);
  }

  override onResponseEnd(): void {
    super.onResponseEnd();
    this.#span.end();
  }

  override onResponseError(controller: Controller, error: Error): void {
    this.#span.end(error);
    super.onResponseError(controller, error);
  }
}

const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The upstream did not answer (in time): 504 or 502, with the details in the log only, logged once. */
function upstreamFailed(request: FastifyRequest, reply: FastifyReply, error: Error & { code?: string }): void {
  const timedOut = error.code !== undefined && TIMED_OUT.has(error.code);
  request.log.warn({ err: error, upstream: request.authgate.upstream?.name }, timedOut ? 'upstream timed out' : 'upstream unavailable');
  void sendGatewayError(
    request,
    reply,
    timedOut
      ? new GatewayError(ErrorCode.upstreamTimeout, 504, 'The application did not answer in time.')
      : new GatewayError(ErrorCode.upstreamUnavailable, 502, 'The application is not reachable right now.'),
  );
}
