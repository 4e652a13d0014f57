/**
 * Reads the configuration schema itself: the schema found at a YAML path, the keys a mapping there may
 * have, and the type title docs/configuration.md gives it. Used to word problems ("did you mean …?", no
 * default suggested for a secret), never to validate.
 */
import { z } from 'zod';
import { configShape } from './schema-shape.js';

type PathPart = string | number;

/** The parts of a zod definition this walk reads. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  valueType?: z.ZodType;
}

const defOf = (schema: z.ZodType): Def => schema._zod.def;

/** The schema under wrappers (optional, default, pipes from a preprocess or a transform). */
function unwrap(schema: z.ZodType): z.ZodType {
  for (let current = schema; ; ) {
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in && def.out) current = defOf(def.in).type === 'transform' ? def.out : def.in;
    else return current;
  }
}

/** The schema at a YAML path of the configuration, or undefined where the path leaves it. */
export function schemaAt(path: readonly PathPart[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = configShape;
  for (const part of path) {
    if (!current) return undefined;
    const def = defOf(unwrap(current));
    // Own keys only: a file's "constructor" or "__proto__" must not find Object.prototype's.
    if (def.type === 'object' && typeof part === 'string') current = def.shape && Object.hasOwn(def.shape, part) ? def.shape[part] : undefined;
    else if (def.type === 'array' && typeof part === 'number') current = def.element;
    else if (def.type === 'record' && typeof part === 'string') current = def.valueType;
    else return undefined;
  }
  return current;
}

/** The keys the mapping at `path` may have (empty when it is not a mapping of known keys). */
export function keysAt(path: readonly PathPart[]): string[] {
  const schema = schemaAt(path);
  if (!schema) return [];
  const def = defOf(unwrap(schema));
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** True when the value at `path` is a secret (the client secret, a session key). */
export function isSecretAt(path: readonly PathPart[]): boolean {
  for (let current = schemaAt(path); current; ) {
    const title = z.globalRegistry.get(current)?.title;
    if (title === 'secret' || title === 'session key') return true;
    const def = defOf(current);
    current = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return false;
}
