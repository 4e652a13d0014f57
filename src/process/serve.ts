/**
 * One gateway process: listen, serve, reload on SIGHUP or when the file changes, and stop on SIGTERM or
 * SIGINT: /ready turns 503 at once, the gateway keeps serving for `shutdownDelay` (SIGTERM only) so load
 * balancers notice, then stops accepting, lets in-flight requests finish and exits 0; after
 * `shutdownGrace` it exits 1, naming the requests it cut.
 */
import { createServer, type Server } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import { buildApp, type Gateway } from '../app.js';
import type { Config } from '../config/schema.js';
import { formatAddress, STARTUP_MESSAGE, startupFields } from '../observability/startup-line.js';
import { watchConfigFile } from './reload.js';

/** Starts the gateway from a loaded configuration and keeps it running until a signal stops it. */
export async function serve(config: Config, file: string): Promise<void> {
  const gateway = await buildApp(config);
  const { app } = gateway;
  // A worker answers the primary's requests for its metrics (summed on server.metricsListen); prom-client
  // starts listening for them when an AggregatorRegistry is created.
  if (process.env.AUTHGATE_WORKER) {
    new AggregatorRegistry(); // registers the worker IPC listener
    AggregatorRegistry.setRegistries([gateway.services.metrics.registry]);
  }
  let metricsServer: Server | undefined;
  try {
    await app.listen({ host: config.server.listen.host, port: config.server.listen.port });
    if (config.server.metricsListen !== '' && !process.env.AUTHGATE_WORKER) {
      metricsServer = await listenMetrics(gateway, config.server.metricsListen);
    }
    // Every worker listens on admin.listen too (node:cluster shares the port), so each has the API.
    if (gateway.admin && config.admin.listen !== '') await gateway.admin.listen({ host: config.admin.listen.host, port: config.admin.listen.port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`authgate: cannot listen: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}\n`);
    await app.close().catch(() => undefined);
    process.exit(1);
  }
  // With workers the primary writes the start-up line, once, when every worker listens (workers.ts).
  if (!process.env.AUTHGATE_WORKER) {
    const listen = formatAddress(app.server.address());
    app.log.info(startupFields(config, { listen, metrics: metricsServer ? formatAddress(metricsServer.address()) : listen }), STARTUP_MESSAGE);
  }

  const watcher = watchConfigFile(file, gateway, app.log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    gateway.beginShutdown();
    const delay = signal === 'SIGTERM' ? config.server.shutdownDelay : 0;
    app.log.info({ signal, delayMs: delay, graceMs: config.server.shutdownGrace }, 'shutting down: /ready answers 503');
    const grace = setTimeout(() => {
      app.log.error({ cut: gateway.inFlightRequests() }, 'shutdown grace period over; cutting the requests still in flight');
      process.exit(1);
    }, config.server.shutdownGrace);
    grace.unref();
    watcher.close();
    setTimeout(() => {
      metricsServer?.close();
      app.close().then(
        () => {
          app.log.info('stopped');
          process.exitCode = 0;
          // A worker's IPC channel to the primary would keep it alive: let go of it to exit.
          if (process.connected && process.disconnect) process.disconnect();
        },
        (err: unknown) => {
          app.log.error({ err }, 'error while stopping');
          process.exit(1);
        },
      );
    }, delay).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => watcher.reloadNow('SIGHUP'));
}

/** Serves /metrics on its own address (server.metricsListen). */
async function listenMetrics(gateway: Gateway, listen: { host: string; port: number }): Promise<Server> {
  const { registry } = gateway.services.metrics;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  return server;
}
