// A small SVG line chart for numeric metadata over time ("view the data as a plot").

import { formatTime, h, s } from "./dom.js";

const PAD = { top: 10, right: 12, bottom: 22, left: 48 };

function tickLabel(value) {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (Number.isInteger(value)) return String(value);
  return value.toPrecision(3);
}

/**
 * `points`: [{t (epoch seconds), v (number), runId?}], any order. Returns a <figure>.
 */
export function lineChart(name, points, { width = 360, height = 140 } = {}) {
  const data = points.filter((p) => Number.isFinite(p.v)).sort((a, b) => a.t - b.t);
  const figure = h("figure", { class: "chart", "data-metadata": name });
  const last = data.length ? data[data.length - 1].v : null;
  figure.appendChild(h("figcaption", null,
    h("span", { class: "chart-name" }, name),
    last === null ? null : h("span", { class: "chart-last num" }, tickLabel(last))));
  if (!data.length) return figure;

  let lo = Math.min(...data.map((p) => p.v));
  let hi = Math.max(...data.map((p) => p.v));
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const t0 = data[0].t;
  const t1 = data[data.length - 1].t;
  const innerW = width - PAD.left - PAD.right;
  const innerH = height - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + (t1 === t0 ? innerW / 2 : ((t - t0) / (t1 - t0)) * innerW);
  const y = (v) => PAD.top + innerH - ((v - lo) / (hi - lo)) * innerH;

  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": `${name} over ${data.length} materializations`,
  });
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg.appendChild(s("line", { class: "chart-grid", x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v) }));
    svg.appendChild(s("text", { class: "chart-tick", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, tickLabel(v)));
  }
  svg.appendChild(s("text", { class: "chart-tick", x: PAD.left, y: height - 6 }, formatTime(t0).slice(5, 16)));
  if (t1 !== t0) {
    svg.appendChild(s("text", { class: "chart-tick", x: width - PAD.right, y: height - 6, "text-anchor": "end" },
      formatTime(t1).slice(5, 16)));
  }
  if (data.length > 1) {
    const line = data.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join("");
    svg.appendChild(s("path", { class: "chart-line", d: line }));
  }
  for (const p of data) {
    svg.appendChild(s("circle", { class: "chart-dot", cx: x(p.t), cy: y(p.v), r: 3 },
      s("title", null, `${formatTime(p.t)}: ${p.v}`)));
  }
  figure.appendChild(svg);
  return figure;
}

/** Every numeric (int/float) metadata entry of `materializations`, as chart series. */
export function numericSeries(materializations) {
  const series = new Map();
  for (const m of materializations) {
    for (const [name, entry] of Object.entries(m.metadata || {})) {
      if (!entry || (entry.kind !== "int" && entry.kind !== "float")) continue;
      if (!series.has(name)) series.set(name, []);
      series.get(name).push({ t: m.timestamp, v: Number(entry.value), runId: m.run_id });
    }
  }
  return series;
}
