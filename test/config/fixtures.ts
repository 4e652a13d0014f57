/**
 * Fixtures for the configuration tests: a minimal valid configuration tree, YAML text from a tree, and
 * helpers that return what a user would see (the config, or the problem lines and their paths).
 */
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

/** A valid 32-byte session key (base64). */
export const KEY = Buffer.alloc(32, 0x2a).toString('base64');

/** A configuration tree as written in YAML, before validation; tests put any value anywhere. */
export interface Tree {
  server: Section;
  oidc: Section;
  session: Section;
  upstreams: Section[];
  [key: string]: unknown;
}
type Section = Record<string, unknown>;

/** The smallest valid configuration: only the required keys. */
export function minimalTree(): Tree & { upstreams: [Section, ...Section[]] } {
  return {
    server: { publicUrl: 'https://app.example.com' },
    oidc: { issuer: 'https://idp.example.com', clientId: 'gateway', clientSecret: 'secret' },
    session: { keys: [KEY] },
    upstreams: [{ name: 'app', url: 'http://127.0.0.1:3000' }],
  };
}

/** Validates a tree (or YAML text) as a file would be. */
export function load(input: Record<string, unknown> | string, env: Record<string, string> = {}): Config {
  return parseConfigText(typeof input === 'string' ? input : stringify(input), 'test.yaml', env);
}

/** The problem lines a tree (or YAML text) is refused with; fails the test when it is accepted. */
export function problemsOf(input: Record<string, unknown> | string, env: Record<string, string> = {}): string[] {
  try {
    load(input, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the configuration was accepted');
}

/** The YAML path a problem line starts with: "upstreams[1].url: …" → "upstreams[1].url". */
export function pathOf(problem: string): string {
  return problem.slice(0, problem.indexOf(': '));
}
