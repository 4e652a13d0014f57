#!/usr/bin/env node
/**
 * The authgate command: argv → load config → buildApp → listen; signals; --check.
 * User errors (bad config, a port in use) are one clear message on stderr and exit 1, never a stack trace.
 */
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { buildApp, type Gateway } from './app.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import type { Config } from './config/schema.js';

const USAGE = `Usage: authgate --config FILE [--check]

  --config FILE   the YAML configuration (or set AUTHGATE_CONFIG)
  --check         validate the configuration and exit (0: valid, 1: problems); no network
  --help          this text
`;

/** Runs the command line; resolves to the exit code for --check and usage errors. */
async function main(argv: string[]): Promise<number | undefined> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`authgate: ${(err as Error).message}\n${USAGE}`);
    return 1;
  }
  if (args.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const file = args.values.config ?? process.env.AUTHGATE_CONFIG;
  if (!file) {
    process.stderr.write(`authgate: no configuration: pass --config FILE or set AUTHGATE_CONFIG\n${USAGE}`);
    return 1;
  }

  let config: Config;
  try {
    config = loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`authgate: invalid configuration ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (args.values.check) {
    process.stdout.write(`${file}: configuration is valid (${config.upstreams.length} upstream${config.upstreams.length === 1 ? '' : 's'})\n`);
    return 0;
  }
  await serve(config);
  return undefined;
}

/** Starts the gateway and keeps it running until a signal stops it. */
async function serve(config: Config): Promise<void> {
  const gateway = await buildApp(config);
  const { app } = gateway;
  if (config.server.workers !== 1) app.log.warn({ workers: config.server.workers }, 'server.workers is not supported yet; running one process');
  let metricsServer: Server | undefined;
  try {
    await app.listen({ host: config.server.listen.host, port: config.server.listen.port });
    if (config.server.metricsListen !== '') metricsServer = await listenMetrics(gateway, config.server.metricsListen);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`authgate: cannot listen: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}\n`);
    await app.close().catch(() => undefined);
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    gateway.beginShutdown();
    app.log.info({ signal, graceMs: config.server.shutdownGrace }, 'shutting down');
    const timer = setTimeout(() => {
      app.log.error({ inFlight: gateway.inFlight() }, 'shutdown grace period over; cutting the requests still in flight');
      process.exit(1);
    }, config.server.shutdownGrace);
    timer.unref();
    metricsServer?.close();
    app.close().then(
      () => {
        app.log.info('stopped');
        process.exitCode = 0;
      },
      (err: unknown) => {
        app.log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Serves /metrics on its own address (server.metricsListen). */
async function listenMetrics(gateway: Gateway, listen: { host: string; port: number }): Promise<Server> {
  const { registry } = gateway.context.metrics;
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`authgate: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
