// #/assets — the asset catalog: every asset of every location, paged from the server
// (search, group, location, kind and owner are filtered there). The status filter is not an
// API parameter, so with one set the pager scans larger server pages and keeps the matches.

import { getAssetFacets, listAssets, listLocations } from "../lib/api.js";
import {
  assetBadges, debounce, emptyState, errorBox, h, keyLink, keyString, kindChips, loading, ownerChips,
  replace, timeAgo,
} from "../lib/dom.js";
import { loadGraph } from "../lib/graphdata.js";
import { materialize } from "../lib/launch.js";

const PAGE = 100;
const SCAN = 500; // server page size while a status filter is set

const STATUS_FILTERS = {
  "": { label: "Any status", test: () => true },
  materialized: { label: "Materialized", test: (a) => Boolean(a.latest_materialization) },
  never: { label: "Never materialized", test: (a) => !a.latest_materialization && !a.is_external },
  stale: { label: "Stale", test: (a) => a.stale },
  fresh: { label: "Fresh", test: (a) => Boolean(a.latest_materialization) && !a.stale },
  conflict: { label: "Conflict", test: (a) => Boolean(a.conflict) },
  external: { label: "External", test: (a) => a.is_external },
};

/** Pages of assets matching server filters plus a client-side test, fetched as needed. */
class Pager {
  constructor(filters, signal) {
    this.filters = filters;
    this.signal = signal;
    this.test = STATUS_FILTERS[filters.status || ""].test;
    this.matched = [];
    this.cursor = null;
    this.done = false;
    this.total = null; // the server's count (before the status filter)
  }

  async page(i) {
    const need = (i + 1) * PAGE;
    while (this.matched.length < need && !this.done) {
      const limit = this.filters.status ? SCAN : PAGE;
      const { q, group, location, kind, owner } = this.filters;
      const answer = await listAssets({ q, group, location, kind, owner, limit, cursor: this.cursor }, { signal: this.signal });
      this.total = answer.total;
      for (const asset of answer.assets) if (this.test(asset)) this.matched.push(asset);
      this.cursor = answer.next_cursor;
      this.done = !answer.next_cursor;
    }
    return this.matched.slice(i * PAGE, need);
  }

  hasPage(i) {
    return i * PAGE < this.matched.length || !this.done;
  }

  countLabel() {
    if (!this.filters.status) return `${this.total ?? 0} asset${this.total === 1 ? "" : "s"}`;
    return this.done ? `${this.matched.length} of ${this.total}` : `${this.matched.length}+ of ${this.total}`;
  }
}

function readFilters(params) {
  const status = params.get("status") || "";
  return {
    q: params.get("q") || "",
    group: params.get("group") || "",
    location: params.get("location") || "",
    kind: params.get("kind") || "",
    owner: params.get("owner") || "",
    status: status in STATUS_FILTERS ? status : "",
  };
}

function writeFilters(filters) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) search.set(k, v);
  const qs = search.toString();
  history.replaceState(null, "", `#/assets${qs ? `?${qs}` : ""}`);
}

export async function render(root, { params }, ctx) {
  const filters = readFilters(params);
  const selected = new Map(); // keyString -> asset
  let pager = null;
  let pageIndex = 0;

  const search = h("input", { type: "search", class: "input", placeholder: "Search by key or description", value: filters.q, "aria-label": "Search assets", id: "asset-search" });
  const groupSelect = h("select", { class: "input", "aria-label": "Group", id: "filter-group" }, h("option", { value: "" }, "All groups"));
  const locationSelect = h("select", { class: "input", "aria-label": "Code location", id: "filter-location" }, h("option", { value: "" }, "All locations"));
  const kindSelect = h("select", { class: "input", "aria-label": "Kind", id: "filter-kind" }, h("option", { value: "" }, "All kinds"));
  const ownerSelect = h("select", { class: "input", "aria-label": "Owner", id: "filter-owner" }, h("option", { value: "" }, "All owners"));
  const statusSelect = h("select", { class: "input", "aria-label": "Status", id: "filter-status" },
    Object.entries(STATUS_FILTERS).map(([value, { label }]) => h("option", { value, selected: value === filters.status }, label)));
  const count = h("span", { class: "muted", id: "asset-count" });
  const materializeButton = h("button", { class: "btn btn-primary", type: "button", disabled: true,
    onclick: () => materialize([...selected.values()].map((a) => a.key), [...selected.values()]) }, "Materialize selected");
  const viewLineage = h("a", { class: "btn", href: "#/graph", id: "view-lineage" }, "View lineage");
  const tableHost = h("div", { class: "table-host" });
  const pagerBar = h("div", { class: "pager" });

  replace(root,
    h("div", { class: "page-header" },
      h("h1", null, "Assets"),
      h("span", { class: "spacer" }),
      viewLineage,
      materializeButton),
    h("div", { class: "filters" }, search, groupSelect, locationSelect, kindSelect, ownerSelect, statusSelect, count),
    tableHost, pagerBar);

  // Filter options: groups from the merged graph, locations from the registry.
  Promise.all([loadGraph({ signal: ctx.signal }), listLocations({ signal: ctx.signal })]).then(([graph, locations]) => {
    if (!ctx.alive()) return;
    for (const group of [...graph.groups.keys()].sort()) {
      groupSelect.appendChild(h("option", { value: group, selected: group === filters.group }, group));
    }
    for (const loc of locations) {
      locationSelect.appendChild(h("option", { value: loc.name, selected: loc.name === filters.location }, loc.name));
    }
    if (filters.group && !graph.groups.has(filters.group)) groupSelect.appendChild(h("option", { value: filters.group, selected: true }, filters.group));
  }).catch(() => {});
  // Kinds and owners, each with how many assets have it.
  getAssetFacets({ signal: ctx.signal }).then((facets) => {
    if (!ctx.alive()) return;
    const fill = (select, entries, current) => {
      for (const { name, count } of entries) select.appendChild(h("option", { value: name, selected: name === current }, `${name} (${count})`));
      if (current && !entries.some((e) => e.name === current)) select.appendChild(h("option", { value: current, selected: true }, current));
    };
    fill(kindSelect, facets.kinds, filters.kind);
    fill(ownerSelect, facets.owners, filters.owner);
  }).catch(() => {});

  const updateSelection = () => {
    materializeButton.disabled = selected.size === 0;
    materializeButton.textContent = selected.size ? `Materialize selected (${selected.size})` : "Materialize selected";
  };

  async function show(i) {
    pageIndex = i;
    replace(tableHost, loading());
    let rows;
    try {
      rows = await pager.page(i);
    } catch (err) {
      if (ctx.alive()) replace(tableHost, errorBox(err));
      return;
    }
    if (!ctx.alive()) return;
    count.textContent = pager.countLabel();
    replace(tableHost, rows.length ? table(rows) : emptyState("No assets match.",
      pager.total === 0 && !filters.q && !filters.group && !filters.location && !filters.kind && !filters.owner
        ? "No code location has loaded any asset yet. See Code locations."
        : "Try another search or filter."));
    const from = i * PAGE + 1;
    replace(pagerBar,
      h("button", { class: "btn", type: "button", disabled: i === 0, onclick: () => show(i - 1) }, "← Previous"),
      h("span", { class: "muted" }, rows.length ? `${from}–${from + rows.length - 1}` : ""),
      h("button", { class: "btn", type: "button", disabled: !pager.hasPage(i + 1), onclick: () => show(i + 1) }, "Next →"));
  }

  function table(rows) {
    const allBox = h("input", { type: "checkbox", "aria-label": "Select all on this page" });
    allBox.checked = rows.every((a) => selected.has(keyString(a.key)));
    allBox.addEventListener("change", () => {
      for (const a of rows) {
        if (allBox.checked && !a.is_external) selected.set(keyString(a.key), a);
        else selected.delete(keyString(a.key));
      }
      show(pageIndex);
      updateSelection();
    });
    return h("table", { class: "table assets-table" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-check" }, allBox), h("th", null, "Asset"), h("th", null, "Group"),
        h("th", null, "Kinds"), h("th", null, "Owners"), h("th", null, "Code location"), h("th", null, "Latest materialization"), h("th", null, "Status"))),
      h("tbody", null, rows.map((a) => row(a))));
  }

  function row(asset) {
    const id = keyString(asset.key);
    const box = h("input", { type: "checkbox", "aria-label": `Select ${id}`, checked: selected.has(id), disabled: asset.is_external });
    box.addEventListener("change", () => {
      if (box.checked) selected.set(id, asset);
      else selected.delete(id);
      updateSelection();
    });
    const latest = asset.latest_materialization;
    return h("tr", { "data-asset": id },
      h("td", { class: "col-check" }, box),
      h("td", null, keyLink(asset.key), asset.description ? h("div", { class: "row-description" }, asset.description) : null),
      h("td", null, asset.group ? h("a", { href: `#/assets?group=${encodeURIComponent(asset.group)}`, class: "chip" }, asset.group) : "—"),
      h("td", { class: "col-kinds" }, asset.kinds && asset.kinds.length ? kindChips(asset) : h("span", { class: "muted" }, "—")),
      h("td", { class: "col-owners" }, asset.owners && asset.owners.length ? ownerChips(asset) : h("span", { class: "muted" }, "—")),
      h("td", null, asset.location ? h("span", { class: "location-name" }, asset.location) : h("span", { class: "muted" }, "—")),
      h("td", null, latest ? [timeAgo(latest.timestamp), " ", h("a", { class: "muted mono", href: `#/runs/${latest.run_id}` }, latest.run_id.slice(0, 8))] : h("span", { class: "muted" }, "—")),
      h("td", null, h("div", { class: "badges" }, assetBadges(asset))));
  }

  const reload = () => {
    writeFilters(filters);
    viewLineage.href = filters.group ? `#/graph?group=${encodeURIComponent(filters.group)}` : "#/graph";
    pager = new Pager({ ...filters }, ctx.signal);
    show(0);
  };
  search.addEventListener("input", debounce(() => { filters.q = search.value.trim(); reload(); }, 250));
  groupSelect.addEventListener("change", () => { filters.group = groupSelect.value; reload(); });
  locationSelect.addEventListener("change", () => { filters.location = locationSelect.value; reload(); });
  kindSelect.addEventListener("change", () => { filters.kind = kindSelect.value; reload(); });
  ownerSelect.addEventListener("change", () => { filters.owner = ownerSelect.value; reload(); });
  statusSelect.addEventListener("change", () => { filters.status = statusSelect.value; reload(); });
  reload();
  search.focus();
}
