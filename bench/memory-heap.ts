/**
 * A V8 .heapsnapshot read for `npm run bench:memory`: the shallow size of the heap by constructor, the objects
 * that retain the most (dominator tree, weak edges ignored, as Chrome DevTools computes "retained size"), and
 * the code each package keeps on the heap (its scripts' source, line ends, function infos, bytecode and closures).
 */
import { readFileSync } from 'node:fs';

/** One line of a summary: a name and bytes. */
export interface SizeLine {
  name: string;
  bytes: number;
  count: number;
}

/** What a snapshot holds, summarised. */
export interface HeapSummary {
  totalBytes: number;
  nodes: number;
  byConstructor: SizeLine[];
  topRetainers: SizeLine[];
  byPackage: SizeLine[];
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The package a script URL or path belongs to: node_modules/<pkg> (scoped too), the gateway's own dist/, or node's builtins. */
export function packageOf(url: string): string {
  const at = url.lastIndexOf('node_modules/');
  if (at >= 0) {
    const parts = url.slice(at + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.includes('/dist/')) return 'authgate (dist/)';
  if (url.startsWith('node:') || !url.includes('/')) return '(node builtins)';
  return '(other)';
}

/** Reads and summarises a heap snapshot file; `top` lines per table. */
export function summariseHeapSnapshot(file: string, top: number): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [nType, nName, nSelf, nEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const stringEdge = (t: number) => t === edgeTypes.indexOf('context') || t === edgeTypes.indexOf('property') || t === edgeTypes.indexOf('internal') || t === shortcut;

  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += (nodes[i * nf + nEdges] ?? 0) * ef;
  }
  firstEdge[count] = edges.length;
  const selfOf = (i: number) => nodes[i * nf + nSelf] ?? 0;
  const typeOf = (i: number) => nodeTypes[nodes[i * nf + nType] ?? 0] ?? '?';
  const nameOf = (i: number) => strings[nodes[i * nf + nName] ?? 0] ?? '';
  const label = (i: number) => {
    const type = typeOf(i);
    if (type === 'object' || type === 'native') return nameOf(i);
    if (type === 'closure') return '(closure)';
    if (type.includes('string')) return '(string)';
    if (type === 'code') return `(code) ${nameOf(i).replace(/^system \/ /, '')}`;
    return `(${type})`;
  };
  /** The node an internal/property edge named `name` leads to, or -1. */
  const edgeTo = (i: number, name: string) => {
    for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e += ef) {
      const t = edges[e + eType] ?? 0;
      if (stringEdge(t) && strings[edges[e + eName] ?? 0] === name) return (edges[e + eTo] ?? 0) / nf;
    }
    return -1;
  };

  // Shallow size by constructor.
  let totalBytes = 0;
  const byConstructor = new Map<string, SizeLine>();
  const add = (map: Map<string, SizeLine>, name: string, bytes: number) => {
    const line = map.get(name) ?? { name, bytes: 0, count: 0 };
    line.bytes += bytes;
    line.count += 1;
    map.set(name, line);
  };
  for (let i = 0; i < count; i++) {
    totalBytes += selfOf(i);
    add(byConstructor, label(i), selfOf(i));
  }

  const dominator = dominators(count, firstEdge, edges, ef, eType, eTo, nf, weak);
  const retained = new Float64Array(count);
  const order = postOrder(count, firstEdge, edges, ef, eType, eTo, nf, weak);
  for (const i of order) retained[i] = (retained[i] ?? 0) + selfOf(i);
  for (const i of order) {
    const d = dominator[i] ?? 0;
    if (d !== i) retained[d] = (retained[d] ?? 0) + (retained[i] ?? 0);
  }
  // Retainers worth naming: objects (not the synthetic roots, not system internals) whose dominator is a root.
  const topRetainers: SizeLine[] = [];
  for (let i = 0; i < count; i++) {
    const type = typeOf(i);
    if (type === 'synthetic' || type === 'hidden') continue;
    const d = dominator[i] ?? 0;
    if (d !== i && typeOf(d) !== 'synthetic') continue;
    topRetainers.push({ name: `${label(i)}${type === 'closure' ? ` ${nameOf(i)}()` : ''}`, bytes: retained[i] ?? 0, count: 1 });
  }
  topRetainers.sort((a, b) => b.bytes - a.bytes);

  // Code by package: each script's own size, source and line ends, plus its function infos (with their
  // bytecode) and closures. A script is a code node with a "source" edge, named for its URL or path.
  const byPackage = new Map<string, SizeLine>();
  const scriptPackage = new Map<number, SizeLine>();
  for (let i = 0; i < count; i++) {
    if (typeOf(i) !== 'code') continue;
    const source = edgeTo(i, 'source');
    if (source < 0) continue;
    const pkg = packageOf(nameOf(i));
    const lineEnds = edgeTo(i, 'line_ends');
    add(byPackage, pkg, selfOf(i) + selfOf(source) + (lineEnds >= 0 ? selfOf(lineEnds) : 0));
    const line = byPackage.get(pkg);
    if (line) scriptPackage.set(i, line);
  }
  const functionInfoPackage = new Map<number, SizeLine>();
  for (let i = 0; i < count; i++) {
    if (typeOf(i) !== 'code') continue;
    const line = scriptPackage.get(edgeTo(i, 'script_or_debug_info'));
    if (!line) continue;
    functionInfoPackage.set(i, line);
    line.bytes += selfOf(i);
    const bytecode = edgeTo(i, 'function_data');
    if (bytecode >= 0 && typeOf(bytecode) === 'code') line.bytes += selfOf(bytecode);
  }
  for (let i = 0; i < count; i++) {
    if (typeOf(i) !== 'closure') continue;
    const line = functionInfoPackage.get(edgeTo(i, 'shared'));
    if (line) line.bytes += selfOf(i);
  }

  const sorted = (map: Map<string, SizeLine>) => [...map.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top);
  return { totalBytes, nodes: count, byConstructor: sorted(byConstructor), topRetainers: topRetainers.slice(0, top), byPackage: sorted(byPackage) };
}

/** Node indices in depth-first post-order from node 0 (the snapshot's root), weak edges not followed. */
function postOrder(count: number, firstEdge: Uint32Array, edges: number[], ef: number, eType: number, eTo: number, nf: number, weak: number): number[] {
  const visited = new Uint8Array(count);
  const order: number[] = [];
  const stack: number[] = [0];
  const next = new Uint32Array(count); // the next edge to look at, per node on the stack
  visited[0] = 1;
  next[0] = firstEdge[0] ?? 0;
  while (stack.length > 0) {
    const i = stack[stack.length - 1] ?? 0;
    const e = next[i] ?? 0;
    if (e >= (firstEdge[i + 1] ?? 0)) {
      stack.pop();
      order.push(i);
      continue;
    }
    next[i] = e + ef;
    if (edges[e + eType] === weak) continue;
    const to = (edges[e + eTo] ?? 0) / nf;
    if (visited[to]) continue;
    visited[to] = 1;
    next[to] = firstEdge[to] ?? 0;
    stack.push(to);
  }
  return order;
}

/**
 * The immediate dominator of every node reachable from node 0 (Cooper, Harvey and Kennedy's iterative
 * algorithm on reverse post-order); unreachable nodes dominate themselves.
 */
function dominators(count: number, firstEdge: Uint32Array, edges: number[], ef: number, eType: number, eTo: number, nf: number, weak: number): Int32Array {
  const order = postOrder(count, firstEdge, edges, ef, eType, eTo, nf, weak);
  const rank = new Int32Array(count).fill(-1);
  order.forEach((node, at) => (rank[node] = at));
  // Predecessors, as a CSR list.
  const predCount = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) {
    if ((rank[i] ?? -1) < 0) continue;
    for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e += ef) if (edges[e + eType] !== weak) predCount[((edges[e + eTo] ?? 0) / nf) + 1] += 1;
  }
  for (let i = 0; i < count; i++) predCount[i + 1] += predCount[i] ?? 0;
  const preds = new Uint32Array(predCount[count] ?? 0);
  const fill = predCount.slice(0, count);
  for (let i = 0; i < count; i++) {
    if ((rank[i] ?? -1) < 0) continue;
    for (let e = firstEdge[i] ?? 0; e < (firstEdge[i + 1] ?? 0); e += ef) {
      if (edges[e + eType] === weak) continue;
      const to = (edges[e + eTo] ?? 0) / nf;
      preds[fill[to]++] = i;
    }
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while ((rank[a] ?? 0) < (rank[b] ?? 0)) a = idom[a] ?? 0;
      while ((rank[b] ?? 0) < (rank[a] ?? 0)) b = idom[b] ?? 0;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let at = order.length - 2; at >= 0; at--) {
      const node = order[at] ?? 0;
      let next = -1;
      for (let p = predCount[node] ?? 0; p < (predCount[node + 1] ?? 0); p++) {
        const pred = preds[p] ?? 0;
        if ((idom[pred] ?? -1) < 0) continue;
        next = next < 0 ? pred : intersect(pred, next);
      }
      if (next >= 0 && idom[node] !== next) {
        idom[node] = next;
        changed = true;
      }
    }
  }
  for (let i = 0; i < count; i++) if ((idom[i] ?? -1) < 0) idom[i] = i;
  return idom;
}
