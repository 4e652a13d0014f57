/**
 * Liveness (/ping), readiness (/ready: provider metadata loaded and the session store answering) and
 * the Prometheus endpoint (/metrics).
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

/** Registers /ping, /ready and, unless served on its own listener, /metrics. */
export function registerHealth(app: FastifyInstance, ctx: GatewayContext, options: { metrics: boolean; isShuttingDown: () => boolean }): void {
  app.get('/ping', async (_request, reply) => reply.type('text/plain').send('OK'));

  app.get('/ready', async (_request, reply) => {
    const provider = ctx.provider.ready;
    const store = await ctx.store.ping().catch(() => false);
    const shuttingDown = options.isShuttingDown();
    const ready = provider && store && !shuttingDown;
    return reply.code(ready ? 200 : 503).send({ ready, provider, sessionStore: store, shuttingDown });
  });

  if (options.metrics) {
    app.get('/metrics', async (_request, reply) =>
      reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
    );
  }
}
