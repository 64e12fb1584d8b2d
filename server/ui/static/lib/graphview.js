// Draws a laid-out graph as SVG, with pan (drag), zoom (wheel, buttons), selection styles
// and keyboard access to nodes. It knows nothing of assets: the lineage page passes titles,
// subtitles and classes for each node and edge.

import { s } from "./dom.js";

const CHAR_WIDTH = 7.4; // px per character at the node title's font size, for truncation

function truncate(text, width) {
  const max = Math.max(4, Math.floor((width - 26) / CHAR_WIDTH));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A smooth path through `points`: straight where level, S-curves between columns. */
function edgePath(points) {
  let d = `M${points[0].x.toFixed(1)},${points[0].y.toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (Math.abs(a.y - b.y) < 0.5) {
      d += `L${b.x.toFixed(1)},${b.y.toFixed(1)}`;
    } else {
      const mid = (a.x + b.x) / 2;
      d += `C${mid.toFixed(1)},${a.y.toFixed(1)} ${mid.toFixed(1)},${b.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
    }
  }
  return d;
}

export class GraphView {
  /**
   * `onNodeClick(id, event)` on click or Enter/Space; `onNodeOpen(id)` on double click;
   * `onBackgroundClick()` on a click on empty space.
   */
  constructor(container, { onNodeClick, onNodeOpen, onBackgroundClick } = {}) {
    this.container = container;
    this.transform = { x: 0, y: 0, k: 1 };
    this.nodeEls = new Map();
    this.size = { width: 0, height: 0 };
    this.viewport = s("g", { class: "viewport" });
    this.svg = s("svg", { class: "graph-svg", role: "group", "aria-label": "Asset lineage graph" },
      s("defs", null,
        s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
          s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" })),
        s("marker", { id: "arrow-cross", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
          s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow arrow-cross" }))),
      this.viewport);
    container.appendChild(this.svg);
    this.bindEvents(onNodeClick || (() => {}), onNodeOpen || (() => {}), onBackgroundClick || (() => {}));
  }

  bindEvents(onNodeClick, onNodeOpen, onBackgroundClick) {
    let drag = null;
    this.svg.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, tx: this.transform.x, ty: this.transform.y, moved: false };
    });
    this.svg.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) this.svg.setPointerCapture(e.pointerId);
      drag.moved = true;
      this.svg.classList.add("panning");
      this.transform.x = drag.tx + dx;
      this.transform.y = drag.ty + dy;
      this.apply();
    });
    this.svg.addEventListener("pointerup", (e) => {
      const wasDrag = drag && drag.moved;
      drag = null;
      this.svg.classList.remove("panning");
      if (wasDrag) return;
      const node = e.target.closest("[data-node]");
      if (node) onNodeClick(node.dataset.node, e);
      else onBackgroundClick();
    });
    this.svg.addEventListener("dblclick", (e) => {
      const node = e.target.closest("[data-node]");
      if (node) onNodeOpen(node.dataset.node);
    });
    this.svg.addEventListener("keydown", (e) => {
      const node = e.target.closest && e.target.closest("[data-node]");
      if (node && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        onNodeClick(node.dataset.node, e);
      }
    });
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const rect = this.svg.getBoundingClientRect();
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - rect.left, e.clientY - rect.top);
    }, { passive: false });
  }

  apply() {
    const { x, y, k } = this.transform;
    this.viewport.setAttribute("transform", `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
    this.svg.classList.toggle("zoomed-out", k < 0.45);
  }

  zoomAt(factor, cx, cy) {
    const k = Math.min(2.5, Math.max(0.03, this.transform.k * factor));
    const ratio = k / this.transform.k;
    this.transform.x = cx - (cx - this.transform.x) * ratio;
    this.transform.y = cy - (cy - this.transform.y) * ratio;
    this.transform.k = k;
    this.apply();
  }

  zoomBy(factor) {
    const rect = this.svg.getBoundingClientRect();
    this.zoomAt(factor, rect.width / 2, rect.height / 2);
  }

  /** Show the whole graph (never enlarged beyond 100%). */
  fit() {
    const rect = this.svg.getBoundingClientRect();
    const margin = 32;
    const { width, height } = this.size;
    if (!width || !rect.width) return;
    const k = Math.min(1, (rect.width - 2 * margin) / width, (rect.height - 2 * margin) / Math.max(height, 1));
    this.transform = { k, x: (rect.width - width * k) / 2, y: Math.max(margin, (rect.height - height * k) / 2) };
    this.apply();
  }

  /** Centre on a node, at a readable zoom. */
  centerOn(id) {
    const el = this.nodeEls.get(id);
    if (!el) return;
    const box = el.__box;
    const rect = this.svg.getBoundingClientRect();
    const k = Math.max(this.transform.k, 0.8);
    this.transform = { k, x: rect.width / 2 - (box.x + box.width / 2) * k, y: rect.height / 2 - (box.y + box.height / 2) * k };
    this.apply();
  }

  /**
   * Draw `layout` (from layoutGraph). `nodeInfo(id)` gives `{title, subtitle, tooltip,
   * classes, stripe}`; `edgeInfo(from, to)` gives `{classes, cross}`.
   */
  render(layout, nodeInfo, edgeInfo) {
    this.size = { width: layout.width, height: layout.height };
    this.nodeEls.clear();
    const edgeLayer = s("g", { class: "edges" });
    for (const edge of layout.edges) {
      const info = edgeInfo(edge.from, edge.to);
      edgeLayer.appendChild(s("path", {
        d: edgePath(edge.points),
        class: ["edge", info.cross ? "edge-cross" : null, edge.reversed ? "edge-back" : null, ...(info.classes || [])],
        "marker-end": info.cross ? "url(#arrow-cross)" : "url(#arrow)",
        "data-from": edge.from,
        "data-to": edge.to,
      }));
    }
    const nodeLayer = s("g", { class: "nodes" });
    for (const [id, box] of layout.nodes) {
      const info = nodeInfo(id);
      const g = s("g", {
        class: ["node", ...(info.classes || [])],
        transform: `translate(${box.x.toFixed(1)},${box.y.toFixed(1)})`,
        "data-node": id,
        tabindex: 0,
        role: "button",
        "aria-label": info.tooltip || id,
      },
      s("title", null, info.tooltip || id),
      s("rect", { class: "node-box", width: box.width, height: box.height, rx: 8 }),
      s("rect", { class: "node-stripe", width: 5, height: box.height, rx: 2, fill: info.stripe || "#94a3b8" }),
      s("text", { class: "node-title", x: 14, y: 21 }, truncate(info.title, box.width)),
      info.subtitle ? s("text", { class: "node-subtitle", x: 14, y: 39 }, truncate(info.subtitle, box.width + 20)) : null);
      g.__box = box;
      this.nodeEls.set(id, g);
      nodeLayer.appendChild(g);
    }
    this.viewport.replaceChildren(edgeLayer, nodeLayer);
    this.edgeLayer = edgeLayer;
  }

  /** Mark `ids` as selected, and the edges between selected nodes. */
  setSelected(ids) {
    for (const [id, el] of this.nodeEls) {
      el.classList.toggle("selected", ids.has(id));
      el.setAttribute("aria-pressed", String(ids.has(id)));
    }
    if (!this.edgeLayer) return;
    for (const path of this.edgeLayer.children) {
      const { from, to } = path.dataset;
      path.classList.toggle("edge-selected", ids.has(from) || ids.has(to));
    }
  }
}
