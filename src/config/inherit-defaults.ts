/**
 * `defaults:` — upstream keys every upstream inherits unless it sets them. Applied to the raw tree before
 * validation, key by key (an upstream's own `allow` replaces the default `allow` whole, so a route is opened
 * wider only where it says so). A default that is itself invalid is reported once, at `defaults.KEY`, and
 * is not copied: each upstream would otherwise repeat the same complaint.
 */
import { defaultsSection, upstreamSchema } from './schema-upstreams.js';

type Tree = Record<string, unknown>;

const isMapping = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The tree with each upstream given the defaults it does not set; anything unexpected is left to the schema. */
export function inheritDefaults(tree: unknown): unknown {
  if (!isMapping(tree) || !isMapping(tree.defaults) || !Array.isArray(tree.upstreams)) return tree;
  const inherited: Tree = {};
  for (const [key, value] of Object.entries(tree.defaults)) {
    // Own keys only: "__proto__" or "constructor" in the file must not reach Object.prototype's.
    if (!Object.hasOwn(defaultsSection.shape, key)) continue;
    if (upstreamSchema.shape[key as keyof typeof upstreamSchema.shape].safeParse(value).success) inherited[key] = value;
  }
  return { ...tree, upstreams: tree.upstreams.map((upstream: unknown) => (isMapping(upstream) ? { ...inherited, ...upstream } : upstream)) };
}
