/**
 * What the schema says about each key, read from zod's JSON Schema of the file as written (io: 'input'):
 * the words its type is documented with, its default, and whether it is required. Also the reference's
 * table rows, cell by cell, so a test can hold the two side by side.
 */
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import { configShape } from '../../src/config/schema-shape.js';

/** The part of a JSON Schema node the reference needs. */
interface JsonNode {
  title?: string;
  type?: string | string[];
  enum?: string[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonNode[];
  items?: JsonNode;
  properties?: Record<string, JsonNode>;
  additionalProperties?: JsonNode | boolean;
  required?: string[];
}

/** One key as the schema defines it. */
export interface KeyFacts {
  /** How the type column must read: it starts with `lead`, or is exactly `oneOf` joined by " or " in any order. */
  type: { lead: string; also: string[] } | { oneOf: string[] };
  /** The default written in YAML terms (a duration as "30s"), when the schema has one. */
  default?: { value: unknown };
  required: boolean;
  /** A section (a mapping of named keys) whose own default is just "its keys' defaults". */
  section: boolean;
}

/** A literal as YAML shows it: bare when it is a plain word, quoted otherwise. */
function yamlLiteral(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value) ? `\`${value}\`` : `\`${JSON.stringify(value)}\``;
}

/** The phrase one alternative of a type is named with. */
function phrase(node: JsonNode): string {
  if (node.title) return node.title;
  if (node.const !== undefined) return yamlLiteral(node.const);
  if (node.type === 'integer') return node.minimum !== undefined && node.maximum !== undefined ? `integer ${node.minimum}..${node.maximum}` : 'integer';
  return typeof node.type === 'string' ? node.type : 'value';
}

function typeOf(node: JsonNode): KeyFacts['type'] {
  if (node.title) return { lead: node.title, also: [] };
  if (node.enum) return { oneOf: node.enum.map(yamlLiteral) };
  if (node.anyOf) return { oneOf: node.anyOf.map(phrase) };
  if (node.type === 'array') return { lead: 'list', also: node.items?.title ? [node.items.title] : [] };
  if (node.type === 'object') return { lead: node.properties ? 'mapping' : 'mapping of', also: [] };
  return { lead: phrase(node), also: [] };
}

/** Every key of the schema (`upstreams[].allow.claims` style) with its facts. */
export function schemaFacts(): Map<string, KeyFacts> {
  const input = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
  // zod leaves a default out of the input schema when the field transforms its value (a boolean read from
  // "true", workers read from "4"); the output schema still has it, and for those fields it reads the same.
  const output = z.toJSONSchema(configShape, { io: 'output', unrepresentable: 'any' }) as JsonNode;
  const facts = new Map<string, KeyFacts>();
  const walk = (node: JsonNode, out: JsonNode | undefined, prefix: string): void => {
    if (node.type === 'array' && node.items) return walk(node.items, out?.items, `${prefix}[]`);
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      const childOut = out?.properties?.[key];
      const value = 'default' in child ? child.default : childOut && 'default' in childOut ? childOut.default : undefined;
      const hasDefault = 'default' in child || (childOut !== undefined && 'default' in childOut);
      facts.set(path, {
        type: typeOf(child),
        ...(hasDefault ? { default: { value } } : {}),
        required: !hasDefault && (node.required ?? []).includes(key),
        section: child.type === 'object' && child.properties !== undefined,
      });
      walk(child, childOut, path);
    }
  };
  walk(input, output, '');
  return facts;
}

/** Every type title the schema uses (duration, origin, host:port…): each needs a row in "Types used below". */
export function schemaTitles(): Set<string> {
  const titles = new Set<string>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if ('title' in node && typeof node.title === 'string') titles.add(node.title);
    Object.values(node).forEach(visit);
  };
  visit(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }));
  return titles;
}

/** One row of a key table in docs/configuration.md. */
export interface DocRow {
  key: string;
  type: string;
  default: string;
}

/** The key tables' rows: `| \`key\` | type | default | meaning |`. */
export function docRows(markdown: string): DocRow[] {
  return [...markdown.matchAll(/^\| `([A-Za-z[\].]+)` \| ([^|]+) \| ([^|]+) \|/gm)].map((m) => ({
    key: m[1],
    type: (m[2]).trim(),
    default: (m[3]).trim(),
  }));
}
