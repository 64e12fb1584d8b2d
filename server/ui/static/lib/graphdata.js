// The merged asset graph (GET /asset-graph), indexed for the pages that need it: the lineage
// view, the catalog's filter options, the asset page's upstream/downstream locations.

import { getAssetGraph } from "./api.js";
import { keyString } from "./dom.js";

let cached = null;
let cachedAt = 0;

/** The graph, fetched again when older than `maxAge` ms. */
export async function loadGraph({ maxAge = 5000, signal } = {}) {
  if (cached && Date.now() - cachedAt < maxAge) return cached;
  const raw = await getAssetGraph({ signal });
  cached = indexGraph(raw);
  cachedAt = Date.now();
  return cached;
}

function indexGraph(raw) {
  const nodes = new Map();
  const parents = new Map();
  const children = new Map();
  for (const node of raw.nodes) {
    const id = keyString(node.key);
    nodes.set(id, { ...node, id });
    parents.set(id, []);
    children.set(id, []);
  }
  const edges = [];
  for (const [from, to] of raw.edges) {
    const a = keyString(from);
    const b = keyString(to);
    if (!nodes.has(a) || !nodes.has(b)) continue;
    edges.push([a, b]);
    children.get(a).push(b);
    parents.get(b).push(a);
  }
  const groups = new Map(); // group -> Set(location)
  const locations = new Map(); // location -> Map(group -> count)
  for (const node of nodes.values()) {
    const group = node.group || "default";
    const loc = node.location || "(external)";
    if (!groups.has(group)) groups.set(group, new Set());
    groups.get(group).add(loc);
    if (!locations.has(loc)) locations.set(loc, new Map());
    const counts = locations.get(loc);
    counts.set(group, (counts.get(group) || 0) + 1);
  }
  return { nodes, edges, parents, children, groups, locations };
}

/** Ids reachable from `start` along `next`, up to `depth` steps (Infinity: all). */
export function reach(start, next, depth = Infinity) {
  const seen = new Set();
  let frontier = [...start];
  for (let d = 0; d < depth && frontier.length; d++) {
    const following = [];
    for (const id of frontier) {
      for (const other of next.get(id) || []) {
        if (seen.has(other)) continue;
        seen.add(other);
        following.push(other);
      }
    }
    frontier = following;
  }
  return seen;
}

/** An edge between two locations (both known and different). */
export function isCrossLocation(graph, from, to) {
  const a = graph.nodes.get(from);
  const b = graph.nodes.get(to);
  return Boolean(a && b && a.location && b.location && a.location !== b.location);
}
