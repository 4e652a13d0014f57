/**
 * The services one gateway instance is made of, built once in buildApp and handed to the routes and the
 * guard (they take what they need from it; nothing else reads raw configuration).
 */
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { Metrics } from './observability/metrics.js';
import type { OidcProvider } from './oidc/provider.js';
import type { Transactions } from './oidc/transaction.js';
import type { ResolvePrincipal } from './proxy/principal.js';
import type { RouteTable } from './proxy/upstreams.js';
import type { CookieNames } from './session/cookie-names.js';
import type { Lifetime } from './session/lifetime.js';
import type { Refresher } from './session/refresh.js';
import type { ProviderSessionIndex, ReplayGuard, SessionStore } from './session/types.js';

/** Everything the pipeline's steps share. */
export interface GatewayContext {
  config: Config;
  log: Logger;
  metrics: Metrics;
  provider: OidcProvider;
  store: SessionStore;
  replayGuard: ReplayGuard;
  providerSessions: ProviderSessionIndex;
  refresher: Refresher;
  transactions: Transactions;
  cookieNames: CookieNames;
  lifetime: Lifetime;
  /** The current routes (replaced whole on a config reload). */
  routes: RouteTable;
  /** Finds who a request acts as (session, else bearer token). */
  resolvePrincipal: ResolvePrincipal;
}
