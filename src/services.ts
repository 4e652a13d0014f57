/**
 * Every service of one gateway, built once from the frozen configuration before the road is laid: each
 * stage and route is then given the few it uses. Nothing here depends on the fastify instance of the road.
 */
import type { FastifyRequest } from 'fastify';
import Fastify from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import { createBeginLogin, type BeginLogin, type LoginAt } from './http/begin-login.js';
import type { DrainState } from './http/drain.js';
import { compileTrustedProxies, type TrustedProxyMatcher } from './http/trusted-proxies.js';
import { InFlightList } from './observability/in-flight.js';
import { createLogger, effectiveLogLevel } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createTracing, type Tracing } from './observability/tracing.js';
import type { RetryPolicy } from './oidc/provider.js';
import { createProviders, type Providers } from './oidc/providers.js';
import { loadPages, type Pages } from './pages/load-pages.js';
import { createGuard, type Guard } from './proxy/guard.js';
import { createPrincipalResolver, type ResolvePrincipal } from './proxy/principal.js';
import { createStepUpGate, type StepUpGate } from './proxy/step-up-gate.js';
import { createUpstreamTokens, type UpstreamTokens } from './proxy/upstream-tokens.js';
import { resourcesFor, RouteTable } from './proxy/upstreams.js';
import type { SessionAccess } from './session/access.js';
import { buildCookieNames, type CookieNames } from './session/cookie-names.js';
import { createCookieStore } from './session/cookie-store.js';
import { deriveKeys } from './session/keys.js';
import type { Lifetime } from './session/lifetime.js';
import { createRefresher, type Refresher } from './session/refresh.js';
import { createRevocations } from './session/revocations.js';
import { createSealBoxes } from './session/seal.js';
import { createSessionEndings } from './session/session-endings.js';
import { createSessionSockets, type SessionSockets } from './session/session-sockets.js';
import { createTransactions, TRANSACTION_TTL_SECONDS, type Transactions } from './session/transaction.js';
import type { ProviderSessionIndex, ReplayGuard, SessionBackend, SessionControl, SessionStore } from './session/types.js';

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
  /** The clock session lifetimes and the refresh back-off are judged by (ms; default Date.now). */
  now?: () => number;
}

/** The services one gateway is made of. */
export interface Services {
  /** The frozen configuration they were built from. */
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Spans and trace propagation; undefined when tracing is off. */
  tracing: Tracing | undefined;
  now: () => number;
  /** The current routes (replaced whole on a config reload). */
  routes: RouteTable;
  cookieNames: CookieNames;
  lifetime: Lifetime;
  /** One trusted-proxy matcher for fastify's request.ip/ips/host/protocol and for forward-auth's peer check. */
  isTrustedProxy: TrustedProxyMatcher;
  /** Every identity provider, each discovered on its own. */
  providers: Providers;
  store: SessionStore;
  replayGuard: ReplayGuard;
  providerSessions: ProviderSessionIndex;
  /** Lists and ends sessions (the admin API); announces ended sessions. */
  sessionControl: SessionControl;
  /** Open WebSockets by session, closed when their session ends. */
  sessionSockets: SessionSockets;
  refresher: Refresher;
  transactions: Transactions;
  sessionAccess: SessionAccess;
  resolvePrincipal: ResolvePrincipal;
  beginLogin: BeginLogin;
  /** A login at one named provider (/oauth2/start?provider=, the sign-in page). */
  loginAt: LoginAt;
  /** The RFC 8707 resources a login at a provider asks for (upstreams' own tokens). */
  loginResources: (providerId: string) => readonly string[];
  guard: Guard;
  /** Step-up rules (allow.acr, allow.maxAge) judged for the guard, forward-auth and /oauth2/start. */
  stepUp: StepUpGate;
  /** Upstreams' own tokens, for the guard and for forward-auth's X-Auth-Request-Access-Token. */
  upstreamTokens: UpstreamTokens;
  inFlight: InFlightList<FastifyRequest>;
  drain: DrainState;
  /** The page templates, compiled at start-up (pages.dir read once: a change needs a restart). */
  pages: Pages;
}

/** Builds the services (connections are opened later, in the road's onReady). */
export async function createServices(config: Config, deps: AppDependencies = {}): Promise<Services> {
  const log = deps.logger ?? createLogger(deps.logStream, effectiveLogLevel(config.server.logLevel));
  logConfigWarnings(log, config);
  const now = deps.now ?? Date.now;
  const metrics = createMetrics();
  const routes = new RouteTable(config.upstreams, config.server.publicUrl);
  const cookieNames = buildCookieNames(config.server.publicUrl, config.session.cookieName);
  const lifetime = { idleTimeout: config.session.idleTimeout, absoluteTimeout: config.session.absoluteTimeout };
  const isTrustedProxy = compileTrustedProxies(config.server.trustedProxies);
  const tracing = await createTracing(config.tracing, { log, isTrustedProxy });
  const providers = createProviders(config, { claimNames: () => routes.current.claimNames, log, metrics, retry: deps.discoveryRetry, keysRefreshMs: deps.keysRefreshMs, tracing });
  const boxes = await sealBoxes(config);
  const { store, refreshLock, replayGuard, providerSessions, control: sessionControl, upstreamTokens: sharedUpstreamTokens } = await sessionBackend(config, { log, metrics, cookieNames, lifetime, boxes });
  const sessionSockets = createSessionSockets({ control: sessionControl, lifetime, now, log });
  const refresher = createRefresher({ providers, refreshLock, metrics, log, skewMs: config.session.refreshSkew, retryAfterMs: deps.refreshRetryMs, now });
  const transactions = createTransactions(cookieNames, boxes.transaction);
  const sessionAccess = { store, refresher, lifetime, now, providers };
  const loginResources = (id: string) => resourcesFor(routes.current, id);
  const resolvePrincipal = createPrincipalResolver({ session: sessionAccess, providers, routes, api: config.api });
  const { beginLogin, loginAt } = createBeginLogin({ transactions, providers, metrics, resources: loginResources });
  const stepUp = createStepUpGate({ providers, now });
  const upstreamTokens = createUpstreamTokens({
    providers,
    refresher,
    shared: sharedUpstreamTokens,
    endings: sessionControl.endings,
    skewMs: config.session.refreshSkew,
    now,
    log,
  });
  const guard = createGuard({ publicUrl: config.server.publicUrl, metrics, resolvePrincipal, beginLogin, stepUp, upstreamTokens });
  const pages = loadPages(config.pages, config.server.publicUrl);
  return {
    config,
    log,
    metrics,
    tracing,
    now,
    routes,
    cookieNames,
    lifetime,
    isTrustedProxy,
    providers,
    store,
    replayGuard,
    providerSessions,
    sessionControl,
    sessionSockets,
    refresher,
    transactions,
    sessionAccess,
    resolvePrincipal,
    beginLogin,
    loginAt,
    loginResources,
    guard,
    stepUp,
    upstreamTokens,
    // A request whose connection is closed can no longer be answered (HTTP/1: one request at a time per socket).
    inFlight: new InFlightList<FastifyRequest>((request) => request.raw.socket?.destroyed !== false),
    drain: { draining: false },
    pages,
  };
}

type Boxes = Awaited<ReturnType<typeof createSealBoxes>>;

/**
 * Cookies, login transactions and Redis records of this gateway open only here (keys.ts): bound to the
 * primary provider (the first), so adding providers after it keeps everyone signed in. The boxes borrow
 * @fastify/secure-session's sealing, which needs a fastify instance to register on: a private one, closed at
 * once, so the road's instance holds no sealing plugin and the services need no road to be built.
 */
async function sealBoxes(config: Config): Promise<Boxes> {
  const binding = { issuer: config.oidc.issuer, clientId: config.oidc.clientId, publicUrl: config.server.publicUrl };
  const host = Fastify();
  const boxes = await createSealBoxes(
    host,
    {
      session: deriveKeys(config.session.keys, 'session', binding),
      transaction: deriveKeys(config.session.keys, 'login-transaction', binding),
      record: deriveKeys(config.session.keys, 'session-record', binding),
    },
    { session: Math.ceil(config.session.absoluteTimeout / 1000), transaction: TRANSACTION_TTL_SECONDS },
  );
  await host.close();
  return boxes;
}

/** The cookie store, or the Redis one. */
async function sessionBackend(
  config: Config,
  deps: { log: Logger; metrics: Metrics; cookieNames: CookieNames; lifetime: Lifetime; boxes: Boxes },
): Promise<SessionBackend> {
  const { log, metrics, cookieNames, lifetime, boxes } = deps;
  if (config.session.store !== 'redis') {
    return createCookieStore({
      names: cookieNames,
      box: boxes.session,
      maxAgeSeconds: Math.ceil(config.session.absoluteTimeout / 1000),
      revocations: createRevocations({ max: 100_000, ttlMs: config.session.absoluteTimeout }),
      endings: createSessionEndings((err) => log.warn({ err }, 'session end listener failed')),
    });
  }
  // ioredis is loaded only for the Redis store: importing it costs a cookie-store gateway RSS (BENCHMARKS.md).
  const { createRedisStore } = await import('./session/redis-store.js');
  const { createRedisClient } = await import('./session/redis-client.js');
  return createRedisStore({
    redis: createRedisClient(config.session.redis.url, config.session.redis.timeout, log),
    clientCache: config.session.redis.clientCache,
    names: cookieNames,
    cookieBox: boxes.session,
    recordBox: boxes.record,
    lifetime,
    metrics,
    log,
    startWaitMs: Math.max(config.session.redis.timeout, 5_000),
  });
}

/**
 * Applies a newly loaded configuration: upstreams and policy are replaced at once (requests in flight keep
 * the route they had; sessions are untouched). Sections that need a restart are named, not applied.
 */
export function reloadServices(services: Services, next: Config): { restartNeeded: string[] } {
  const { config, routes, log } = services;
  const changed = (['server', 'oidc', 'providers', 'session', 'api', 'tracing', 'pages', 'admin'] as const).filter(
    (section) => JSON.stringify(next[section]) !== JSON.stringify(config[section]),
  );
  // oidc is the first provider: a change there is named once, as the section the file has.
  const restartNeeded = changed.includes('oidc') && next.providers.length === 1 ? changed.filter((section) => section !== 'providers') : changed;
  routes.replace(next.upstreams);
  log.info({ upstreams: next.upstreams.length }, 'configuration reloaded: upstreams and policy replaced');
  logConfigWarnings(log, next);
  if (restartNeeded.length > 0) log.warn({ sections: restartNeeded }, 'configuration changes that need a restart were not applied');
  return { restartNeeded };
}

/** One warning line per thing in the configuration worth a second look (config/warnings.ts). */
function logConfigWarnings(log: Services['log'], config: Config): void {
  for (const warning of configWarnings(config)) log.warn({ warning }, 'configuration warning');
}
