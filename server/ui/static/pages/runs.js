// #/runs — the runs, newest first, with status filters (?status=FAILURE,STARTED); the first
// page refreshes itself while the user is on it.

import { listRuns } from "../lib/api.js";
import {
  RUN_STATUSES, TERMINAL, emptyState, errorBox, formatDuration, h, keyLink, loading, replace,
  runStatusBadge, timeAgo,
} from "../lib/dom.js";

const PAGE = 50;
const REFRESH_MS = 2000;

export async function render(root, { params }, ctx) {
  const statuses = new Set((params.get("status") || "").split(",").filter((s) => RUN_STATUSES.includes(s)));
  const cursors = [null]; // cursors[i] fetches page i
  let pageIndex = 0;
  const tableHost = h("div", { class: "table-host" }, loading());
  const pagerBar = h("div", { class: "pager" });

  const chips = RUN_STATUSES.map((status) => {
    const chip = h("button", {
      type: "button", class: `filter-chip status-chip-${status.toLowerCase()}`, "data-status": status,
      "aria-pressed": String(statuses.has(status)),
    }, status);
    chip.addEventListener("click", () => {
      if (statuses.has(status)) statuses.delete(status);
      else statuses.add(status);
      chip.setAttribute("aria-pressed", String(statuses.has(status)));
      const qs = statuses.size ? `?status=${[...statuses].join(",")}` : "";
      history.replaceState(null, "", `#/runs${qs}`);
      cursors.length = 1;
      show(0);
    });
    return chip;
  });

  replace(root,
    h("div", { class: "page-header" }, h("h1", null, "Runs")),
    h("div", { class: "filters", role: "group", "aria-label": "Filter by status" },
      h("span", { class: "muted" }, "Status:"), chips,
      h("button", { type: "button", class: "btn btn-link", onclick: () => { statuses.clear(); chips.forEach((c) => c.setAttribute("aria-pressed", "false")); history.replaceState(null, "", "#/runs"); cursors.length = 1; show(0); } }, "All")),
    tableHost, pagerBar);

  let generation = 0;
  async function show(i, quiet = false) {
    const mine = ++generation;
    pageIndex = i;
    if (!quiet) replace(tableHost, loading());
    let answer;
    try {
      answer = await listRuns({ status: statuses.size ? [...statuses].join(",") : undefined, limit: PAGE, cursor: cursors[i] }, { signal: ctx.signal });
    } catch (err) {
      if (ctx.alive() && mine === generation) replace(tableHost, errorBox(err));
      return;
    }
    if (!ctx.alive() || mine !== generation) return;
    cursors[i + 1] = answer.next_cursor;
    replace(tableHost, answer.runs.length ? table(answer.runs) : emptyState("No runs.", statuses.size ? "No run has these statuses." : "Materialize an asset to start one."));
    replace(pagerBar,
      h("button", { class: "btn", type: "button", disabled: i === 0, onclick: () => show(i - 1) }, "← Newer"),
      h("button", { class: "btn", type: "button", disabled: !answer.next_cursor, onclick: () => show(i + 1) }, "Older →"));
  }

  const timer = setInterval(() => { if (pageIndex === 0) show(0, true); }, REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
  show(0);
}

function table(runs) {
  return h("table", { class: "table runs-table" },
    h("thead", null, h("tr", null,
      h("th", null, "Run"), h("th", null, "Status"), h("th", null, "Code location"),
      h("th", null, "Assets"), h("th", null, "Created"), h("th", null, "Duration"))),
    h("tbody", null, runs.map((run) => {
      const end = run.ended_at ?? (TERMINAL.has(run.status) ? null : Date.now() / 1000);
      const shown = run.asset_keys.slice(0, 3);
      return h("tr", { "data-run": run.run_id, "data-status": run.status },
        h("td", null, h("a", { class: "mono", href: `#/runs/${run.run_id}` }, run.run_id.slice(0, 8))),
        h("td", null, runStatusBadge(run.status), run.queue_position ? h("span", { class: "muted" }, ` #${run.queue_position} in queue`) : null),
        h("td", null, run.location),
        h("td", { class: "run-assets" }, shown.map((k, i) => [i ? ", " : "", keyLink(k)]),
          run.asset_keys.length > shown.length ? h("span", { class: "muted" }, ` +${run.asset_keys.length - shown.length}`) : null),
        h("td", null, timeAgo(run.created_at)),
        h("td", { class: "num" }, run.started_at && end ? formatDuration(end - run.started_at) : "—"));
    })));
}
