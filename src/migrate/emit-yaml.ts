/**
 * Writes the converted tree as YAML in the order the configuration reference uses, with a header saying
 * where it came from and the comments the mapping steps asked for (an "everyone passes" rule says so).
 */
import { Document, isMap, isScalar, type Node } from 'yaml';
import type { Migration } from './migration.js';

const HEADER = [
  ' Converted from oauth2-proxy by `authgate migrate oauth2-proxy`.',
  ' Review it, set the ${VAR} variables named on stderr, then: authgate --config FILE --check',
  ' What was not carried over, and why, is on stderr; see docs/migrate-from-oauth2-proxy.md.',
].join('\n');

/** The authgate YAML for a conversion. */
export function emitYaml(m: Migration, source: string): string {
  const { server, oidc, session, api, pages, defaults, upstreams } = m.tree;
  const tree: Record<string, unknown> = { server, oidc, session };
  if (Object.keys(api).length > 0) tree.api = api;
  if (Object.keys(pages).length > 0) tree.pages = pages;
  // The rule first: it is what a reader must check.
  const { auth, allow, ...rest } = defaults;
  tree.defaults = { auth, allow, ...rest };
  tree.upstreams = upstreams;
  const doc = new Document(tree);
  doc.commentBefore = `${HEADER}\n Source: ${source}`;
  for (const [path, comment] of m.comments) {
    const key = keyNode(doc, path.split('.'));
    if (key) key.commentBefore = comment;
  }
  return doc.toString({ lineWidth: 0 });
}

/** The key node of a dotted path ("defaults.allow"), where a comment before the key reads naturally. */
function keyNode(doc: Document, path: string[]): Node | undefined {
  const last = path.pop();
  const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
  return pair && isScalar(pair.key) ? pair.key : undefined;
}
