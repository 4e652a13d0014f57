/**
 * Loads the YAML configuration: parse, replace `${VAR}` / `${VAR:-default}` from the environment, read
 * `xxxFile` secrets, validate against the schema, freeze. Every problem is collected with its YAML path,
 * so one run of `--check` shows all of them.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { isSecretAt, keysAt } from './schema-walk.js';
import { suggestKey } from './suggest-key.js';

/** A configuration that could not be loaded; `problems` holds one "path: message" line each. */
export class ConfigError extends Error {
  readonly code = 'AUTHGATE_ERR_CONFIG';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    // One problem fits on one line; several get a count and a line each.
    super(problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: ${problems.length} problems\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
type PathPart = string | number;

const SHAPE_HINT = 'it must be a YAML mapping with server, oidc, session and upstreams';

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
  let tree: unknown;
  try {
    tree = doc.toJS();
  } catch (err) {
    // e.g. an alias to an unknown anchor, or too many aliases
    throw new ConfigError(source, [`YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
  if (tree === null || tree === undefined) throw new ConfigError(source, [`the file is empty; ${SHAPE_HINT}`]);
  if (typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError(source, [`the file holds ${Array.isArray(tree) ? 'a list' : 'a single value'}; ${SHAPE_HINT}`]);
  }
  const refs: References = { env, problems: [], explained: new Set(), fileSources: new Map() };
  const resolved = resolveReferences(tree, [], refs);
  const result = configSchema.safeParse(resolved, { reportInput: true });
  const problems = [...refs.problems];
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => formatIssue(issue, refs)));
  if (!result.success || problems.length > 0) throw new ConfigError(source, problems);
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

/** What resolving `${VAR}` and `xxxFile` references found out. */
interface References {
  env: Env;
  problems: string[];
  /** Paths whose value is already explained by a reference problem; the schema's complaint about them is noise. */
  explained: Set<string>;
  /** Path of a value read from a file (`oidc.clientSecret`) → the key the user wrote (`oidc.clientSecretFile`). */
  fileSources: Map<string, string>;
}

function formatIssue(issue: z.core.$ZodIssue, refs: References): string[] {
  const path = issue.path.filter((p): p is PathPart => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const at = describePath([...path, key], refs);
      const meant = meantKey(path, key);
      // A key read from `xxxFile` is reported by the name the user wrote.
      const written = meant !== undefined && at !== formatPath([...path, key]) ? `${meant}File` : meant;
      return `${at}: unknown key${written === undefined ? ' (misspelt? see docs/configuration.md)' : `; did you mean ${written}?`}`;
    });
  }
  const at = formatPath(path);
  if (refs.explained.has(at)) return [];
  if (issue.code === 'invalid_type') {
    // With reportInput the issue carries the input; a missing key is an input of undefined.
    if (issue.input === undefined) return [`${describePath(path, refs)}: required`];
    return [`${describePath(path, refs)}: expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeType(issue.input)}`];
  }
  return [`${describePath(path, refs)}: ${issue.message}`];
}

/**
 * The key an unknown one most likely meant: a sibling spelt nearly the same, or a key of a mapping one level
 * down (`emailDomains` written beside `allow` instead of in it).
 */
function meantKey(path: readonly PathPart[], key: string): string | undefined {
  const siblings = keysAt(path);
  const near = suggestKey(key, siblings);
  if (near !== undefined) return near;
  for (const sibling of siblings) {
    const nested = suggestKey(key, keysAt([...path, sibling]));
    if (nested !== undefined) return `${sibling}.${nested}`;
  }
  return undefined;
}

/** The path as the user wrote it: a value read from `keysFile` is named by that key. */
function describePath(path: readonly PathPart[], refs: References): string {
  const at = formatPath(path);
  for (const [target, source] of refs.fileSources) {
    if (at === target || at.startsWith(`${target}.`) || at.startsWith(`${target}[`)) return `${source} (${at})`;
  }
  return at;
}

/** Zod's type names in YAML words. */
const EXPECTED: Partial<Record<string, string>> = {
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  string: 'text',
  number: 'a number',
};

/** The type of a value in YAML words; never the value itself, which may be a secret. */
function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return typeof value;
}

/** Variable names that hold secrets wherever they are used (a password inside a Redis URL). */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|(^|_)KEYS?($|_)|CREDENTIAL|PRIVATE/i;

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Walks the parsed tree: substitutes environment references in strings and reads `xxxFile` values. */
function resolveReferences(node: unknown, path: PathPart[], refs: References): unknown {
  if (typeof node === 'string') return substituteEnv(node, path, refs);
  if (Array.isArray(node)) return node.map((item, i) => resolveReferences(item, [...path, i], refs));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const resolved = resolveReferences(value, [...path, key], refs);
    if (key.endsWith('File') && key.length > 'File'.length) {
      const target = key.slice(0, -'File'.length);
      const targetPath = formatPath([...path, target]);
      if (target in node) {
        refs.problems.push(`${formatPath([...path, key])}: give either ${target} or ${key}, not both`);
        refs.explained.add(targetPath);
        continue;
      }
      refs.fileSources.set(targetPath, formatPath([...path, key]));
      out[target] = readSecretFile(resolved, target, [...path, key], refs);
      if (out[target] === undefined) refs.explained.add(targetPath);
    } else {
      out[key] = resolved;
    }
  }
  return out;
}

function substituteEnv(text: string, path: PathPart[], refs: References): string {
  return text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
    const value = refs.env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    const at = formatPath(path);
    // A secret has no sensible default: suggesting one invites a secret written into the file.
    const hint = isSecretAt(path) || SECRET_NAME.test(name) ? '' : ` (or write \${${name}:-default})`;
    refs.problems.push(`${at}: environment variable ${name} is ${value === '' ? 'empty' : 'not set'}${hint}`);
    refs.explained.add(at);
    return '';
  });
}

/** Reads a secret from a file; `keysFile` and `tokensFile` hold one a line, every other secret is the trimmed content. */
function readSecretFile(file: unknown, target: string, path: PathPart[], refs: References): unknown {
  if (typeof file !== 'string' || file === '') {
    refs.problems.push(`${formatPath(path)}: expected a file path`);
    return undefined;
  }
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    refs.problems.push(`${formatPath(path)}: cannot read "${file}": ${describeFsError(err)}`);
    return undefined;
  }
  if (target === 'keys' || target === 'tokens') return content.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
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
