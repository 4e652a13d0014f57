/**
 * Generates `properties.config` of helm/authgate/values.schema.json from the gateway's own configuration
 * schema (src/config/schema-shape.ts), so `helm lint`, `helm template` and `helm install` refuse a misspelt
 * key inside `values.config` just as `authgate --check` does. The rest of values.schema.json (the chart's
 * own values) is written by hand and kept as it is.
 *
 *   npx tsx scripts/chart-schema.ts           rewrite the file
 *   npx tsx scripts/chart-schema.ts --check   exit 1 when the file is not what it would write
 *
 * The JSON schema accepts what the loader (src/config/load.ts) accepts before validating: any scalar may be
 * a `${VAR}` reference (it is replaced from the environment in the pod, so its value is unknown here), and
 * a scalar key K (and `keys`) may be given as `KFile` (a file the value is read from). Unknown keys stay
 * errors. Cross-field rules (schema-checks.ts) are left to `authgate --check`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configShape } from '../src/config/schema-shape.js';
import { flag } from '../src/config/schema-types.js';

/** The file this script writes. */
export const CHART_SCHEMA_FILE = fileURLToPath(new URL('../helm/authgate/values.schema.json', import.meta.url));
/** The command that regenerates the file (named in the test's failure message). */
export const REGENERATE_COMMAND = 'npx tsx scripts/chart-schema.ts';

type Json = Record<string, unknown>;

/** Shared definitions, put at the root of values.schema.json and referred to from the config's nodes. */
const DEFINITIONS: Json = {
  envReference: {
    description: 'text with a ${VAR} or ${VAR:-default} reference: substituted from the environment in the pod, checked there',
    type: 'string',
    pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
  },
  filePath: {
    description: 'an xxxFile key: the path of a file the value is read from, in the pod',
    anyOf: [{ type: 'string', minLength: 1 }, { $ref: '#/definitions/envReference' }],
  },
};
/** A scalar may be a `${VAR}`: the loader substitutes it before validating. */
const ENV_REFERENCE: Json = { $ref: '#/definitions/envReference' };
/** What an `xxxFile` key holds. */
const FILE_PATH: Json = { $ref: '#/definitions/filePath' };
/** What a boolean (`flag`) also accepts: the text a `${VAR}` yields. */
const FLAG_TEXT: Json = { type: 'string', enum: ['true', 'false'] };
/** Keywords of a zod-generated node that carry nothing helm needs (defaults are applied by the gateway). */
const DROPPED = new Set(['default', '$schema', 'id']);

/** The JSON schema of `values.config`: the config file's input shape, lenient where `${VAR}` and `xxxFile` apply. */
export function configJsonSchema(): Json {
  const generated = z.toJSONSchema(configShape, {
    io: 'input',
    target: 'draft-7',
    unrepresentable: 'any',
    override: (ctx) => {
      // z.preprocess turns text into the value (flags: "true"/"false"; workers: "4"), so text is accepted too.
      if (ctx.zodSchema === flag) Object.assign(ctx.jsonSchema, { type: undefined, anyOf: [{ type: 'boolean' }, FLAG_TEXT] });
      else if (isPreprocess(ctx.zodSchema)) {
        // The value's own keywords move into one branch (a `type: number` beside the anyOf would refuse the text).
        const { anyOf, ...own } = ctx.jsonSchema;
        for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Json)[key];
        ctx.jsonSchema.anyOf = [...(anyOf ?? [own]), { type: 'string' }];
        if (anyOf && own.title) ctx.jsonSchema.title = own.title;
      }
    },
  }) as Json;
  const schema = lenient(generated);
  schema.description = "The gateway's configuration (docs/configuration.md), rendered into config.yaml. Generated from src/config by scripts/chart-schema.ts: do not edit by hand.";
  return schema;
}

/** values.schema.json's text with `properties.config` replaced by the generated schema. */
export function renderChartSchema(current: string): string {
  const values = JSON.parse(current) as { properties: Json; definitions?: Json };
  values.properties.config = configJsonSchema();
  values.definitions = { ...values.definitions, ...DEFINITIONS };
  return `${formatJson(values, '')}\n`;
}

/** JSON with two-space indentation, a node that fits in 100 characters on one line (the hand-written part's style). */
function formatJson(node: unknown, indent: string): string {
  const line = oneLine(node);
  if (line.length + indent.length <= 100 || node === null || typeof node !== 'object') return line;
  const inner = `${indent}  `;
  if (Array.isArray(node)) return `[\n${node.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(node).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`);
  return `{\n${entries.join(',\n')}\n${indent}}`;
}

/** A node on one line: `{ "a": 1 }`, `["x", "y"]`. */
function oneLine(node: unknown): string {
  if (Array.isArray(node)) return `[${node.map(oneLine).join(', ')}]`;
  if (node === null || typeof node !== 'object') return JSON.stringify(node);
  const entries = Object.entries(node).map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

function isPreprocess(schema: z.core.$ZodType): boolean {
  const def = schema._zod.def as { type: string; in?: z.core.$ZodType };
  return def.type === 'pipe' && def.in?._zod.def.type === 'transform';
}

/** A value position (a property, list items, map values): its node made lenient, and a scalar may be a `${VAR}`. */
function value(node: Json): Json {
  const out = lenient(node);
  if (!isScalar(out)) return out;
  // Appended to an existing anyOf rather than nesting one more level.
  const { anyOf, ...rest } = out as { anyOf?: Json[] };
  if (anyOf && Object.keys(rest).every((k) => k === 'title' || k === 'description')) return { ...rest, anyOf: [...anyOf, ENV_REFERENCE] };
  return { anyOf: [out, ENV_REFERENCE] };
}

/** Copies a zod-generated node: drops DROPPED keywords and adds `KFile` keys to every object. */
function lenient(node: Json): Json {
  const out: Json = {};
  for (const [key, child] of Object.entries(node)) {
    if (DROPPED.has(key) || child === undefined) continue;
    if (key === 'properties') out.properties = withFileKeys(mapValues(child as Record<string, Json>, value));
    else if (key === 'items' || key === 'additionalProperties') out[key] = typeof child === 'object' ? value(child as Json) : child;
    else if (key === 'anyOf' || key === 'oneOf' || key === 'allOf') out[key] = (child as Json[]).map(lenient);
    else out[key] = child;
  }
  if (out.properties && Array.isArray(out.required)) {
    // A required key K is also satisfied by KFile (the loader reads the file and sets K).
    const required = out.required as string[];
    delete out.required;
    if (required.length > 0) out.allOf = required.map((k) => ({ anyOf: [{ required: [k] }, { required: [`${k}File`] }] }));
  }
  return out;
}

/** For each scalar key K (and `keys`), an optional `KFile` (giving both is left to `--check`). */
function withFileKeys(properties: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(properties)) {
    out[key] = value;
    // The loader reads a file as one text value, except `keysFile` (one key a line): a mapping or other list cannot be read.
    if (!key.endsWith('File') && (isScalar(value) || key === 'keys')) out[`${key}File`] = FILE_PATH;
  }
  return out;
}

/** A node that holds no object or array: a `${VAR}` may stand for it. */
function isScalar(node: Json): boolean {
  if (node.type === 'object' || node.type === 'array' || node.properties || node.items) return false;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const parts = node[key] as Json[] | undefined;
    if (parts && !parts.every(isScalar)) return false;
  }
  return true;
}

function mapValues<T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(CHART_SCHEMA_FILE, 'utf8');
  const next = renderChartSchema(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error(`helm/authgate/values.schema.json is out of date with src/config: run ${REGENERATE_COMMAND}`);
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(CHART_SCHEMA_FILE, next);
    console.log('helm/authgate/values.schema.json: properties.config regenerated');
  }
}
