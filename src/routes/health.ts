/**
 * Liveness (/ping), readiness (/ready: some provider's metadata loaded and the session store answering) and
 * the Prometheus endpoint (/metrics).
 */
import type { FastifyInstance } from 'fastify';
import type { DrainState } from '../http/drain.js';
import type { Metrics } from '../observability/metrics.js';
import type { Providers } from '../oidc/providers.js';
import type { SessionStore } from '../session/types.js';

/** What the health routes look at. */
export interface HealthDeps {
  providers: Providers;
  store: SessionStore;
  metrics: Metrics;
  drain: DrainState;
  /** False when /metrics is served on its own listener (server.metricsListen). */
  serveMetrics: boolean;
}

/** Registers /ping, /ready and, unless served on its own listener, /metrics. */
export function registerHealth(app: FastifyInstance, deps: HealthDeps): void {
  const { providers, store, metrics, drain } = deps;
  app.get('/ping', async (_request, reply) => reply.type('text/plain').send('OK'));

  app.get('/ready', async (_request, reply) => {
    // One provider down leaves the others' users working: ready while any provider is, naming the missing.
    const missing = providers.missing();
    const providerReady = missing.length < providers.list.length;
    const storeReady = await store.ping().catch(() => false);
    const shuttingDown = drain.draining;
    const ready = providerReady && storeReady && !shuttingDown;
    return reply.code(ready ? 200 : 503).send({ ready, provider: providerReady, providersMissing: missing, sessionStore: storeReady, shuttingDown });
  });

  if (deps.serveMetrics) {
    app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  }
}
