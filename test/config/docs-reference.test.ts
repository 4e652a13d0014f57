/**
 * The configuration reference cannot fall behind the schema: every key of the schema has a row in
 * docs/configuration.md and appears in config/example.yaml, the reference lists no key the schema lacks,
 * each row's type and default say what the schema does, and the example validates.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { ROOT, TEST_SESSION_KEY } from '../helpers/gateway.js';
import { load, minimalTree } from './fixtures.js';
import { docRows, schemaFacts, schemaTitles } from './reference-facts.js';

/** The little of zod 4's schema internals the walk needs. */
interface SchemaNode {
  _zod: { def: { type: string; shape?: Record<string, SchemaNode>; element?: SchemaNode; innerType?: SchemaNode; in?: SchemaNode; out?: SchemaNode } };
}

/** Every key path of a schema: objects by key, array items as `[]`, through optional/default/pipe wrappers. */
function schemaKeys(node: SchemaNode, prefix = ''): string[] {
  const def = node._zod.def;
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([key, child]) => {
      const path = prefix ? `${prefix}.${key}` : key;
      return [path, ...schemaKeys(child, path)];
    });
  }
  if (def.type === 'array' && def.element) return schemaKeys(def.element, `${prefix}[]`);
  if (def.type === 'pipe' && def.in && def.out) return [...schemaKeys(def.in, prefix), ...schemaKeys(def.out, prefix)];
  return def.innerType ? schemaKeys(def.innerType, prefix) : [];
}

/** Every key path present in a parsed YAML tree, `xxxFile` counted as `xxx`, list items merged as `[]`. */
function treeKeys(node: unknown, prefix = ''): string[] {
  if (Array.isArray(node)) return node.flatMap((item) => treeKeys(item, `${prefix}[]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, child]) => {
    const path = `${prefix ? `${prefix}.` : ''}${key.length > 4 && key.endsWith('File') ? key.slice(0, -4) : key}`;
    return [path, ...treeKeys(child, path)];
  });
}

// defaults.X takes the same values as upstreams[].X and providers[].X as oidc.X (one row documents both);
// `defaults` and `providers` themselves have rows, and so do the keys only a provider entry has.
const ALL_KEYS = schemaKeys(configSchema);
const SCHEMA_KEYS = new Set(
  ALL_KEYS.filter((key) => !key.startsWith('defaults.') && !(key.startsWith('providers[].') && ALL_KEYS.includes(key.replace('providers[].', 'oidc.')))),
);
const DOCS = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
const EXAMPLE_PATH = join(ROOT, 'config/example.yaml');
const PROVIDERS_EXAMPLE_PATH = join(ROOT, 'config/example-providers.yaml');
const ROWS = docRows(DOCS);
const TYPES_TABLE = DOCS.slice(DOCS.indexOf('## Types used below'), DOCS.indexOf('## `server`'));

/** The YAML literal a default cell starts with (`"30s"`, `[]`, `false`), parsed; undefined for prose. */
function leadingLiteral(cell: string): { value: unknown } | undefined {
  const match = /^`([^`]+)`/.exec(cell);
  return match ? { value: parse(match[1]) as unknown } : undefined;
}

/** Writes a value at a key path of a tree; `upstreams[]` means the first upstream. */
function setKey(tree: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.replace('[]', '.0').split('.');
  const last = parts.pop() as string;
  let node = tree;
  for (const part of parts) node = (node[part] ??= {}) as Record<string, unknown>;
  node[last] = value;
}

describe('the configuration reference', () => {
  it('walks the whole schema (the walk itself works)', () => {
    for (const key of ['server', 'server.listen', 'oidc.clientSecret', 'session.redis.timeout', 'api.audiences', 'upstreams', 'upstreams[].allow.claims']) {
      assert.ok(SCHEMA_KEYS.has(key), `the walk missed ${key}`);
    }
    assert.ok(SCHEMA_KEYS.size >= 40, `only ${SCHEMA_KEYS.size} keys found`);
  });

  it('docs/configuration.md has a row for exactly the keys of the schema', () => {
    const documented = new Set([...DOCS.matchAll(/^\| `([A-Za-z[\].]+)` \|/gm)].map((m) => m[1]));
    const missing = [...SCHEMA_KEYS].filter((key) => !documented.has(key));
    const unknown = [...documented].filter((key) => key !== undefined && !SCHEMA_KEYS.has(key));
    assert.deepEqual(missing, [], 'keys of the schema without a row in docs/configuration.md');
    assert.deepEqual(unknown, [], 'rows in docs/configuration.md for keys the schema does not have');
  });

  it('each row names the type the schema parses', () => {
    const facts = schemaFacts();
    const wrong = ROWS.flatMap((row) => {
      const type = facts.get(row.key)?.type;
      if (!type) return [];
      if ('oneOf' in type) {
        const said = row.type.split(/, | or /);
        return said.length === type.oneOf.length && type.oneOf.every((part) => said.includes(part)) ? [] : [`${row.key}: "${row.type}", expected ${type.oneOf.join(' or ')}`];
      }
      return row.type.startsWith(type.lead) && type.also.every((word) => row.type.includes(word))
        ? []
        : [`${row.key}: "${row.type}", expected "${[type.lead, ...type.also].join(' of ')}…"`];
    });
    assert.deepEqual(wrong, [], 'type columns that disagree with the schema');
  });

  it('each row states the default the schema has, or "required"', () => {
    const facts = schemaFacts();
    const wrong = ROWS.flatMap((row) => {
      const fact = facts.get(row.key);
      if (!fact) return [];
      const literal = leadingLiteral(row.default);
      if (fact.required) return row.default.startsWith('required') ? [] : [`${row.key}: "${row.default}", expected required`];
      if (row.default.startsWith('required')) return [`${row.key}: "${row.default}", but the schema does not require it`];
      if (!fact.default || fact.section) return []; // prose ("any host"), or a derived default checked below
      if (literal === undefined) return [`${row.key}: "${row.default}", expected \`${JSON.stringify(fact.default.value)}\``];
      return isDeepStrictEqual(literal.value, fact.default.value) ? [] : [`${row.key}: "${row.default}", the schema says ${JSON.stringify(fact.default.value)}`];
    });
    assert.deepEqual(wrong, [], 'default columns that disagree with the schema');
  });

  it('writing a documented default in the file changes nothing (derived defaults included)', () => {
    const defaults = load(minimalTree());
    const wrong = ROWS.flatMap((row) => {
      const literal = leadingLiteral(row.default);
      // Chosen outside the schema, from publicUrl's scheme (session/cookie-names.ts).
      if (literal === undefined || row.key === 'session.cookieName') return [];
      const tree: Record<string, unknown> = minimalTree();
      setKey(tree, row.key, literal.value);
      return isDeepStrictEqual(load(tree), defaults) ? [] : [`${row.key}: writing ${row.default.split(' ')[0]} is not the same as leaving it out`];
    });
    assert.deepEqual(wrong, [], 'documented defaults that are not what the gateway uses');
  });

  it('every type name the schema uses is explained under "Types used below"', () => {
    const explained = new Set([...TYPES_TABLE.matchAll(/^\| ([^|`]+?) \|/gm)].map((m) => m[1]));
    assert.deepEqual([...schemaTitles()].filter((title) => !explained.has(title)), [], 'type names without a row in the types table');
  });

  it('config/example.yaml, with config/example-providers.yaml for several providers, shows every key of the schema', () => {
    const shown = new Set([EXAMPLE_PATH, PROVIDERS_EXAMPLE_PATH].flatMap((file) => treeKeys(parse(readFileSync(file, 'utf8')))));
    assert.deepEqual([...SCHEMA_KEYS].filter((key) => !shown.has(key)), [], 'keys of the schema missing from both examples');
  });

  it('config/example-providers.yaml validates with its secrets in the environment', () => {
    const config = loadConfigFile(PROVIDERS_EXAMPLE_PATH, { CORP_SECRET: 'corp-secret', PARTNER_SECRET: 'partner-secret', SESSION_KEY: TEST_SESSION_KEY });
    assert.deepEqual(
      config.providers.map((provider) => [provider.id, provider.name, provider.clientSecret]),
      [
        ['corp', 'Corp SSO', 'corp-secret'],
        ['partners', 'Partner login', 'partner-secret'],
      ],
    );
    assert.deepEqual(config.upstreams.find((upstream) => upstream.name === 'admin')?.providers, ['corp']);
  });

  it('config/example.yaml validates with its secrets in the environment', () => {
    const config = loadConfigFile(EXAMPLE_PATH, { OIDC_CLIENT_SECRET: 'example-secret', SESSION_KEY: TEST_SESSION_KEY });
    assert.equal(config.oidc.clientSecret, 'example-secret');
    assert.ok(config.server.publicUrl.startsWith('https://'));
    assert.ok(config.oidc.issuer.startsWith('https://'));
    assert.ok(config.upstreams.some((upstream) => upstream.url === undefined), 'no forward-auth-only upstream');
  });
});
