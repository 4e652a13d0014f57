#!/usr/bin/env node
/**
 * The authgate command: argv → load config → (workers) → buildApp → listen; signals; reload; --check.
 * User errors (bad config, a port in use) are one clear message on stderr and exit 1, never a stack trace.
 */
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, parseConfigText } from './config/load.js';
import { loadPages, PageTemplateError } from './pages/load-pages.js';
import type { Config } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import { runPrimary, workerCount } from './process/workers.js';
import { serve } from './process/serve.js';
import { packageVersion } from './version.js';

const USAGE = `Usage: authgate --config FILE [--check]
       authgate migrate oauth2-proxy [--config FILE] [-- FLAG...]

  --config FILE   the YAML configuration (or set AUTHGATE_CONFIG)
  --check         validate the configuration and exit (0: valid, 1: problems); no network
  --version       the version, and exit
  --help          this text

Signals: SIGTERM drains and exits 0 (1 if shutdownGrace cut requests); SIGINT stops at once, draining;
SIGHUP (or a change of the file) reloads upstreams and policy.
`;

/** Runs the command line; resolves to the exit code for --check and usage errors. */
async function main(argv: string[]): Promise<number | undefined> {
  if (argv[0] === 'migrate') {
    // Loaded only when asked for: serving never pays for the TOML parser.
    const { runMigrate } = await import('./migrate/command.js');
    return runMigrate(argv.slice(1), (text, env) => {
      try {
        return { problems: [], warnings: configWarnings(parseConfigText(text, 'the migrated configuration', env)) };
      } catch (err) {
        if (err instanceof ConfigError) return { problems: err.problems, warnings: [] };
        throw err;
      }
    });
  }
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
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
  if (args.values.version) {
    process.stdout.write(`authgate ${packageVersion()}\n`);
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
    // The page templates of pages.dir are configuration too: --check and a primary refuse a broken one.
    loadPages(config.pages, config.server.publicUrl);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PageTemplateError) {
      process.stderr.write(`authgate: invalid configuration ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (args.values.check) {
    for (const warning of configWarnings(config)) process.stderr.write(`authgate: warning: ${warning}\n`);
    process.stdout.write(`${file}: configuration is valid (${config.upstreams.length} upstream${config.upstreams.length === 1 ? '' : 's'})\n`);
    return 0;
  }
  if (cluster.isPrimary && workerCount(config) > 1) {
    await runPrimary(config, file);
    return undefined;
  }
  await serve(config, file);
  return undefined;
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
