// #/graph — the lineage graph: the whole merged graph, one group (?group=), or the
// neighbourhood of one asset (?focus=a/b&depth=2). Click selects, shift-click adds; the
// selection can be materialized. Large graphs start with their groups collapsed.

import { getAsset } from "../lib/api.js";
import {
  assetBadges, errorBox, h, keyFromString, keyHref, keyLink, loading, replace, timeAgo,
} from "../lib/dom.js";
import { isCrossLocation, loadGraph, reach } from "../lib/graphdata.js";
import { GraphView } from "../lib/graphview.js";
import { layoutGraph } from "../lib/layout.js";
import { materialize } from "../lib/launch.js";

const COLLAPSE_ABOVE = 400; // nodes; beyond this the whole-graph view starts collapsed
const STRIPES = ["#2563eb", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626"];

// Groups are collapsed per code location: a group that two locations share becomes two
// nodes, so that the edges between locations stay visible.
const partOf = (node) => `${node.group || "default"}@${node.location || "(external)"}`;
const groupId = (part) => `group:${part}`;

export async function render(root, { params }, ctx) {
  replace(root, loading("Loading the asset graph…"));
  let graph;
  try {
    graph = await loadGraph({ maxAge: 0, signal: ctx.signal });
  } catch (err) {
    if (ctx.alive()) replace(root, errorBox(err));
    return;
  }
  if (!ctx.alive()) return;
  new LineagePage(root, graph, params, ctx);
}

class LineagePage {
  constructor(root, graph, params, ctx) {
    this.root = root;
    this.graph = graph;
    this.ctx = ctx;
    this.group = params.get("group") || "";
    this.focus = params.get("focus") || "";
    this.depth = params.get("depth") || "2";
    this.selected = new Set();
    this.lastClicked = null;
    this.ghosts = new Set(); // neighbours of a group drawn faded, outside it
    this.ids = this.visibleIds();
    this.stripes = new Map([...graph.locations.keys()].sort().map((loc, i) => [loc, STRIPES[i % STRIPES.length]]));
    this.collapsed = new Set(); // parts ("group@location") drawn as one node
    if (!this.group && !this.focus && this.ids.size > COLLAPSE_ABOVE) this.collapsed = this.allParts();
    this.build();
    this.draw(true);
  }

  allParts() {
    return new Set([...this.ids].map((id) => partOf(this.graph.nodes.get(id))));
  }

  stripeOf(location) {
    return this.stripes.get(location) || "#94a3b8";
  }

  visibleIds() {
    const { graph } = this;
    if (this.focus) {
      if (!graph.nodes.has(this.focus)) return new Set();
      const depth = this.depth === "all" ? Infinity : Number(this.depth) || 2;
      return new Set([this.focus, ...reach([this.focus], graph.parents, depth), ...reach([this.focus], graph.children, depth)]);
    }
    if (this.group) {
      const members = [...graph.nodes.values()].filter((n) => (n.group || "default") === this.group).map((n) => n.id);
      const core = new Set(members);
      for (const id of members) {
        for (const other of [...graph.parents.get(id), ...graph.children.get(id)]) {
          if (!core.has(other)) this.ghosts.add(other);
        }
      }
      return new Set([...core, ...this.ghosts]);
    }
    return new Set(graph.nodes.keys());
  }

  // -- the page's parts ------------------------------------------------------------------------

  build() {
    this.canvas = h("div", { class: "graph-canvas" });
    this.notice = h("div", { class: "graph-notice", hidden: true });
    this.stats = h("span", { class: "muted graph-stats" });
    this.selectionBar = h("div", { class: "selection-bar" });
    this.details = h("aside", { class: "graph-details", "aria-label": "Selected asset" });
    this.view = new GraphView(this.canvas, {
      onNodeClick: (id, e) => this.click(id, e),
      onNodeOpen: (id) => {
        if (!id.startsWith("group:")) location.hash = keyHref(keyFromString(id));
      },
      onBackgroundClick: () => this.select(new Set()),
    });
    const findInput = h("input", { type: "search", placeholder: "Find an asset…", "aria-label": "Find an asset in the graph", class: "input" });
    findInput.addEventListener("keydown", (e) => { if (e.key === "Enter") this.find(findInput.value); });
    const collapseToggle = h("input", { type: "checkbox", id: "collapse-groups", checked: this.collapsed.size > 0 });
    collapseToggle.addEventListener("change", () => {
      this.collapsed = collapseToggle.checked ? this.allParts() : new Set();
      this.draw(true);
    });
    this.collapseToggle = collapseToggle;

    const toolbar = h("div", { class: "graph-toolbar" },
      h("h1", { class: "graph-title" }, this.title()),
      this.focus ? this.depthPicker() : null,
      this.stats,
      findInput,
      h("label", { class: "check", for: "collapse-groups" }, collapseToggle, " Collapse groups"),
      h("div", { class: "btn-group" },
        h("button", { class: "btn btn-icon", type: "button", title: "Zoom in", "aria-label": "Zoom in", onclick: () => this.view.zoomBy(1.25) }, "+"),
        h("button", { class: "btn btn-icon", type: "button", title: "Zoom out", "aria-label": "Zoom out", onclick: () => this.view.zoomBy(0.8) }, "−"),
        h("button", { class: "btn", type: "button", onclick: () => this.view.fit() }, "Fit")));

    replace(this.root, h("div", { class: "graph-page" },
      this.sidebar(),
      h("section", { class: "graph-main" }, toolbar, this.notice,
        h("div", { class: "graph-stage" }, this.canvas, this.legend()),
        this.selectionBar),
      this.details));
    this.renderSelection();
    this.renderDetails();
  }

  title() {
    if (this.focus) return ["Neighbourhood of ", keyLink(keyFromString(this.focus))];
    if (this.group) return ["Group ", h("span", { class: "group-name" }, this.group)];
    return "All assets";
  }

  depthPicker() {
    const select = h("select", { class: "input", "aria-label": "Depth" },
      ["1", "2", "3", "all"].map((d) => h("option", { value: d, selected: d === this.depth }, d === "all" ? "all levels" : `${d} level${d === "1" ? "" : "s"}`)));
    select.addEventListener("change", () => {
      location.hash = `#/graph?focus=${encodeURIComponent(this.focus)}&depth=${select.value}`;
    });
    return select;
  }

  sidebar() {
    const byLocation = [...this.graph.locations.entries()].sort(([a], [b]) => a.localeCompare(b));
    return h("nav", { class: "graph-sidebar", "aria-label": "Locations and groups" },
      h("a", { href: "#/graph", class: !this.group && !this.focus ? "active" : null }, "All assets",
        h("span", { class: "count" }, this.graph.nodes.size)),
      byLocation.map(([loc, groups]) => h("div", { class: "sidebar-location" },
        h("div", { class: "sidebar-heading" }, h("span", { class: "dot", style: { background: this.stripeOf(loc) } }), loc),
        [...groups.entries()].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })).map(([group, count]) =>
          h("a", { href: `#/graph?group=${encodeURIComponent(group)}`, class: group === this.group ? "active" : null, "data-group": group },
            group, h("span", { class: "count" }, count))))));
  }

  legend() {
    return h("div", { class: "graph-legend", "aria-hidden": "true" },
      h("span", { class: "legend-item" }, h("i", { class: "legend-edge" }), "dependency"),
      h("span", { class: "legend-item" }, h("i", { class: "legend-edge legend-cross" }), "across code locations"),
      h("span", { class: "legend-item" }, h("i", { class: "legend-node legend-group" }), "collapsed group"));
  }

  // -- drawing ---------------------------------------------------------------------------------

  /** The drawn graph: visible assets, with collapsed groups folded into one node each. */
  drawnGraph() {
    const { graph } = this;
    const rep = (id) => {
      const part = partOf(graph.nodes.get(id));
      return this.collapsed.has(part) ? groupId(part) : id;
    };
    const nodes = new Map();
    for (const id of this.ids) {
      const r = rep(id);
      if (!nodes.has(r)) nodes.set(r, { id: r, members: [] });
      nodes.get(r).members.push(id);
    }
    const edges = new Map();
    for (const [from, to] of graph.edges) {
      if (!this.ids.has(from) || !this.ids.has(to)) continue;
      const a = rep(from);
      const b = rep(to);
      if (a === b) continue;
      const k = `${a}\u0000${b}`;
      if (!edges.has(k)) edges.set(k, { from: a, to: b, cross: false });
      if (isCrossLocation(graph, from, to)) edges.get(k).cross = true;
    }
    return { nodes, edges };
  }

  draw(fit) {
    const drawn = this.drawnGraph();
    const started = performance.now();
    const layout = layoutGraph([...drawn.nodes.keys()].map((id) => ({ id })), [...drawn.edges.values()].map((e) => [e.from, e.to]));
    const took = performance.now() - started;
    this.root.dataset.layoutMs = took.toFixed(1);
    const crossEdges = new Set([...drawn.edges.values()].filter((e) => e.cross).map((e) => `${e.from}\u0000${e.to}`));
    this.view.render(layout, (id) => this.nodeInfo(id, drawn.nodes.get(id)), (from, to) => ({ cross: crossEdges.has(`${from}\u0000${to}`) }));
    this.view.setSelected(this.selected);
    const shown = this.ids.size - this.ghosts.size;
    const around = this.ghosts.size ? ` (+${this.ghosts.size} around it)` : "";
    this.stats.textContent = `${shown} asset${shown === 1 ? "" : "s"}${around} · ${drawn.edges.size} edges · laid out in ${took.toFixed(0)} ms`;
    if (this.collapsed.size && !this.group && !this.focus && this.ids.size > COLLAPSE_ABOVE) {
      this.notice.hidden = false;
      replace(this.notice, `Large graph (${this.ids.size} assets): groups are collapsed. Click a group to expand it, or open one group from the list.`);
    } else {
      this.notice.hidden = true;
    }
    if (!this.ids.size) {
      this.notice.hidden = false;
      replace(this.notice, this.focus ? `No asset '${this.focus}' in any code location.` : "No assets to show: no code location has loaded any.");
    }
    if (fit) requestAnimationFrame(() => this.view.fit());
  }

  nodeInfo(id, entry) {
    if (id.startsWith("group:")) {
      const { group, location } = this.graph.nodes.get(entry.members[0]);
      const count = entry.members.length;
      return {
        title: group || "default",
        subtitle: `${count} asset${count === 1 ? "" : "s"} · ${location || "external"}`,
        tooltip: `Group ${group} of ${location}: ${count} assets (click to expand)`,
        classes: ["node-group"],
        stripe: this.stripeOf(location),
      };
    }
    const node = this.graph.nodes.get(id);
    const key = node.key;
    const where = node.group === node.location ? [node.group] : [node.group, node.location];
    return {
      title: key[key.length - 1],
      subtitle: [key.length > 1 ? key.slice(0, -1).join("/") : null, ...where].filter(Boolean).join(" · "),
      tooltip: this.ghosts.has(id) ? `${id} (in group ${node.group})` : id,
      classes: [
        node.is_external ? "node-external" : null,
        node.conflict ? "node-conflict" : null,
        id === this.focus ? "node-focus" : null,
        this.ghosts.has(id) ? "node-ghost" : null,
      ],
      stripe: this.stripeOf(node.location),
    };
  }

  // -- selection -------------------------------------------------------------------------------

  click(id, event) {
    if (id.startsWith("group:")) {
      const part = id.slice("group:".length);
      this.collapsed.delete(part);
      this.collapseToggle.checked = this.collapsed.size > 0;
      this.draw(false);
      // Bring the expanded group into view: centre on its first asset.
      const first = [...this.ids].find((m) => partOf(this.graph.nodes.get(m)) === part);
      if (first) this.view.centerOn(first);
      return;
    }
    const next = new Set(this.selected);
    if (event.shiftKey || event.metaKey || event.ctrlKey) {
      if (next.has(id)) next.delete(id);
      else next.add(id);
    } else {
      next.clear();
      next.add(id);
    }
    this.lastClicked = next.has(id) ? id : null;
    this.select(next);
    this.renderDetails();
  }

  select(ids) {
    this.selected = ids;
    this.view.setSelected(ids);
    this.renderSelection();
  }

  extend(direction) {
    const more = reach([...this.selected], direction === "up" ? this.graph.parents : this.graph.children);
    this.select(new Set([...this.selected, ...more]));
  }

  renderSelection() {
    const n = this.selected.size;
    replace(this.selectionBar,
      h("span", { class: "selection-count", "data-count": n }, n ? `${n} selected` : "Click an asset to select it; shift-click to add more."),
      n ? h("button", { class: "btn", type: "button", onclick: () => this.extend("up") }, "+ upstream") : null,
      n ? h("button", { class: "btn", type: "button", onclick: () => this.extend("down") }, "+ downstream") : null,
      n ? h("button", { class: "btn", type: "button", onclick: () => this.select(new Set()) }, "Clear") : null,
      h("span", { class: "spacer" }),
      h("button", {
        class: "btn btn-primary", type: "button", id: "materialize-selection", disabled: n === 0,
        onclick: () => materialize([...this.selected].map((id) => this.graph.nodes.get(id).key)),
      }, n ? `Materialize selected (${n})` : "Materialize selected"));
  }

  async renderDetails() {
    const id = this.lastClicked;
    if (!id) {
      replace(this.details, h("p", { class: "muted" }, "Select an asset to see its state here. Double-click opens its page."));
      return;
    }
    const node = this.graph.nodes.get(id);
    replace(this.details, loading());
    let asset;
    try {
      asset = await getAsset(node.key, { signal: this.ctx.signal });
    } catch (err) {
      if (this.ctx.alive() && this.lastClicked === id) replace(this.details, errorBox(err));
      return;
    }
    if (!this.ctx.alive() || this.lastClicked !== id) return;
    const latest = asset.latest_materialization;
    replace(this.details,
      h("h2", null, keyLink(asset.key)),
      h("div", { class: "badges" }, assetBadges(asset)),
      asset.description ? h("p", null, asset.description) : null,
      h("dl", { class: "kv" },
        h("dt", null, "Location"), h("dd", null, asset.location || "—"),
        h("dt", null, "Group"), h("dd", null, asset.group || "—"),
        h("dt", null, "Materialized"), h("dd", null, latest ? [timeAgo(latest.timestamp), " · ", h("a", { href: `#/runs/${latest.run_id}` }, latest.run_id.slice(0, 8))] : "never"),
        h("dt", null, "Upstream"), h("dd", null, String(asset.deps.length)),
        h("dt", null, "Downstream"), h("dd", null, String(asset.dependents.length))),
      h("div", { class: "details-actions" },
        h("a", { class: "btn", href: keyHref(asset.key) }, "Open details"),
        h("a", { class: "btn", href: `#/graph?focus=${encodeURIComponent(id)}` }, "Focus neighbourhood")));
  }

  find(text) {
    const needle = text.trim().toLowerCase();
    if (!needle) return;
    const id = [...this.ids].find((i) => i.toLowerCase() === needle) || [...this.ids].find((i) => i.toLowerCase().includes(needle));
    if (!id) return;
    if (this.collapsed.delete(partOf(this.graph.nodes.get(id)))) this.draw(false);
    this.lastClicked = id;
    this.select(new Set([id]));
    this.renderDetails();
    this.view.centerOn(id);
  }
}
