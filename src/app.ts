/**
 * buildApp: the road one request travels, stage by stage in that order. It never listens; cli.ts (or a
 * test) does.
 *
 *   route       rewriteUrl: canonical path and host once, pick the upstream (longest prefix, host first)
 *   prepare     request state, refusals, spoofed identity headers stripped, gateway cookies kept back
 *   gateway     /oauth2/*, /ping, /ready, /metrics
 *   guard       everything else: session or bearer → policy → 302 / 401 / 403 / continue
 *               (→ the upstream's own token, when it has accessToken resource/audience/scopes)
 *   headers     identity, token and X-Forwarded-* injected for the upstream
 *   proxy       the upstream call (HTTP or WebSocket)
 *   write-back  save or end the session as loading it decided
 *   log         one line and the request metrics
 *
 * With tracing on (observability/tracing.ts), a server span per request, the guard's and the upstream
 * call's spans wrap those stages; with it off nothing of it is added.
 */
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { createAdminServer } from './admin/admin-server.js';
import type { Config } from './config/schema.js';
import { createDrainOnClose } from './http/drain.js';
import { registerErrorPages } from './http/error-pages.js';
import { serverOptions } from './http/server-options.js';
import { createWriteBack } from './http/write-back.js';
import { createAccessLogStage } from './observability/access-log.js';
import { registerForward } from './proxy/forward.js';
import { createPrepareRequest } from './proxy/prepare-request.js';
import { createRouteStep } from './proxy/route-step.js';
import { registerWebSocketProxy } from './proxy/websocket.js';
import { registerGatewayRoutes } from './routes/index.js';
import { createServices, reloadServices, type AppDependencies, type Services } from './services.js';

export type { AppDependencies } from './services.js';

/** A built gateway: the fastify instance and the services behind it. */
export interface Gateway {
  app: FastifyInstance;
  /** The admin API (admin.listen set): its own instance, never on the road's listener; started by the caller. */
  admin: FastifyInstance | undefined;
  services: Services;
  /** Marks the gateway as draining: /ready answers 503, answers close their connections. */
  beginShutdown(): void;
  /** The requests in flight, for the log line when the shutdown grace period cuts them. */
  inFlightRequests(): Array<{ reqId: string; method: string; path: string; upstream: string }>;
  /** Applies a newly loaded configuration (upstreams and policy); names the sections that need a restart. */
  reload(next: Config): { restartNeeded: string[] };
}

/** Builds the gateway (ready to listen). */
export async function buildApp(config: Config, deps: AppDependencies = {}): Promise<Gateway> {
  const services = await createServices(config, deps);
  // route: rewriteUrl is the only hook that runs before fastify's route lookup.
  const app = Fastify({ ...serverOptions(config.server, services.log, services.isTrustedProxy), rewriteUrl: createRouteStep(services.routes) });
  // write-back first: @fastify/cookie's onSend writes Set-Cookie and ignores cookies set after it ran.
  app.addHook('onSend', createWriteBack(services));
  await app.register(fastifyCookie, { hook: false });
  app.decorateRequest('authgate', null as unknown as FastifyRequest['authgate']);
  app.decorate('authgatePages', services.pages); // sendGatewayError renders with it from any stage
  const { tracing } = services;
  tracing?.register(app); // before prepare (its span covers refusals) and before any route (it wraps handlers)
  app.addHook('onRequest', createPrepareRequest(services));
  registerErrorPages(app); // before any route scope: a scope keeps the error handler it saw
  await registerGatewayRoutes(app, services);
  const guarded = tracing ? { ...services, guard: tracing.traceGuard(services.guard) } : services;
  await registerForward(app, guarded); // guard → headers → undici, answer through the reply
  await registerWebSocketProxy(app, guarded); // guard → headers → @fastify/http-proxy
  app.addHook('onResponse', createAccessLogStage(services));

  app.addHook('onReady', async () => {
    services.providers.start();
    await services.store.start();
  });
  // close() drains too: without it a client's spare connection holds close() for the keep-alive timeout.
  app.addHook('preClose', createDrainOnClose(app.server, services.drain));
  const admin = config.admin.listen === '' ? undefined : createAdminServer(config.admin, services);
  app.addHook('onClose', async () => {
    services.providers.stop();
    services.sessionSockets.close();
    await admin?.close();
    await services.store.close();
  });
  return {
    app,
    admin,
    services,
    beginShutdown() {
      services.drain.draining = true;
    },
    inFlightRequests: () =>
      services.inFlight.values().map((request) => ({
        reqId: String(request.id),
        method: request.method,
        path: request.authgate?.path ?? '?',
        upstream: request.authgate?.upstream?.name ?? 'gateway',
      })),
    reload: (next) => reloadServices(services, next),
  };
}
