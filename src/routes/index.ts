/**
 * The gateway's own routes (/oauth2/*, /ping, /ready, /metrics) in one scope, each given the few services
 * it uses. The scope parses forms (sign-out, back-channel logout) and accepts, without parsing, any other body.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { BeginLogin, LoginAt } from '../http/begin-login.js';
import type { Pages } from '../pages/load-pages.js';
import type { SessionAccess } from '../session/access.js';
import type { Transactions } from '../session/transaction.js';
import type { ProviderSessionIndex } from '../session/types.js';
import { registerForwardAuth, type ForwardAuthDeps } from './auth.js';
import { registerBackchannelLogout } from './backchannel-logout.js';
import { registerCallback, type CallbackDeps } from './callback.js';
import { registerHealth, type HealthDeps } from './health.js';
import { registerJwks } from './jwks.js';
import { registerSignIn } from './sign-in.js';
import { registerSignOut } from './sign-out.js';
import { registerSignedOut } from './signed-out.js';
import { registerStart } from './start.js';
import { registerUserinfo } from './userinfo.js';

/** The services the gateway routes use between them. */
export interface GatewayRoutesDeps extends ForwardAuthDeps, CallbackDeps, Omit<HealthDeps, 'serveMetrics'> {
  config: Config;
  providerSessions: ProviderSessionIndex;
  transactions: Transactions;
  beginLogin: BeginLogin;
  loginAt: LoginAt;
  sessionAccess: SessionAccess;
  pages: Pages;
}

/** Registers the gateway routes in a scope of their own. */
export async function registerGatewayRoutes(app: FastifyInstance, deps: GatewayRoutesDeps): Promise<void> {
  const { config } = deps;
  const publicUrl = config.server.publicUrl;
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
    registerHealth(scope, { ...deps, serveMetrics: config.server.metricsListen === '' });
    registerStart(scope, { ...deps, publicUrl });
    registerSignIn(scope, { ...deps, publicUrl });
    registerCallback(scope, deps);
    registerSignOut(scope, { store: deps.store, providers: deps.providers, publicUrl, pages: deps.pages });
    registerSignedOut(scope, deps.pages);
    registerUserinfo(scope, deps.sessionAccess);
    registerForwardAuth(scope, deps);
    registerBackchannelLogout(scope, deps);
    registerJwks(scope, deps.providers);
  });
}
