// #/locations — the code locations: status, load errors in full, asset counts, Reload.

import { listLocations, reloadLocation } from "../lib/api.js";
import { emptyState, errorBox, formatTime, h, loading, replace, timeAgo, toast } from "../lib/dom.js";

const REFRESH_MS = 3000;

export async function render(root, _route, ctx) {
  const list = h("div", { class: "location-list" }, loading());
  replace(root,
    h("div", { class: "page-header" }, h("h1", null, "Code locations"), h("span", { class: "spacer" }),
      h("a", { class: "btn", href: "#/graph" }, "View lineage")),
    list);

  const reloading = new Set();
  async function refresh() {
    let locations;
    try {
      locations = await listLocations({ signal: ctx.signal });
    } catch (err) {
      if (ctx.alive()) replace(list, errorBox(err));
      return;
    }
    if (!ctx.alive()) return;
    replace(list, locations.length
      ? locations.map(card)
      : emptyState("No code locations.", "Start one with `tessera dev -m MODULE`, or list them in workspace.yaml."));
  }

  function card(loc) {
    const button = h("button", { class: "btn", type: "button", disabled: reloading.has(loc.name), "data-reload": loc.name },
      reloading.has(loc.name) ? "Reloading…" : "Reload");
    button.addEventListener("click", async () => {
      reloading.add(loc.name);
      button.disabled = true;
      button.textContent = "Reloading…";
      try {
        const fresh = await reloadLocation(loc.name);
        toast(`${fresh.name}: ${fresh.status}${fresh.status === "loaded" ? `, ${fresh.asset_count} assets` : ""}`, fresh.status === "loaded" ? "ok" : "error");
      } catch (err) {
        toast(errorBox(err), "error");
      } finally {
        reloading.delete(loc.name);
        refresh();
      }
    });
    return h("article", { class: `card location location-${loc.status}`, "data-location": loc.name },
      h("div", { class: "card-header" },
        h("h2", null, loc.name),
        h("span", { class: `loc-status loc-${loc.status}`, "data-status": loc.status }, loc.status),
        h("span", { class: "spacer" }),
        loc.status === "loaded" ? h("a", { class: "btn btn-link", href: `#/assets?location=${encodeURIComponent(loc.name)}` }, `${loc.asset_count} asset${loc.asset_count === 1 ? "" : "s"}`) : null,
        button),
      h("dl", { class: "kv kv-inline" },
        h("dt", null, "Address"), h("dd", { class: "mono" }, loc.address),
        h("dt", null, "Assets"), h("dd", { class: "asset-count" }, String(loc.asset_count)),
        h("dt", null, "Loaded"), h("dd", { title: formatTime(loc.loaded_at) }, timeAgo(loc.loaded_at)),
        h("dt", null, "Server id"), h("dd", { class: "mono" }, loc.server_id ? loc.server_id.slice(0, 12) : "—"),
        h("dt", null, "SDK"), h("dd", null, loc.sdk_version || "—"),
        h("dt", null, "From"), h("dd", null, loc.source === "api" ? "added through the API" : "workspace")),
      loc.error ? h("div", { class: "callout callout-error" },
        h("strong", null, loc.status === "unreachable" ? "Unreachable" : "Failed to load"),
        h("pre", { class: "error-trace load-error" }, loc.error)) : null);
  }

  const timer = setInterval(() => { if (!reloading.size) refresh(); }, REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
  refresh();
}
