/**
 * Reads an oauth2-proxy configuration from its three sources and merges them as oauth2-proxy does: flags
 * win over OAUTH2_PROXY_* variables, which win over the TOML file. Values are typed by the option table.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { FLAG_TO_KEY, OPTIONS, type OptionKind } from './options.js';

/** A parsed option value: text, a flag, a list, or a duration in milliseconds (or an int). */
export type OptionValue = string | boolean | string[] | number;

/** Where an option's value came from. */
export type OptionSource = 'file' | 'env' | 'flag';

/** The merged configuration, with what could not be read. */
export interface ProxyOptions {
  values: Map<string, OptionValue>;
  sources: Map<string, OptionSource>;
  /** Names oauth2-proxy does not have (misspelt, or newer than this converter), as written. */
  unknown: string[];
  /** Values that could not be read (a bad duration, an unreadable file): the run fails. */
  problems: string[];
  /** The TOML file read, if any. */
  configFile?: string;
  /** Why the TOML file could not be read or parsed: nothing else is worth converting then. */
  fileError?: string;
}

type Env = Record<string, string | undefined>;
const ENV_PREFIX = 'OAUTH2_PROXY_';

/** Reads the TOML file (if any), the environment and the flags, and merges them. */
export function readProxyOptions(input: { configFile?: string; env: Env; flags: string[] }): ProxyOptions {
  const out: ProxyOptions = { values: new Map(), sources: new Map(), unknown: [], problems: [] };
  const flags = parseFlags(input.flags, out);
  // oauth2-proxy takes --config from its own flags too.
  const configFile = (flags.get('config') as string | undefined) ?? input.configFile;
  flags.delete('config');
  if (configFile !== undefined) {
    out.configFile = configFile;
    readToml(configFile, out);
  }
  for (const [name, raw] of Object.entries(input.env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const key = name.slice(ENV_PREFIX.length).toLowerCase();
    if (key === 'config') continue;
    const spec = OPTIONS.get(key);
    if (!spec) {
      out.unknown.push(name);
      continue;
    }
    set(out, key, convert(spec.kind, raw, name, out), 'env');
  }
  for (const [key, value] of flags) set(out, key, value, 'flag');
  return out;
}

function set(out: ProxyOptions, key: string, value: OptionValue | undefined, source: OptionSource): void {
  if (value === undefined) return;
  // google_group is the old spelling of google_groups; one name downstream.
  const name = key === 'google_group' ? 'google_groups' : key;
  out.values.set(name, value);
  out.sources.set(name, source);
}

function readToml(file: string, out: ProxyOptions): void {
  let tree: Record<string, unknown>;
  try {
    tree = parseToml(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    out.fileError = code === 'ENOENT' ? 'no such file' : code ?? (err instanceof Error ? err.message.split('\n')[0] : String(err));
    return;
  }
  for (const [key, raw] of Object.entries(tree)) {
    const spec = OPTIONS.get(key);
    if (!spec) {
      out.unknown.push(key);
      continue;
    }
    set(out, key, fromToml(spec.kind, raw, key, out), 'file');
  }
}

function fromToml(kind: OptionKind, raw: unknown, key: string, out: ProxyOptions): OptionValue | undefined {
  if (kind === 'list') {
    if (Array.isArray(raw)) return raw.map(String);
    return typeof raw === 'string' ? [raw] : bad(out, key, 'a list of strings');
  }
  if (kind === 'bool') return typeof raw === 'boolean' ? raw : convert(kind, String(raw), key, out);
  // A bare number as a Go duration counts nanoseconds.
  if (kind === 'duration' && typeof raw === 'number') return raw / 1e6;
  if (typeof raw === 'string' || typeof raw === 'number') return convert(kind, String(raw), key, out);
  return bad(out, key, kind === 'int' ? 'a number' : 'a string');
}

/** Parses a flag or environment value (text) by the option's kind. */
function convert(kind: OptionKind, raw: string, name: string, out: ProxyOptions): OptionValue | undefined {
  switch (kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'bool': {
      const value = BOOLEANS[raw];
      return value ?? bad(out, name, 'true or false');
    }
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : bad(out, name, 'a whole number');
    case 'duration': {
      const ms = parseGoDuration(raw.trim());
      return ms ?? bad(out, name, 'a duration such as "168h" or "1h30m"');
    }
  }
}

/** Go's strconv.ParseBool spellings. */
const BOOLEANS: Partial<Record<string, boolean>> = Object.assign(Object.create(null) as object, {
  '1': true, t: true, T: true, TRUE: true, true: true, True: true,
  '0': false, f: false, F: false, FALSE: false, false: false, False: false,
});

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("168h", "1h30m", "90s", "0") in milliseconds; undefined if it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    end = part.lastIndex;
  }
  return end === text.length && end > 0 ? total : undefined;
}

function bad(out: ProxyOptions, name: string, expected: string): undefined {
  out.problems.push(`${name}: expected ${expected}`);
  return undefined;
}

/**
 * Parses oauth2-proxy flags: `--name=value`, `--name value`, a bare `--name` for true; one dash works too.
 * A list flag given several times collects every value, and a flag's list replaces the lower sources'.
 */
function parseFlags(args: string[], out: ProxyOptions): Map<string, OptionValue> {
  const flags = new Map<string, OptionValue>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const m = /^--?([A-Za-z0-9-]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) {
      out.problems.push(`${arg}: not a flag (oauth2-proxy takes no positional arguments)`);
      continue;
    }
    const name = m[1] ?? '';
    let value = m[2];
    if (name === 'config') {
      value ??= args[++i];
      if (value !== undefined) flags.set('config', value);
      continue;
    }
    const key = FLAG_TO_KEY.get(name);
    const spec = key === undefined ? undefined : OPTIONS.get(key);
    if (!spec || key === undefined) {
      out.unknown.push(`--${name}`);
      continue;
    }
    if (spec.kind === 'bool') {
      const parsed = convert('bool', value ?? 'true', `--${name}`, out);
      if (parsed !== undefined) flags.set(key, parsed);
      continue;
    }
    value ??= args[++i];
    if (value === undefined) {
      out.problems.push(`--${name}: needs a value`);
      continue;
    }
    const parsed = convert(spec.kind, value, `--${name}`, out);
    if (parsed === undefined) continue;
    const before = flags.get(key);
    flags.set(key, spec.kind === 'list' && Array.isArray(before) && Array.isArray(parsed) ? [...before, ...parsed] : parsed);
  }
  return flags;
}
