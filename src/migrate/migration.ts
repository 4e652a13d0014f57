/**
 * The state one conversion shares between its mapping steps: the oauth2-proxy values (read through typed
 * getters that remember which options were used), the authgate tree being built, the lines for stderr,
 * the YAML comments, and the values of the `${VAR}` references it wrote (for validation only).
 */
import type { OptionValue, ProxyOptions } from './read-sources.js';

/** One line for stderr: an option not carried, a note (a secret to set, a difference), or a problem. */
export interface MigrationLine {
  option: string;
  kind: 'not-carried' | 'note' | 'problem';
  text: string;
}

/** An authgate configuration tree as plain data, ready to be emitted as YAML. */
export type Tree = Record<string, unknown>;

/** A conversion in progress. */
export class Migration {
  /** The authgate configuration being built, section by section. */
  readonly tree: {
    server: Tree;
    oidc: Tree;
    session: Tree;
    api: Tree;
    pages: Tree;
    defaults: Tree;
    upstreams: Tree[];
  } = { server: {}, oidc: {}, session: {}, api: {}, pages: {}, defaults: {}, upstreams: [] };
  readonly lines: MigrationLine[] = [];
  /** A comment to write before a key, by its path ("defaults.allow"). */
  readonly comments = new Map<string, string>();
  /** The values of the `${VAR}` references written, so validation sees what the gateway will run with. */
  readonly secretEnv: Record<string, string> = {};
  private readonly used = new Set<string>();

  constructor(readonly options: ProxyOptions) {}

  /** Whether the option was given in any source. */
  has(key: string): boolean {
    return this.options.values.has(key);
  }

  /** The option's text value, or `fallback` (oauth2-proxy's default) when it was not given. */
  string(key: string, fallback = ''): string {
    const value = this.take(key);
    return typeof value === 'string' ? value : fallback;
  }

  /** The option's boolean value, or oauth2-proxy's default. */
  bool(key: string, fallback: boolean): boolean {
    const value = this.take(key);
    return typeof value === 'boolean' ? value : fallback;
  }

  /** The option's list value ([] when not given). */
  list(key: string): string[] {
    const value = this.take(key);
    return Array.isArray(value) ? value : [];
  }

  /** The option's duration in milliseconds, or undefined when it was not given. */
  duration(key: string): number | undefined {
    const value = this.take(key);
    return typeof value === 'number' ? value : undefined;
  }

  /** Marks an option as handled without reading it. */
  use(...keys: string[]): void {
    for (const key of keys) this.used.add(key);
  }

  /** Options given but never read by a mapping step. */
  unused(): string[] {
    return [...this.options.values.keys()].filter((key) => !this.used.has(key));
  }

  /** Reports an option that has no authgate equivalent, and why. */
  notCarried(option: string, why: string): void {
    this.lines.push({ option, kind: 'not-carried', text: why });
  }

  /** Reports something the user must know or do (a variable to set, a behaviour that differs). */
  note(option: string, text: string): void {
    this.lines.push({ option, kind: 'note', text });
  }

  /** Reports a reason the output must not be used as it is; the command exits 1. */
  problem(option: string, text: string): void {
    this.lines.push({ option, kind: 'problem', text });
  }

  /**
   * Writes a secret as a `${VAR}` reference and remembers its value for validation; the value itself
   * never reaches stdout. Returns the reference.
   */
  secretReference(variable: string, value: string | undefined): string {
    if (value !== undefined) this.secretEnv[variable] = value;
    return `\${${variable}}`;
  }

  private take(key: string): OptionValue | undefined {
    this.used.add(key);
    return this.options.values.get(key);
  }
}

/** The stderr line for one report entry. */
export function formatLine(line: MigrationLine): string {
  const kind = line.kind === 'not-carried' ? 'not carried: ' : line.kind === 'problem' ? 'cannot convert: ' : '';
  return `authgate migrate: ${line.option}: ${kind}${line.text}`;
}
