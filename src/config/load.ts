/**
 * Loads the YAML configuration: parse, replace `${VAR}` / `${VAR:-default}` from the environment, read
 * `xxxFile` secrets, validate against the schema, freeze. Every problem is collected with its YAML path,
 * so one run of `--check` shows all of them.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** A configuration that could not be loaded; `problems` holds one "path: message" line each. */
export class ConfigError extends Error {
  readonly code = 'AUTHGATE_ERR_CONFIG';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
type PathPart = string | number;

/** Reads and validates a configuration file; throws ConfigError listing every problem. */
export function loadConfigFile(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${describeFsError(err)}`]);
  }
  return parseConfigText(text, file, env);
}

/** Validates configuration text (YAML); `source` names it in messages. */
export function parseConfigText(text: string, source: string, env: Env = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`));
  }
  const tree: unknown = doc.toJS();
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError(source, ['the file must be a YAML mapping with server, oidc, session and upstreams']);
  }
  const problems: string[] = [];
  const resolved = resolveReferences(tree, [], env, problems);
  const result = configSchema.safeParse(resolved);
  if (!result.success) problems.push(...result.error.issues.flatMap(formatIssue));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return deepFreeze(result.data);
}

/** Formats a YAML path the way users read it: `upstreams[1].allow.groups`. */
export function formatPath(path: readonly PathPart[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out || '(top level)';
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.filter((p): p is PathPart => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...path, key])}: unknown key (misspelt? see docs/configuration.md)`);
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [`${formatPath(path)}: required`];
  }
  return [`${formatPath(path)}: ${issue.message}`];
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Walks the parsed tree: substitutes environment references in strings and reads `xxxFile` values. */
function resolveReferences(node: unknown, path: PathPart[], env: Env, problems: string[]): unknown {
  if (typeof node === 'string') return substituteEnv(node, path, env, problems);
  if (Array.isArray(node)) return node.map((item, i) => resolveReferences(item, [...path, i], env, problems));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const resolved = resolveReferences(value, [...path, key], env, problems);
    if (key.endsWith('File') && key.length > 'File'.length) {
      const target = key.slice(0, -'File'.length);
      if (target in node) {
        problems.push(`${formatPath([...path, key])}: give either ${target} or ${key}, not both`);
        continue;
      }
      out[target] = readSecretFile(resolved, target, [...path, key], problems);
    } else {
      out[key] = resolved;
    }
  }
  return out;
}

function substituteEnv(text: string, path: PathPart[], env: Env, problems: string[]): string {
  return text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    problems.push(`${formatPath(path)}: environment variable ${name} is not set (or use \${${name}:-default})`);
    return '';
  });
}

/** Reads a secret from a file; `keysFile` holds one key a line, every other secret is the trimmed content. */
function readSecretFile(file: unknown, target: string, path: PathPart[], problems: string[]): unknown {
  if (typeof file !== 'string' || file === '') {
    problems.push(`${formatPath(path)}: expected a file path`);
    return undefined;
  }
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${formatPath(path)}: cannot read "${file}": ${describeFsError(err)}`);
    return undefined;
  }
  if (target === 'keys') return content.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return content.trim();
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? String(err);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
