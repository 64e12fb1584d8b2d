// #/assets/<key> — one asset: its definition, upstream and downstream across locations,
// materialization history, numeric metadata plotted over time, and Materialize.

import { getAsset, listMaterializations } from "../lib/api.js";
import { lineChart, numericSeries } from "../lib/chart.js";
import {
  assetBadges, badge, emptyState, errorBox, formatNumber, formatTime, h, keyLink, keyString, kindChips, loading,
  metadataValue, ownerChips, replace, timeAgo,
} from "../lib/dom.js";
import { loadGraph } from "../lib/graphdata.js";
import { materialize } from "../lib/launch.js";

const HISTORY_PAGE = 50;
const REFRESH_MS = 4000;

export async function render(root, { key }, ctx) {
  replace(root, loading());
  let state;
  try {
    state = await fetchState(key, ctx.signal);
  } catch (err) {
    if (ctx.alive()) replace(root, h("div", { class: "page-header" }, h("h1", null, keyString(key))), errorBox(err));
    return;
  }
  if (!ctx.alive()) return;
  draw(root, state, ctx);

  // Keep the page current: redraw when a new materialization lands or staleness changes.
  const timer = setInterval(async () => {
    try {
      const asset = await getAsset(key, { signal: ctx.signal });
      if (fingerprint(asset) !== fingerprint(state.asset) && ctx.alive()) {
        state = await fetchState(key, ctx.signal);
        if (ctx.alive()) draw(root, state, ctx);
      }
    } catch {
      /* the next tick tries again */
    }
  }, REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
}

const fingerprint = (asset) => JSON.stringify([asset.latest_materialization && asset.latest_materialization.timestamp, asset.stale, asset.code_version]);

async function fetchState(key, signal) {
  const [asset, history, graph] = await Promise.all([
    getAsset(key, { signal }),
    listMaterializations(key, { limit: HISTORY_PAGE }, { signal }),
    loadGraph({ signal }).catch(() => null),
  ]);
  return { asset, history, graph };
}

function draw(root, { asset, history, graph }, ctx) {
  const id = keyString(asset.key);
  const latest = asset.latest_materialization;
  const blocked = asset.conflict ? asset.conflict.message : !asset.is_executable ? "this asset is materialized outside Tessera's code locations" : null;
  const multi = asset.required_multi_asset;
  const together = multi ? multi.keys.length : 1;
  const materializeButton = h("button", {
    class: "btn btn-primary", type: "button", id: "materialize", disabled: Boolean(blocked),
    title: blocked || (multi ? `Launch a run that materializes the ${together} assets of the multi-asset '${multi.node_name}'` : "Launch a run that materializes this asset"),
    onclick: () => materialize([asset.key], [asset]),
  }, `Materialize${multi ? ` all ${together}` : ""}${asset.config_schema || asset.ops_config_schema ? "…" : ""}`);

  replace(root,
    h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" },
      h("a", { href: "#/assets" }, "Assets"),
      asset.key.map((seg, i) => [" / ", i === asset.key.length - 1 ? h("span", null, seg) : h("a", { href: `#/assets?q=${encodeURIComponent(asset.key.slice(0, i + 1).join("/"))}` }, seg)])),
    h("div", { class: "page-header" },
      h("h1", { class: "asset-title" }, id),
      h("div", { class: "badges" }, assetBadges(asset)),
      h("span", { class: "spacer" }),
      h("a", { class: "btn", href: `#/graph?focus=${encodeURIComponent(id)}` }, "View lineage"),
      materializeButton),
    notices(asset),
    h("div", { class: "columns" },
      h("section", { class: "card" }, h("h2", null, "Definition"), definition(asset)),
      h("section", { class: "card", id: "latest-materialization" }, h("h2", null, "Latest materialization"), latestBlock(asset, latest))),
    h("section", { class: "card", id: "lineage" }, h("h2", null, "Lineage"), lineage(asset, graph)),
    plots(history.materializations),
    historySection(asset, history, ctx));
}

function notices(asset) {
  const out = [];
  const latest = asset.latest_materialization;
  if (latest && asset.code_version && latest.code_version !== asset.code_version) {
    out.push(h("div", { class: "callout callout-warn", id: "code-version-changed", role: "status" },
      h("strong", null, "Code version changed since the last materialization"), ": ",
      "materialized with ", h("code", null, latest.code_version ?? "no version"), ", the code is now at ",
      h("code", null, asset.code_version), "."));
  }
  if (asset.stale && asset.stale_causes.length) {
    out.push(h("div", { class: "callout callout-stale" }, h("strong", null, "Stale"),
      h("ul", null, asset.stale_causes.map((c) => h("li", null, c.message, c.key ? [" (", keyLink(c.key), ")"] : null)))));
  }
  const multi = asset.required_multi_asset;
  if (multi) {
    const others = multi.keys.filter((k) => keyString(k) !== keyString(asset.key));
    out.push(h("div", { class: "callout callout-info", id: "multi-asset-notice", role: "note" },
      h("strong", null, `Part of the multi-asset '${multi.node_name}'`), ", which cannot be subset: ",
      "materializing this asset also materializes ", others.map((k, i) => [i ? ", " : "", keyLink(k)]), "."));
  }
  if (asset.conflict) out.push(h("div", { class: "callout callout-error" }, h("strong", null, "Conflict: "), asset.conflict.message));
  if (asset.cycle) {
    out.push(h("div", { class: "callout callout-error" }, h("strong", null, "Dependency cycle: "),
      asset.cycle.map((k, i) => [i ? " → " : "", keyLink(k)])));
  }
  return out;
}

function kvRow(label, value) {
  return [h("dt", null, label), h("dd", null, value === null || value === undefined || value === "" ? h("span", { class: "muted" }, "—") : value)];
}

function metadataTable(metadata) {
  const entries = Object.entries(metadata || {});
  if (!entries.length) return h("span", { class: "muted" }, "none");
  return h("table", { class: "table table-compact metadata-table" },
    h("tbody", null, entries.map(([name, entry]) => WIDE_KINDS.has(entry.kind)
      // A table is too wide for the value column: it takes the row's whole width, under its name.
      ? h("tr", { "data-metadata": name, class: "metadata-wide" }, h("td", { colspan: 3 },
        h("div", { class: "metadata-wide-head" }, h("strong", null, name), h("span", { class: "muted kind" }, entry.kind)),
        h("div", { class: "metadata-wide-value" }, metadataValue(entry))))
      : h("tr", { "data-metadata": name }, h("th", null, name), h("td", null, metadataValue(entry)), h("td", { class: "muted kind" }, entry.kind)))));
}

const WIDE_KINDS = new Set(["table", "table_schema"]);

function definition(asset) {
  const schema = asset.config_schema;
  const fields = schema && schema.properties ? Object.keys(schema.properties) : [];
  const retry = asset.retry_policy;
  return h("dl", { class: "kv" },
    kvRow("Key", h("code", null, keyString(asset.key))),
    kvRow("Group", asset.group ? h("a", { href: `#/graph?group=${encodeURIComponent(asset.group)}` }, asset.group) : null),
    kvRow("Code location", asset.location),
    kvRow("Description", asset.description ? h("p", { class: "description" }, asset.description) : null),
    kvRow("Code version", asset.code_version ? h("code", { id: "code-version" }, asset.code_version) : null),
    kvRow("Kinds", asset.kinds && asset.kinds.length ? kindChips(asset) : null),
    kvRow("Owners", asset.owners.length ? ownerChips(asset) : null),
    kvRow("Tags", userTags(asset).length ? userTags(asset).map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`)) : null),
    kvRow("Metadata", Object.keys(asset.metadata).length ? metadataTable(asset.metadata) : null),
    kvRow("Config", schema ? [h("span", null, fields.length ? fields.join(", ") : "(no fields)"),
      h("details", null, h("summary", null, "JSON Schema"), h("pre", { class: "json" }, JSON.stringify(schema, null, 2)))] : null),
    kvRow("Retry policy", retry ? `${retry.max_retries} retries${retry.delay ? `, ${retry.delay} s delay` : ""}${retry.backoff ? `, ${retry.backoff.toLowerCase()} backoff` : ""}` : null),
    kvRow("Jobs", asset.jobs.length ? asset.jobs.join(", ") : null),
    kvRow("Resources", asset.required_resources.length ? resourceList(asset) : null));
}

/** The tags but the kind tags (`dagster/kind/<kind>`), which show as Kinds. */
const userTags = (asset) => Object.entries(asset.tags).filter(([k]) => !k.startsWith("dagster/kind/"));

/** Each resource the asset requires: its key, its type, and its config fields with their schema. */
function resourceList(asset) {
  const described = new Map((asset.resources || []).map((r) => [r.key, r]));
  return h("ul", { class: "resource-list", id: "resources" }, asset.required_resources.map((key) => {
    const r = described.get(key) || { key, type: null, description: null, config_schema: null };
    const fields = r.config_schema && r.config_schema.properties ? Object.keys(r.config_schema.properties).sort() : []; // a Struct keeps no order
    return h("li", { "data-resource": key },
      h("code", null, key),
      r.type ? h("span", { class: "muted resource-type" }, ` · ${r.type}`) : null,
      r.description ? h("div", { class: "resource-description" }, r.description) : null,
      r.config_schema ? h("details", null, h("summary", null, fields.length ? `Config: ${fields.join(", ")}` : "Config"),
        h("pre", { class: "json" }, JSON.stringify(r.config_schema, null, 2))) : null);
  }));
}

function latestBlock(asset, latest) {
  if (!latest) return emptyState("Never materialized", asset.is_executable ? "Materialize it to create its first materialization." : null);
  return h("div", null,
    h("dl", { class: "kv" },
      kvRow("When", [timeAgo(latest.timestamp), h("span", { class: "muted" }, ` (${formatTime(latest.timestamp)})`)]),
      kvRow("Run", h("a", { class: "mono", href: `#/runs/${latest.run_id}` }, latest.run_id.slice(0, 8))),
      kvRow("Code version", latest.code_version ? h("code", null, latest.code_version) : null),
      kvRow("Data version", latest.data_version ? h("code", null, latest.data_version) : null),
      kvRow("Tags", Object.keys(latest.tags || {}).length ? Object.entries(latest.tags).map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`)) : null)),
    h("h3", null, "Metadata"),
    metadataTable(latest.metadata));
}

function lineage(asset, graph) {
  const here = asset.location;
  const item = (key) => {
    const node = graph ? graph.nodes.get(keyString(key)) : null;
    const loc = node ? node.location : null;
    const cross = loc && here && loc !== here;
    return h("li", { "data-asset": keyString(key) }, keyLink(key),
      loc ? h("span", { class: "muted" }, ` · ${loc}`) : null,
      cross ? badge("other location", "cross", `defined in code location '${loc}'`) : null,
      node && node.is_external ? badge("External", "external") : null);
  };
  const list = (keys, none) => (keys.length ? h("ul", { class: "key-list" }, keys.map(item)) : h("p", { class: "muted" }, none));
  return h("div", { class: "lineage-lists" },
    h("div", { id: "upstream" }, h("h3", null, `Upstream (${asset.deps.length})`), list(asset.deps, "No upstream assets.")),
    h("div", { id: "downstream" }, h("h3", null, `Downstream (${asset.dependents.length})`), list(asset.dependents, "No downstream assets.")));
}

function plots(materializations) {
  const series = numericSeries(materializations);
  if (!series.size) return null;
  return h("section", { class: "card", id: "plots" },
    h("h2", null, "Metadata over time"),
    h("div", { class: "charts" }, [...series.entries()].map(([name, points]) => lineChart(name, points))));
}

function historySection(asset, history, ctx) {
  const body = h("tbody");
  const more = h("button", { class: "btn", type: "button", hidden: !history.next_cursor }, "Load more");
  let cursor = history.next_cursor;
  const addRows = (mats) => {
    for (const m of mats) {
      body.appendChild(h("tr", null,
        h("td", null, h("span", { title: formatTime(m.timestamp) }, formatTime(m.timestamp))),
        h("td", null, h("a", { class: "mono", href: `#/runs/${m.run_id}` }, m.run_id.slice(0, 8))),
        h("td", null, m.code_version ? h("code", null, m.code_version) : h("span", { class: "muted" }, "—")),
        h("td", { class: "data-version" }, m.data_version ? h("code", null, m.data_version) : h("span", { class: "muted" }, "—")),
        h("td", { class: "metadata-summary" }, Object.entries(m.metadata || {}).map(([k, v]) =>
          h("span", { class: "chip", title: JSON.stringify(v.value) }, `${k}: `, v.value && typeof v.value === "object" || v.kind === "md" ? "…" : formatNumber(v.value))))));
    }
  };
  addRows(history.materializations);
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await listMaterializations(asset.key, { limit: HISTORY_PAGE, cursor }, { signal: ctx.signal });
      addRows(page.materializations);
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } finally {
      more.disabled = false;
    }
  });
  return h("section", { class: "card", id: "history" },
    h("h2", null, "Materializations"),
    history.materializations.length
      ? h("table", { class: "table" }, h("thead", null, h("tr", null, h("th", null, "Time"), h("th", null, "Run"), h("th", null, "Code version"), h("th", null, "Data version"), h("th", null, "Metadata"))), body)
      : h("p", { class: "muted" }, "None yet."),
    more);
}
