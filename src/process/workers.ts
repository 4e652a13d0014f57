/**
 * `server.workers: N | auto` with node:cluster: the primary forks the workers (each a whole gateway on the
 * shared listen port), restarts one that dies unexpectedly, passes SIGTERM/SIGINT/SIGHUP on, exits when all
 * have stopped, and serves `/metrics` summed over workers on `server.metricsListen` (prom-client's
 * AggregatorRegistry). Sessions work across workers as across replicas: use the Redis store when the
 * provider rotates refresh tokens (docs/sessions.md).
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { createLogger, effectiveLogLevel } from '../observability/logger.js';
import { formatAddress, STARTUP_MESSAGE, startupFields } from '../observability/startup-line.js';

/** How many gateway processes the configuration asks for. */
export function workerCount(config: Config): number {
  return config.server.workers === 'auto' ? availableParallelism() : config.server.workers;
}

/** Restarts allowed within RESTART_WINDOW_MS before the primary gives up (a crash loop). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** Runs the primary process until every worker has stopped. */
export async function runPrimary(config: Config, file: string): Promise<void> {
  const log = createLogger(undefined, effectiveLogLevel(config.server.logLevel), true);
  const count = workerCount(config);
  let stopping = false;
  let worstExit = 0;
  const restarts: number[] = [];

  const fork = (): Worker => cluster.fork({ AUTHGATE_WORKER: '1', AUTHGATE_CONFIG: file });
  for (let i = 0; i < count; i++) fork();
  log.info({ workers: count, pid: process.pid }, 'started worker processes');
  logStartupOnceListening(config, count, log);

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      worstExit = Math.max(worstExit, code ?? 1);
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info({ exitCode: worstExit }, 'all workers stopped');
        process.exit(worstExit);
      }
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && (restarts[0] ?? now) < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      log.error({ restarts: restarts.length }, 'workers keep dying; stopping');
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      worstExit = 1;
      return;
    }
    log.warn({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    fork();
  });

  const forward = (signal: NodeJS.Signals) => {
    if (signal !== 'SIGHUP') stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGHUP', () => forward('SIGHUP'));

  if (config.server.metricsListen !== '') {
    const aggregator = new AggregatorRegistry();
    const { host, port } = config.server.metricsListen;
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      aggregator.clusterMetrics().then(
        (text) => res.writeHead(200, { 'content-type': aggregator.contentType }).end(text),
        () => res.writeHead(503).end(),
      );
    });
    server.listen(port, host);
    server.unref();
  }
}

/**
 * Writes the start-up line once, when each of the first `count` workers has reported listening: one line
 * per start, as with one process (a replaced worker does not repeat it; its "worker died" line says why).
 */
function logStartupOnceListening(config: Config, count: number, log: ReturnType<typeof createLogger>): void {
  const listening = new Set<number>();
  const onListening = (worker: Worker, address: { address: string | null; port: number; addressType: number | string }) => {
    listening.add(worker.id);
    if (listening.size < count) return;
    cluster.off('listening', onListening);
    const host = address.address ?? config.server.listen.host;
    const listen = formatAddress({ address: host, port: address.port, family: address.addressType === 6 ? 'IPv6' : 'IPv4' });
    const { metricsListen } = config.server;
    const metrics = metricsListen === '' ? listen : formatAddress({ address: metricsListen.host, port: metricsListen.port, family: '' });
    log.info(startupFields(config, { listen, metrics, workers: count }), STARTUP_MESSAGE);
  };
  cluster.on('listening', onListening);
}
