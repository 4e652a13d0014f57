/**
 * The upstream call for WebSocket upgrades, through @fastify/http-proxy (which owns the upgrade plumbing):
 * the route step rewrote the upgrade to WEBSOCKET_ROUTE + target, the guard judges it as any request, and
 * the upgrade to the upstream carries what a proxied request would (identity, token, other cookies).
 * An open socket with a session is registered (session/session-sockets.ts): it closes when the session ends.
 */
import type { ClientRequest } from 'node:http';
import fastifyHttpProxy from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { SessionSocket, SessionSockets } from '../session/session-sockets.js';
import type { SessionData, SessionStore } from '../session/types.js';
import type { Guard } from './guard.js';
import type { HeaderInjector } from './headers.js';
import { WEBSOCKET_ROUTE } from './route-step.js';
import type { CompiledUpstream } from './upstreams.js';

/** How long an upstream may take to answer a WebSocket upgrade. */
const WS_HANDSHAKE_TIMEOUT_MS = 10_000;

const upstreamOf = (request: FastifyRequest) => request.authgate.upstream as CompiledUpstream;

/** Registers the WebSocket proxy behind the guard. */
export async function registerWebSocketProxy(
  app: FastifyInstance,
  deps: { guard: Guard; store: SessionStore; log: Logger; sessionSockets: SessionSockets },
): Promise<void> {
  const { guard, store, log, sessionSockets } = deps;
  // The proxy hands no hook both the request and the client's socket, so the session is carried along the
  // calls it makes in order: rewriteRequestHeaders (the request) and finishRequest (the upstream socket)
  // run synchronously one after the other for one connection; onConnect then pairs the upstream socket with
  // the client's.
  let upgrading: SessionData | undefined;
  const sessionOfUpstream = new WeakMap<object, SessionData>();
  // An upgrade that goes through is answered with 101, which never reaches the write-back stage: a session
  // that loading ended (timed out, refresh refused) is ended here, as a refused upgrade's answer would.
  async function guardUpgrade(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const answered = await guard(request, reply);
    if (answered === undefined && request.authgate.sessionWrite === 'destroy') {
      request.authgate.sessionWrite = 'none';
      await store.destroy(request, reply);
    }
    return answered;
  }
  await app.register(fastifyHttpProxy, {
    prefix: WEBSOCKET_ROUTE,
    upstream: '',
    httpMethods: ['GET'],
    preHandler: guardUpgrade,
    websocket: true, // the guard refuses upgrades to upstreams with websocket: false
    wsClientOptions: {
      rewriteRequestHeaders: (_headers: object, request: FastifyRequest) => {
        upgrading = request.authgate.session?.session;
        return webSocketHeaders(request, upstreamOf(request).injectHeaders);
      },
      // An upstream that accepts TCP but never answers the upgrade must not hold the client forever.
      handshakeTimeout: WS_HANDSHAKE_TIMEOUT_MS,
      // The proxy closes the client's socket with the upstream error's message as the reason: keep
      // internal addresses out of it (the log has the details).
      finishRequest: (upstreamRequest: ClientRequest, upstreamSocket: object) => {
        if (upgrading) sessionOfUpstream.set(upstreamSocket, upgrading);
        upgrading = undefined;
        upstreamRequest.prependListener('error', (err: Error) => {
          log.warn({ err }, 'websocket upstream unavailable');
          err.message = 'upstream unavailable';
        });
        upstreamRequest.end();
      },
    },
    wsHooks: {
      onConnect: (_context: unknown, client: SessionSocket, upstreamSocket: object) => {
        const session = sessionOfUpstream.get(upstreamSocket);
        if (session) sessionSockets.add(session, client);
      },
    },
    replyOptions: { getUpstream: (request: FastifyRequest) => upstreamOf(request).origin },
  } as never);
}

/**
 * Headers for a proxied WebSocket upgrade: the request's own, minus hop-by-hop and handshake ones, injected.
 * What the injector removed (set to undefined) is dropped: Node's http client refuses an undefined value.
 */
function webSocketHeaders(request: FastifyRequest, inject: HeaderInjector): Record<string, string | string[]> {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !WS_HANDSHAKE_HEADERS.has(name)) headers[name] = value;
  }
  const injected = inject(request, headers);
  const out: Record<string, string | string[]> = {};
  for (const name in injected) {
    const value = injected[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
const WS_HANDSHAKE_HEADERS = new Set([
  'host',
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'content-length',
  'transfer-encoding',
]);
