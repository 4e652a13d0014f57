/**
 * `authgate migrate oauth2-proxy [--config FILE] [-- FLAG...]`: reads the oauth2-proxy configuration
 * (TOML file, OAUTH2_PROXY_* variables, flags), prints authgate YAML on stdout and one line per option not
 * carried on stderr. Exit 0 when the YAML passes the configuration checks with the environment it will
 * run with (this one, plus the `${VAR}` secrets it wrote, set as stderr says); 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { convertOptions } from './convert.js';
import { emitYaml } from './emit-yaml.js';
import { formatLine } from './migration.js';
import { readProxyOptions } from './read-sources.js';

const USAGE = `Usage: authgate migrate oauth2-proxy [--config FILE] [-- FLAG...]

  --config FILE   oauth2-proxy's TOML configuration file
  -- FLAG...      oauth2-proxy command-line flags, as given to oauth2-proxy (they win over the file)

OAUTH2_PROXY_* environment variables are read too (they win over the file, flags win over them).
The authgate YAML goes to stdout; what could not be carried over goes to stderr, one line each.
Secrets are written as \${VAR} references, never in clear; stderr names the variables to set.
Exit 0 when the YAML passes --check, 1 otherwise.
`;

/** The configuration checks of `--check` on YAML text run with `env`: its problems ([] when valid) and warnings. */
export type CheckConfigText = (text: string, env: Record<string, string | undefined>) => { problems: string[]; warnings: string[] };

/** Runs the migrate subcommand; `argv` follows "migrate". Returns the exit code. */
export function runMigrate(argv: string[], check: CheckConfigText, env: NodeJS.ProcessEnv = process.env): number {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const flags = split === -1 ? [] : argv.slice(split + 1);
  let args;
  try {
    args = parseArgs({ args: own, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`authgate migrate: ${(err as Error).message}\n${USAGE}`);
    return 1;
  }
  if (args.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1 || args.positionals[0] !== 'oauth2-proxy') {
    process.stderr.write(`authgate migrate: say what to migrate from: oauth2-proxy\n${USAGE}`);
    return 1;
  }
  const options = readProxyOptions({ configFile: args.values.config, env, flags });
  if (options.fileError !== undefined) {
    process.stderr.write(`authgate migrate: cannot read ${options.configFile ?? 'the configuration file'}: ${options.fileError}\n`);
    return 1;
  }
  const migration = convertOptions(options);
  const source = options.configFile ?? 'OAUTH2_PROXY_* variables and flags';
  const yaml = emitYaml(migration, source);
  process.stdout.write(yaml);

  const lines = migration.lines.map(formatLine);
  // The variables the user already set win over the values the converter found.
  const runEnv: Record<string, string | undefined> = { ...migration.secretEnv };
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') runEnv[name] = value;
  const { problems, warnings } = check(yaml, runEnv);
  for (const problem of problems) lines.push(`authgate migrate: the output does not pass --check: ${problem}`);
  for (const warning of warnings) lines.push(`authgate migrate: --check warns: ${warning}`);
  if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
  return problems.length === 0 && !migration.lines.some((l) => l.kind === 'problem') ? 0 : 1;
}
