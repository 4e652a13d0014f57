/**
 * buildApp: the gateway's whole request pipeline, registered in the order a request travels it. It never
 * listens; cli.ts (or a test) does.
 *
 *   route      rewriteUrl: canonical path and host once, pick the upstream (longest prefix, host first)
 *   onRequest  request state, refuse bad paths and hosts, strip spoofed identity headers, drop gateway cookies
 *   handle     /oauth2/*, /ping, /ready, /metrics  → gateway routes
 *              everything else                     → guard (session → policy) → headers → proxy
 *   onSend     save the session if the request changed it
 *   onResponse one log line and the request metrics
 */
import { randomBytes } from 'node:crypto';
import type { ClientRequest, IncomingMessage } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import fastifyHttpProxy from '@fastify/http-proxy';
import fastifyReplyFrom from '@fastify/reply-from';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { GatewayContext } from './context.js';
import { ErrorCode, GatewayError } from './errors.js';
import { createClientErrorHandler } from './http/client-errors.js';
import { InFlightList } from './http/in-flight.js';
import { sendGatewayError } from './http/replies.js';
import './http/request-state.js';
import { compileTrustedProxies } from './http/trusted-proxies.js';
import { createAccessLog } from './observability/access-log.js';
import { registerHealth } from './observability/health.js';
import { createLogger, LazyChildLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { OidcProvider, type RetryPolicy } from './oidc/provider.js';
import { createTransactions, TRANSACTION_TTL_SECONDS } from './oidc/transaction.js';
import { createForwardOptions } from './proxy/forward.js';
import { createGuard } from './proxy/guard.js';
import { createPrincipalResolver } from './proxy/principal.js';
import { stripIdentityHeaders, type HeaderInjector } from './proxy/headers.js';
import { routeRequest, type RouteDecision } from './proxy/route-request.js';
import { RouteTable, type CompiledUpstream } from './proxy/upstreams.js';
import { registerForwardAuth } from './routes/auth.js';
import { registerBackchannelLogout } from './routes/backchannel-logout.js';
import { registerCallback } from './routes/callback.js';
import { registerSignOut } from './routes/sign-out.js';
import { registerStart } from './routes/start.js';
import { registerUserinfo } from './routes/userinfo.js';
import { saveSessionIfChanged } from './session/access.js';
import { buildCookieNames, NO_COOKIES, splitCookieHeader } from './session/cookie-names.js';
import { createCookieStore } from './session/cookie-store.js';
import { createRefresher } from './session/refresh.js';
import { createRevocations } from './session/revocations.js';
import { deriveKeys } from './session/keys.js';
import { createSealBoxes } from './session/seal.js';

/** What tests and the CLI may replace. */
export interface AppDependencies {
  /** A logger to use instead of pino on stdout. */
  logger?: Logger;
  /** Where the default logger writes (tests capture it). */
  logStream?: DestinationStream;
  /** Discovery retry backoff. */
  discoveryRetry?: RetryPolicy;
  /** How long a failed token refresh is not retried for the same session (ms). */
  refreshRetryMs?: number;
  /** How often the provider's JWKS is fetched again between metadata refreshes (ms; default 10 minutes). */
  keysRefreshMs?: number;
}

/** A built gateway: the fastify instance and the services behind it. */
export interface Gateway {
  app: FastifyInstance;
  context: GatewayContext;
  /** Marks the gateway as draining: /ready answers 503. */
  beginShutdown(): void;
  /** The requests in flight, for the log line when the shutdown grace period cuts them. */
  inFlightRequests(): Array<{ reqId: string; method: string; path: string; upstream: string }>;
  /**
   * Applies a newly loaded configuration: upstreams and policy are replaced at once (requests in flight keep
   * the route they had; sessions are untouched). Sections that need a restart are named, not applied.
   */
  reload(next: Config): { restartNeeded: string[] };
}

/** Internal routes the route step rewrites proxied requests to; unreachable from outside. */
const UPSTREAM_ROUTE = '/__authgate/upstream';
const WEBSOCKET_ROUTE = '/__authgate/websocket';
/** How long an upstream may take to answer a WebSocket upgrade. */
const WS_HANDSHAKE_TIMEOUT_MS = 10_000;
const NO_UPSTREAM_ROUTE = '/__authgate/no-upstream';
const REFUSED_ROUTE = '/__authgate/refused';

/** What the route step decided, kept on the raw request until onRequest moves it to request.authgate. */
const kRoute = Symbol('authgate.route');
/** `upgrade` is Node's own flag (set by its parser) for a request that asks to switch protocols. */
type RoutedMessage = IncomingMessage & { [kRoute]?: RouteDecision; upgrade?: boolean };

/**
 * Request ids: a random prefix per gateway process and a counter. Unique across processes and restarts
 * like a UUID, for a fraction of randomUUID's cost per request.
 */
const REQUEST_ID_PREFIX = `${randomBytes(6).toString('hex')}-`;
let requestCounter = 0;
const nextRequestId = () => REQUEST_ID_PREFIX + (++requestCounter).toString(36);

/** Builds the gateway (ready to listen). */
export async function buildApp(config: Config, deps: AppDependencies = {}): Promise<Gateway> {
  const log = deps.logger ?? createLogger(deps.logStream);
  const accessLog = createAccessLog(log);
  const metrics = createMetrics();
  const routes = new RouteTable(config.upstreams, config.server.publicUrl);
  const cookieNames = buildCookieNames(config.server.publicUrl, config.session.cookieName);
  const lifetime = { idleTimeout: config.session.idleTimeout, absoluteTimeout: config.session.absoluteTimeout };
  const provider = new OidcProvider(config.oidc, config.server.publicUrl, () => routes.current.claimNames, log, metrics, deps.discoveryRetry, deps.keysRefreshMs);
  let shuttingDown = false;
  // A request whose connection is closed can no longer be answered (HTTP/1: one request at a time per socket).
  const inFlight = new InFlightList<FastifyRequest>((request) => request.raw.socket?.destroyed !== false);

  // One trusted-proxy matcher for fastify's request.ip/ips/host/protocol and for forward-auth's peer check.
  const isTrustedProxy = compileTrustedProxies(config.server.trustedProxies);
  const app = Fastify({
    // pino's Logger is wider than FastifyBaseLogger; without the cast fastify infers a Logger-typed instance
    // that its own plugin types then refuse.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings) => new LazyChildLogger(logger as unknown as Logger, bindings) as unknown as FastifyBaseLogger,
    // None trusted: fastify's plain getters give the matcher's answers without parsing X-Forwarded-For.
    trustProxy: config.server.trustedProxies.length > 0 ? isTrustedProxy : false,
    requestIdHeader: false,
    genReqId: nextRequestId,
    // Slow clients (slowloris): headers must arrive within headersTimeout, the whole request within
    // requestTimeout (408 after either); Node checks every second instead of its default 30.
    http: { maxHeaderSize: 16 * 1024, headersTimeout: config.server.headersTimeout, connectionsCheckingInterval: 1000 },
    requestTimeout: config.server.requestTimeout,
    clientErrorHandler: createClientErrorHandler(log),
    // ── route: one canonical path and host, one match, for routing, policy and the upstream request alike.
    rewriteUrl(req: RoutedMessage): string {
      const route = routeRequest(routes.current.upstreams, req.url ?? '/', req.headers.host);
      req[kRoute] = route;
      const { path, query } = route;
      if (route.refusal) return REFUSED_ROUTE;
      if (route.gateway) return path + (query ? `?${query}` : '');
      if (!route.upstream?.origin) return NO_UPSTREAM_ROUTE;
      // A WebSocket's internal route carries the target (in wire form, which the WebSocket client's URL parser
      // keeps as it is): @fastify/http-proxy derives the upstream URL from it.
      return req.upgrade === true ? WEBSOCKET_ROUTE + route.target + (query ? `?${query}` : '') : UPSTREAM_ROUTE;
    },
  });

  // ── onSend: write the session back only when this request changed it. Registered before @fastify/cookie:
  // its onSend writes Set-Cookie and ignores cookies set after it ran on a reply that had none before.
  app.addHook('onSend', (request, reply, payload, done) => {
    // Draining: a keep-alive connection whose request was in flight would otherwise stay open after its answer
    // (idle connections are closed only when the drain starts), holding the exit until shutdownGrace cuts it.
    if (shuttingDown) reply.header('connection', 'close');
    if (!request.authgate?.sessionDirty) return done(null, payload);
    saveSessionIfChanged(context, request, reply).then(() => done(null, payload), done);
  });
  await app.register(fastifyCookie, { hook: false });
  // Cookies, login transactions and Redis records of this gateway open only here (keys.ts).
  const binding = { issuer: config.oidc.issuer, clientId: config.oidc.clientId, publicUrl: config.server.publicUrl };
  const boxes = await createSealBoxes(
    app,
    {
      session: deriveKeys(config.session.keys, 'session', binding),
      transaction: deriveKeys(config.session.keys, 'login-transaction', binding),
      record: deriveKeys(config.session.keys, 'session-record', binding),
    },
    { session: Math.ceil(config.session.absoluteTimeout / 1000), transaction: TRANSACTION_TTL_SECONDS },
  );
  const backend =
    config.session.store === 'redis'
      ? // ioredis is loaded only for the Redis store: importing it costs a cookie-store gateway about 9 MB of RSS.
        (await import('./session/redis-store.js')).createRedisStore({
          redis: (await import('./session/redis-client.js')).createRedisClient(config.session.redis.url, config.session.redis.timeout, log),
          clientCache: config.session.redis.clientCache,
          names: cookieNames,
          cookieBox: boxes.session,
          recordBox: boxes.record,
          lifetime,
          metrics,
          log,
          startWaitMs: Math.max(config.session.redis.timeout, 5_000),
        })
      : createCookieStore({
          names: cookieNames,
          box: boxes.session,
          maxAgeSeconds: Math.ceil(config.session.absoluteTimeout / 1000),
          revocations: createRevocations({ max: 100_000, ttlMs: config.session.absoluteTimeout }),
        });
  const { store, refreshLock, replayGuard, providerSessions } = backend;
  const refresher = createRefresher({ provider, refreshLock, metrics, log, skewMs: config.session.refreshSkew, retryAfterMs: deps.refreshRetryMs });
  const transactions = createTransactions(cookieNames, boxes.transaction);
  const services = { config, log, metrics, provider, store, replayGuard, providerSessions, refresher, transactions, cookieNames, lifetime, routes };
  const context: GatewayContext = { ...services, resolvePrincipal: createPrincipalResolver(services) };

  // ── onRequest: state, bad paths, spoofed headers, the gateway's cookies kept away from upstreams.
  app.decorateRequest('authgate', null as unknown as FastifyRequest['authgate']);
  app.addHook('onRequest', (request, reply, done) => {
    const route = (request.raw as RoutedMessage)[kRoute];
    const header = request.headers.cookie;
    const cookies = header ? splitCookieHeader(header, cookieNames) : undefined;
    if (cookies) {
      // Assigned, not deleted: a delete turns the headers object into a slow dictionary for everything after.
      request.headers.cookie = cookies.others === '' ? undefined : cookies.others;
    }
    request.authgate = {
      cookies: cookies?.gateway ?? NO_COOKIES,
      upstream: route?.upstream,
      path: route?.path ?? request.url.split('?')[0] ?? '/',
      query: route?.query ?? '',
      upstreamPath: route?.target ?? '/',
      session: undefined,
      sessionDirty: false,
      principal: undefined,
      inFlight: inFlight.add(request),
    };
    stripIdentityHeaders(request.headers);
    if (route?.refusal) {
      void sendGatewayError(request, reply, route.refusal);
      return;
    }
    done();
  });

  // Before any route scope is registered: a scope keeps the error handler that existed when it was created.
  app.setNotFoundHandler((request, reply) =>
    sendGatewayError(request, reply, new GatewayError(ErrorCode.notFound, 404, 'No application is configured for this address.')),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof GatewayError) {
      if (error.status >= 500) request.log.warn({ err: error }, error.safeMessage);
      return sendGatewayError(request, reply, error);
    }
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendGatewayError(request, reply, new GatewayError(ErrorCode.badRequest, status, 'The request could not be processed.'));
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendGatewayError(request, reply, new GatewayError(ErrorCode.internal, 500, 'Something went wrong in the gateway.'));
  });

  // ── handle: the gateway's own routes (their scope parses no bodies but accepts any).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
      done(null, new URLSearchParams(body as string));
    });
    scope.addContentTypeParser('*', (_request, payload, done) => {
      payload.resume();
      payload.on('end', () => done(null, undefined));
      payload.on('error', done);
    });
    registerHealth(scope, context, { metrics: config.server.metricsListen === '', isShuttingDown: () => shuttingDown });
    registerStart(scope, context);
    registerCallback(scope, context);
    registerSignOut(scope, context);
    registerUserinfo(scope, context);
    registerForwardAuth(scope, context, isTrustedProxy);
    registerBackchannelLogout(scope, context);
  });

  // ── handle: every upstream behind the guard, its headers injected. One registration serves all upstreams
  // (the routed one is on the request), so a reload can replace them. Plain HTTP goes straight to
  // @fastify/reply-from; WebSocket upgrades through @fastify/http-proxy, which owns the upgrade plumbing.
  const guard = createGuard(context);
  const upstreamOf = (request: FastifyRequest) => request.authgate.upstream as CompiledUpstream;
  const forwardOptions = createForwardOptions((reply, { error }) => {
    const timedOut = error.statusCode === 504;
    reply.request.log.warn({ err: error, upstream: upstreamOf(reply.request).name }, timedOut ? 'upstream timed out' : 'upstream unavailable');
    void sendGatewayError(
      reply.request,
      reply,
      timedOut
        ? new GatewayError(ErrorCode.upstreamTimeout, 504, 'The application did not answer in time.')
        : new GatewayError(ErrorCode.upstreamUnavailable, 502, 'The application is not reachable right now.'),
    );
  }, cookieNames);
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
    scope.all(UPSTREAM_ROUTE, { preHandler: guard }, (request, reply) => {
      try {
        return reply.from(request.authgate.upstreamPath, forwardOptions(upstreamOf(request)) as never);
      } catch {
        // reply-from refuses what it cannot decode (an escape that is not UTF-8) before sending anything.
        return sendGatewayError(request, reply, new GatewayError(ErrorCode.badPath, 400, 'The request path is not allowed (encoded "/" or "\\", or malformed).'));
      }
    });
  });
  await app.register(fastifyHttpProxy, {
    prefix: WEBSOCKET_ROUTE,
    upstream: '',
    httpMethods: ['GET'],
    preHandler: guard,
    websocket: true, // the guard refuses upgrades to upstreams with websocket: false
    wsClientOptions: {
      // The upgrade to the upstream carries what a proxied request would: identity, token, other cookies.
      rewriteRequestHeaders: (_headers: object, request: FastifyRequest) => webSocketHeaders(request, upstreamOf(request).injectHeaders),
      // An upstream that accepts TCP but never answers the upgrade must not hold the client forever.
      handshakeTimeout: WS_HANDSHAKE_TIMEOUT_MS,
      // The proxy closes the client's socket with the upstream error's message as the reason: keep
      // internal addresses out of it (the log has the details).
      finishRequest: (upstreamRequest: ClientRequest) => {
        upstreamRequest.prependListener('error', (err: Error) => {
          log.warn({ err }, 'websocket upstream unavailable');
          err.message = 'upstream unavailable';
        });
        upstreamRequest.end();
      },
    },
    replyOptions: { getUpstream: (request: FastifyRequest) => upstreamOf(request).origin },
  } as never);

  // ── onResponse: the one log line per request, and the request metrics.
  app.addHook('onResponse', (request, reply, done) => {
    if (request.authgate) inFlight.remove(request.authgate.inFlight);
    const upstream = request.authgate?.upstream?.name ?? 'gateway';
    const status = reply.statusCode;
    const elapsed = reply.elapsedTime;
    metrics.recordRequest(upstream, status, elapsed / 1000);
    // reqId in the line itself: no per-request child logger on the hot path.
    accessLog(request.id, request.method, request.authgate?.path ?? '?', status, elapsed, upstream);
    done();
  });

  app.addHook('onReady', async () => {
    provider.start();
    await store.start();
  });
  app.addHook('onClose', async () => {
    provider.stop();
    await store.close();
  });

  return {
    app,
    context,
    beginShutdown: () => {
      shuttingDown = true;
    },
    inFlightRequests: () =>
      inFlight.values().map((request) => ({
        reqId: String(request.id),
        method: request.method,
        path: request.authgate?.path ?? '?',
        upstream: request.authgate?.upstream?.name ?? 'gateway',
      })),
    reload(next: Config) {
      const restartNeeded = (['server', 'oidc', 'session', 'api'] as const).filter(
        (section) => JSON.stringify(next[section]) !== JSON.stringify(config[section]),
      );
      routes.replace(next.upstreams);
      log.info({ upstreams: next.upstreams.length }, 'configuration reloaded: upstreams and policy replaced');
      if (restartNeeded.length > 0) log.warn({ sections: restartNeeded }, 'configuration changes that need a restart were not applied');
      return { restartNeeded };
    },
  };
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

