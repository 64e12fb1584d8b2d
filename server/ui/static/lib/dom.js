// DOM building and formatting helpers shared by every page. No framework: `h()` builds
// elements, pages rebuild the parts that change.

const SVG_NS = "http://www.w3.org/2000/svg";

/** Append children (strings, nodes, arrays, null/false skipped) to `el`. */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

function applyProps(el, props, isSvg) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (!isSvg && (name === "value" || name === "checked" || name === "disabled")) el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

/** `h("a", {href: "#/runs", class: "x"}, "Runs")`: an HTML element. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props, false);
  return append(el, children);
}

/** `s("path", {d: "M0 0"})`: an SVG element. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props, true);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replace the content of `el` with `children`. */
export function replace(el, ...children) {
  return append(clear(el), children);
}

// -- asset keys ------------------------------------------------------------------------------

export const keyString = (key) => key.join("/");
export const keyFromString = (str) => str.split("/").filter(Boolean);
export const keyHref = (key) => "#/assets/" + key.map(encodeURIComponent).join("/");

/** A link to an asset's page showing its key with a dimmed prefix. */
export function keyLink(key, extra = {}) {
  const prefix = key.slice(0, -1);
  return h(
    "a",
    { href: keyHref(key), class: "asset-key", title: keyString(key), ...extra },
    prefix.length ? h("span", { class: "key-prefix" }, prefix.join("/") + "/") : null,
    key[key.length - 1],
  );
}

// -- time ------------------------------------------------------------------------------------

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** `2024-05-01 14:03:07` in local time, from epoch seconds. */
export function formatTime(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `14:03:07.215`, for event logs. */
export function formatClock(seconds) {
  const d = new Date(seconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function formatAgo(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const diff = Date.now() / 1000 - seconds;
  if (diff < 5) return "just now";
  if (diff < 60) return `${Math.round(diff)} s ago`;
  if (diff < 3600) return `${Math.round(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.round(diff / 3600)} h ago`;
  return `${Math.round(diff / 86400)} d ago`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} m ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} m`;
}

/** A <time> showing "3 min ago" with the exact time as its tooltip. */
export function timeAgo(seconds) {
  if (seconds === null || seconds === undefined) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: new Date(seconds * 1000).toISOString(), title: formatTime(seconds) },
    formatAgo(seconds));
}

// -- badges ----------------------------------------------------------------------------------

export const TERMINAL = new Set(["SUCCESS", "FAILURE", "CANCELED"]);
export const RUN_STATUSES = ["QUEUED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "CANCELING", "CANCELED"];

export function badge(text, kind, title) {
  return h("span", { class: `badge badge-${kind}`, title }, text);
}

export function runStatusBadge(status) {
  return h("span", { class: `status status-${status.toLowerCase()}`, "data-status": status }, status);
}

/** The badges that describe an asset's state: materialized or not, stale, conflict, external. */
export function assetBadges(asset) {
  const out = [];
  if (asset.conflict) out.push(badge("Conflict", "conflict", asset.conflict.message));
  if (asset.is_external) out.push(badge("External", "external", "declared here, materialized elsewhere"));
  if (!asset.latest_materialization) {
    if (!asset.is_external) out.push(badge("Never materialized", "never"));
  } else if (asset.stale) {
    const why = (asset.stale_causes || []).map((c) => c.message).join("\n");
    out.push(badge("Stale", "stale", why || "stale"));
  } else {
    out.push(badge("Fresh", "fresh"));
  }
  if (asset.cycle) out.push(badge("Cycle", "conflict", "part of a dependency cycle"));
  return out;
}

/** One chip per kind of the asset (`python`, `dbt`), each a link to the catalog filtered by it. */
export function kindChips(asset) {
  return (asset.kinds || []).map((kind) =>
    h("a", { class: "chip chip-kind", href: `#/assets?kind=${encodeURIComponent(kind)}`, "data-kind": kind }, kind));
}

/** One chip per owner (`team:data`, an e-mail), each a link to the catalog filtered by it. */
export function ownerChips(asset) {
  return (asset.owners || []).map((owner) =>
    h("a", { class: "chip chip-owner", href: `#/assets?owner=${encodeURIComponent(owner)}`, "data-owner": owner }, owner));
}

// -- small widgets ---------------------------------------------------------------------------

/** A toast in the corner: `toast("Launched", "ok")`; `body` may be a node. */
export function toast(body, kind = "info", ms = 6000) {
  let host = document.getElementById("toasts");
  if (!host) {
    host = h("div", { id: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(host);
  }
  const el = h("div", { class: `toast toast-${kind}` }, body);
  host.appendChild(el);
  setTimeout(() => el.remove(), ms);
  return el;
}

export function errorBox(error) {
  const detail = error && error.detail ? error.detail : String(error && error.message ? error.message : error);
  const title = error && error.title ? error.title : "Error";
  return h("div", { class: "error-box", role: "alert" },
    h("strong", null, title), " ", h("span", { class: "error-detail" }, detail));
}

export function loading(text = "Loading…") {
  return h("div", { class: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}

export function emptyState(title, body) {
  return h("div", { class: "empty" }, h("strong", null, title), body ? h("p", null, body) : null);
}

/** Call `fn` at most once every `ms`, after the last call. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function formatNumber(value) {
  return typeof value === "number" ? value.toLocaleString(undefined, { maximumFractionDigits: 6 }) : String(value);
}

/** Whether `value` is an absolute http(s) URL, the only kind metadata may link to. */
export function isWebUrl(value) {
  try {
    const { protocol } = new URL(String(value));
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/** Render a metadata value `{kind, value}` for reading. */
export function metadataValue(entry) {
  if (!entry || typeof entry !== "object") return String(entry);
  const { kind, value } = entry;
  switch (kind) {
    case "int":
    case "float":
      return h("span", { class: "num" }, formatNumber(value));
    case "bool":
      return String(value);
    case "url":
      // A link only to the web: a `javascript:` or `data:` URL of user code stays text.
      return isWebUrl(value)
        ? h("a", { href: value, target: "_blank", rel: "noopener noreferrer" }, value)
        : h("span", { class: "url-text" }, String(value));
    case "asset":
      return keyLink(keyFromString(String(value)));
    case "json":
      return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
    case "md":
      return h("pre", { class: "md" }, value);
    case "path":
    case "notebook":
      return h("code", null, value);
    case "timestamp":
      return h("span", { class: "timestamp", title: String(value) }, formatTime(value));
    case "run":
      return h("a", { class: "mono", href: `#/runs/${encodeURIComponent(String(value))}` }, String(value).slice(0, 8));
    case "job":
      // From user code, through the server: a value of the wrong shape shows as JSON.
      if (!value || typeof value !== "object") break;
      return h("span", null, h("code", null, String(value.job_name)), h("span", { class: "muted" }, ` · ${value.location_name}`));
    case "python_artifact":
      if (!value || typeof value !== "object") break;
      return h("code", null, `${value.module}.${value.name}`);
    case "pool":
      return h("span", { class: "chip" }, String(value));
    case "table_schema":
      if (!isSchema(value)) break;
      return tableSchema(value);
    case "table":
      if (!value || !Array.isArray(value.records) || !isSchema(value.schema)) break;
      return tableRecords(value);
    case "column_lineage":
      if (!value || !value.deps_by_column || typeof value.deps_by_column !== "object") break;
      return columnLineage(value.deps_by_column);
    case "null":
      return h("span", { class: "muted" }, "null");
    default:
      return String(value);
  }
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

// Table metadata. The values come from user code through the server: a value of the wrong
// shape shows as JSON (see `metadataValue`), never as a broken table.

const isSchema = (value) => Boolean(value) && Array.isArray(value.columns) &&
  value.columns.every((c) => c && typeof c === "object" && c.constraints && typeof c.constraints === "object");

/** A column's constraints as chips: `not null`, `unique`, then each other one in words. */
function constraintChips(constraints) {
  const chips = [];
  if (constraints.nullable === false) chips.push("not null");
  if (constraints.unique) chips.push("unique");
  for (const other of constraints.other || []) chips.push(String(other));
  return chips.map((c) => h("span", { class: "chip chip-constraint" }, c));
}

/** A table schema: one row per column (name, type, description, constraints). */
function tableSchema(schema) {
  const others = (schema.constraints && schema.constraints.other) || [];
  return h("div", { class: "table-schema" },
    h("table", { class: "table table-compact" },
      h("thead", null, h("tr", null, ["Column", "Type", "Description", "Constraints"].map((t) => h("th", null, t)))),
      h("tbody", null, schema.columns.map((c) =>
        h("tr", { "data-column": String(c.name) },
          h("td", { class: "col-name" }, h("code", null, String(c.name))),
          h("td", { class: "col-type" }, String(c.type)),
          h("td", { class: "col-description" }, c.description === null || c.description === undefined ? h("span", { class: "muted" }, "—") : String(c.description)),
          h("td", { class: "col-constraints" }, constraintChips(c.constraints)))))),
    others.length ? h("p", { class: "table-constraints muted" }, "Table constraints: ", others.map((o, i) => [i ? ", " : "", h("code", null, String(o))])) : null);
}

/** Rows of a table, under a header of the schema's columns. */
function tableRecords(table) {
  const names = table.schema.columns.map((c) => String(c.name));
  const cell = (v) => v === null || v === undefined ? h("span", { class: "muted" }, "null")
    : typeof v === "number" ? h("span", { class: "num" }, formatNumber(v)) : String(v);
  return h("table", { class: "table table-compact table-records" },
    h("thead", null, h("tr", null, table.schema.columns.map((c) => h("th", { title: String(c.type) }, String(c.name))))),
    h("tbody", null, table.records.map((r) => h("tr", null, names.map((n) => h("td", null, cell(r && r[n])))))));
}

/** Each column, with the columns of other assets it is computed from. */
function columnLineage(depsByColumn) {
  return h("ul", { class: "column-lineage" }, Object.entries(depsByColumn).map(([column, deps]) =>
    h("li", { "data-column": column }, h("code", null, column), " ← ",
      (Array.isArray(deps) ? deps : []).map((d, i) => [i ? ", " : "",
        keyLink(keyFromString(String(d && d.asset_key))), " ", h("code", null, String(d && d.column_name))]))));
}
