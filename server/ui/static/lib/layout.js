// A layered (Sugiyama-style) layout of a directed graph, left to right, for the lineage view.
//
//   1. break cycles (DFS back edges are reversed, and drawn back again at the end);
//   2. assign layers by longest path, then pull sources next to their first consumer;
//   3. split edges that span several layers with dummy nodes, so they can be routed;
//   4. reduce crossings with barycenter sweeps, down and up, keeping the best order seen
//      (crossings between two layers counted in O(E log V) with a Fenwick tree);
//   5. place nodes vertically: each layer is pulled towards its neighbours' centres, and
//      the nearest positions that keep the order and spacing are found by isotonic
//      regression (pool adjacent violators) — one linear pass per layer.
//
// Pure: no DOM, so the same code is timed in a test and drawn by graphview.js.

const DEFAULTS = {
  nodeWidth: 220,
  nodeHeight: 52,
  layerGap: 90,
  nodeGap: 18,
  dummyGap: 8,
  maxSweeps: 12,
  placementPasses: 8,
};

/**
 * Lay out `nodes` ([{id, width?, height?}]) and `edges` ([[fromId, toId]]).
 *
 * Returns `{nodes: Map(id -> {x, y, width, height, layer}), edges: [{from, to, points,
 * reversed}], width, height, layers, crossings}`; x/y are the top-left corners.
 */
export function layoutGraph(nodes, edges, options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const n = nodes.length;
  const index = new Map();
  nodes.forEach((node, i) => index.set(node.id, i));
  const width = nodes.map((node) => node.width ?? opts.nodeWidth);
  const height = nodes.map((node) => node.height ?? opts.nodeHeight);

  const pairs = uniqueEdges(edges, index, n);
  const reversed = findBackEdges(n, pairs);
  const src = pairs.map(([u, v], e) => (reversed[e] ? v : u));
  const dst = pairs.map(([u, v], e) => (reversed[e] ? u : v));
  const layer = assignLayers(n, src, dst);

  const graph = addDummies(n, layer, src, dst);
  const layers = orderLayers(graph, opts.maxSweeps);
  const crossings = countAllCrossings(layers, graph);
  const cy = placeVertically(graph, layers, height, opts);

  // Columns: each layer is as wide as its widest node.
  const layerWidth = layers.map((ids) =>
    ids.reduce((w, v) => (v < n ? Math.max(w, width[v]) : w), 0) || opts.nodeWidth / 4);
  const layerX = [];
  let x = 0;
  for (const w of layerWidth) {
    layerX.push(x);
    x += w + opts.layerGap;
  }

  const placed = new Map();
  let bottom = 0;
  for (let v = 0; v < n; v++) {
    const l = graph.layer[v];
    const top = cy[v] - height[v] / 2;
    placed.set(nodes[v].id, { x: layerX[l] + (layerWidth[l] - width[v]) / 2, y: top, width: width[v], height: height[v], layer: l });
    bottom = Math.max(bottom, top + height[v]);
  }

  const routed = pairs.map(([u, v], e) => {
    const points = [];
    const a = placed.get(nodes[src[e]].id);
    points.push({ x: a.x + a.width, y: cy[src[e]] });
    for (const d of graph.chains[e]) {
      const l = graph.layer[d];
      points.push({ x: layerX[l], y: cy[d] }, { x: layerX[l] + layerWidth[l], y: cy[d] });
    }
    const b = placed.get(nodes[dst[e]].id);
    points.push({ x: b.x, y: cy[dst[e]] });
    if (reversed[e]) points.reverse();
    return { from: nodes[u].id, to: nodes[v].id, points, reversed: Boolean(reversed[e]) };
  });

  for (let d = n; d < graph.size; d++) bottom = Math.max(bottom, cy[d]);
  return {
    nodes: placed,
    edges: routed,
    width: Math.max(0, x - opts.layerGap),
    height: bottom,
    layers: layers.length,
    crossings,
  };
}

function uniqueEdges(edges, index, n) {
  const seen = new Set();
  const out = [];
  for (const [a, b] of edges) {
    const u = index.get(a);
    const v = index.get(b);
    if (u === undefined || v === undefined || u === v) continue;
    const id = u * n + v;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push([u, v]);
  }
  return out;
}

/** Edges that close a cycle in a depth-first search (iterative: graphs can be deep). */
function findBackEdges(n, pairs) {
  const out = Array.from({ length: n }, () => []);
  pairs.forEach(([u], e) => out[u].push(e));
  const state = new Uint8Array(n); // 0 unseen, 1 on the stack, 2 done
  const reversed = new Uint8Array(pairs.length);
  for (let root = 0; root < n; root++) {
    if (state[root]) continue;
    const stack = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const v = top[0];
      if (top[1] < out[v].length) {
        const e = out[v][top[1]++];
        const w = pairs[e][1];
        if (state[w] === 1) reversed[e] = 1;
        else if (state[w] === 0) {
          state[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  return reversed;
}

/** Longest-path layering; then each source moves right, next to its nearest consumer. */
function assignLayers(n, src, dst) {
  const succ = Array.from({ length: n }, () => []);
  const indegree = new Int32Array(n);
  src.forEach((u, e) => {
    succ[u].push(dst[e]);
    indegree[dst[e]]++;
  });
  const layer = new Int32Array(n);
  const remaining = Int32Array.from(indegree);
  const order = [];
  for (let v = 0; v < n; v++) if (remaining[v] === 0) order.push(v);
  for (let i = 0; i < order.length; i++) {
    const u = order[i];
    for (const w of succ[u]) {
      if (layer[u] + 1 > layer[w]) layer[w] = layer[u] + 1;
      if (--remaining[w] === 0) order.push(w);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    if (indegree[v] !== 0 || succ[v].length === 0) continue;
    let nearest = Infinity;
    for (const w of succ[v]) nearest = Math.min(nearest, layer[w]);
    layer[v] = nearest - 1;
  }
  return layer;
}

/** The proper layered graph: every edge spans one layer, through dummies where needed. */
function addDummies(n, realLayer, src, dst) {
  const layer = Array.from(realLayer);
  const preds = Array.from({ length: n }, () => []);
  const succs = Array.from({ length: n }, () => []);
  const chains = [];
  const link = (a, b) => {
    succs[a].push(b);
    preds[b].push(a);
  };
  src.forEach((u, e) => {
    const v = dst[e];
    const chain = [];
    let prev = u;
    for (let l = layer[u] + 1; l < layer[v]; l++) {
      const d = layer.length;
      layer.push(l);
      preds.push([]);
      succs.push([]);
      chain.push(d);
      link(prev, d);
      prev = d;
    }
    link(prev, v);
    chains.push(chain);
  });
  return { real: n, size: layer.length, layer, preds, succs, chains };
}

function orderLayers(graph, maxSweeps) {
  let count = 0;
  for (const l of graph.layer) count = Math.max(count, l + 1);
  const layers = Array.from({ length: count }, () => []);
  for (let v = 0; v < graph.size; v++) layers[graph.layer[v]].push(v);
  const pos = new Float64Array(graph.size);
  const renumber = (ids) => ids.forEach((v, i) => { pos[v] = i; });
  layers.forEach(renumber);

  const key = new Float64Array(graph.size);
  const sweep = (from, to, step, neighbours) => {
    for (let l = from; l !== to; l += step) {
      const ids = layers[l];
      for (const v of ids) {
        const near = neighbours[v];
        if (!near.length) {
          key[v] = pos[v];
          continue;
        }
        let sum = 0;
        for (const w of near) sum += pos[w];
        key[v] = sum / near.length;
      }
      ids.sort((a, b) => key[a] - key[b] || pos[a] - pos[b]);
      renumber(ids);
    }
  };

  let best = layers.map((ids) => ids.slice());
  let bestCrossings = countAllCrossings(layers, graph, pos);
  let stale = 0;
  for (let i = 0; i < maxSweeps && bestCrossings > 0 && stale < 3; i++) {
    sweep(1, layers.length, 1, graph.preds);
    sweep(layers.length - 2, -1, -1, graph.succs);
    const crossings = countAllCrossings(layers, graph, pos);
    if (crossings < bestCrossings) {
      bestCrossings = crossings;
      best = layers.map((ids) => ids.slice());
      stale = 0;
    } else {
      stale++;
    }
  }
  return best;
}

/** Edge crossings between all pairs of adjacent layers. */
function countAllCrossings(layers, graph, pos) {
  const at = pos || new Float64Array(graph.size);
  if (!pos) layers.forEach((ids) => ids.forEach((v, i) => { at[v] = i; }));
  let edgeCount = 0;
  let widest = 0;
  for (let v = 0; v < graph.size; v++) edgeCount += graph.succs[v].length;
  for (const ids of layers) widest = Math.max(widest, ids.length);
  // Buffers reused for every pair of layers: this runs after each sweep.
  const targets = new Int32Array(edgeCount);
  const tree = new Int32Array(widest + 1);
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    let count = 0;
    for (const v of layers[l]) {
      const start = count;
      for (const w of graph.succs[v]) {
        // Insertion sort: a node's few successors, by position.
        let i = count++;
        const p = at[w];
        while (i > start && targets[i - 1] > p) {
          targets[i] = targets[i - 1];
          i--;
        }
        targets[i] = p;
      }
    }
    total += inversions(targets, count, tree, layers[l + 1].length);
  }
  return total;
}

/** Pairs i < j < n with a[i] > a[j], for integers in [0, size): a Fenwick tree. */
function inversions(a, n, tree, size) {
  tree.fill(0, 0, size + 1);
  let count = 0;
  for (let i = n - 1; i >= 0; i--) {
    for (let k = a[i]; k > 0; k -= k & -k) count += tree[k];
    for (let k = a[i] + 1; k <= size; k += k & -k) tree[k]++;
  }
  return count;
}

/** Vertical centres: pulled towards neighbours, order and spacing kept. */
function placeVertically(graph, layers, height, opts) {
  const cy = new Float64Array(graph.size);
  const size = (v) => (v < graph.real ? height[v] : 0);
  const gap = (a, b) =>
    (size(a) + size(b)) / 2 + (a < graph.real && b < graph.real ? opts.nodeGap : opts.dummyGap);

  for (const ids of layers) {
    let y = 0;
    ids.forEach((v, i) => {
      if (i > 0) y += gap(ids[i - 1], v);
      cy[v] = y;
    });
    for (const v of ids) cy[v] -= y / 2;
  }

  // Each node is pulled to the mean centre of its neighbours in `adjacency` (one or more
  // of graph.preds / graph.succs); a node without any stays where it is.
  const pass = (ids, adjacency) => {
    const desired = ids.map((v) => {
      let sum = 0;
      let count = 0;
      for (const lists of adjacency) {
        for (const w of lists[v]) sum += cy[w];
        count += lists[v].length;
      }
      return count ? sum / count : cy[v];
    });
    const offset = [0];
    for (let i = 1; i < ids.length; i++) offset.push(offset[i - 1] + gap(ids[i - 1], ids[i]));
    const fitted = isotonic(desired.map((d, i) => d - offset[i]));
    ids.forEach((v, i) => { cy[v] = fitted[i] + offset[i]; });
  };

  for (let p = 0; p < opts.placementPasses; p++) {
    if (p % 2 === 0) for (let l = 1; l < layers.length; l++) pass(layers[l], [graph.preds]);
    else for (let l = layers.length - 2; l >= 0; l--) pass(layers[l], [graph.succs]);
  }
  for (const ids of layers) pass(ids, [graph.preds, graph.succs]);

  let top = Infinity;
  for (let v = 0; v < graph.size; v++) top = Math.min(top, cy[v] - size(v) / 2);
  if (Number.isFinite(top)) for (let v = 0; v < graph.size; v++) cy[v] -= top;
  return cy;
}

/** The non-decreasing sequence nearest to `values` (least squares): pool adjacent violators. */
function isotonic(values) {
  const means = [];
  const counts = [];
  for (const value of values) {
    means.push(value);
    counts.push(1);
    while (means.length > 1 && means[means.length - 2] > means[means.length - 1]) {
      const m = means.pop();
      const c = counts.pop();
      const i = means.length - 1;
      means[i] = (means[i] * counts[i] + m * c) / (counts[i] + c);
      counts[i] += c;
    }
  }
  const out = [];
  means.forEach((m, i) => { for (let k = 0; k < counts[i]; k++) out.push(m); });
  return out;
}
