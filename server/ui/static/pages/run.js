// #/runs/<id> — one run: status, assets, timing per step, and its event log, polled every
// 500 ms (GET /runs/{id}/events?after=SEQ) until the run is over. Cancel while it runs.

import { cancelRun, getRun, listRunEvents } from "../lib/api.js";
import {
  TERMINAL, errorBox, formatClock, formatDuration, formatTime, h, keyLink, loading,
  replace, runStatusBadge, toast,
} from "../lib/dom.js";

const POLL_MS = 500;
const EVENT_PAGE = 1000;

/** Per-step timing and status, from the events seen so far. */
function stepsOf(events) {
  const steps = new Map();
  for (const e of events) {
    if (!e.step_key) continue;
    if (!steps.has(e.step_key)) steps.set(e.step_key, { key: e.step_key, start: null, end: null, status: "PENDING", attempts: 0, assets: [] });
    const step = steps.get(e.step_key);
    switch (e.type) {
      case "STEP_START":
        step.start ??= e.timestamp;
        step.attempts += 1;
        step.status = "RUNNING";
        break;
      case "STEP_UP_FOR_RETRY":
        step.status = "RETRYING";
        break;
      case "STEP_SUCCESS":
        step.end = e.timestamp;
        step.status = "SUCCESS";
        break;
      case "STEP_FAILURE":
        step.end = e.timestamp;
        step.status = "FAILURE";
        break;
      case "STEP_SKIPPED": // an upstream asset it reads was not materialized
        step.status = "SKIPPED";
        break;
      case "ASSET_MATERIALIZATION":
        if (e.asset_key) step.assets.push(e.asset_key);
        break;
      default:
        break;
    }
  }
  return [...steps.values()];
}

export async function render(root, { id }, ctx) {
  replace(root, loading());
  let run;
  try {
    run = await getRun(id, { signal: ctx.signal });
  } catch (err) {
    if (ctx.alive()) replace(root, h("div", { class: "page-header" }, h("h1", null, `Run ${id.slice(0, 8)}`)), errorBox(err));
    return;
  }
  if (!ctx.alive()) return;

  const events = [];
  let lastSeq = 0;
  const header = h("div", { class: "page-header" });
  const summary = h("section", { class: "card" });
  const steps = h("section", { class: "card", id: "steps" });
  const logBody = h("tbody");
  const logFilter = h("select", { class: "input", "aria-label": "Filter events" },
    h("option", { value: "" }, "All events"), h("option", { value: "error" }, "Errors and warnings"),
    h("option", { value: "materialization" }, "Materializations"), h("option", { value: "step" }, "Step events"));
  const logCount = h("span", { class: "muted" });
  const upstream = new Map(); // run id -> run

  replace(root,
    h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/runs" }, "Runs"), " / ", h("span", { class: "mono" }, id.slice(0, 8))),
    header, summary, steps,
    h("section", { class: "card", id: "event-log" },
      h("div", { class: "card-header" }, h("h2", null, "Event log"), logCount, h("span", { class: "spacer" }), logFilter),
      h("div", { class: "log-scroll" },
        h("table", { class: "table table-compact log-table" },
          h("thead", null, h("tr", null, h("th", null, "Time"), h("th", null, "Event"), h("th", null, "Step"), h("th", null, "Message"))),
          logBody))));

  const matches = (e) => {
    switch (logFilter.value) {
      case "error": return e.level === "ERROR" || e.level === "WARNING" || Boolean(e.error);
      case "materialization": return e.type === "ASSET_MATERIALIZATION";
      case "step": return e.type.startsWith("STEP_");
      default: return true;
    }
  };
  const eventRow = (e) => h("tr", { class: `level-${(e.level || "INFO").toLowerCase()}`, "data-type": e.type, "data-seq": e.seq, hidden: !matches(e) },
    h("td", { class: "mono nowrap", title: formatTime(e.timestamp) }, formatClock(e.timestamp)),
    h("td", null, h("span", { class: `event-type event-${e.type.toLowerCase()}` }, e.type)),
    h("td", { class: "mono" }, e.step_key || ""),
    h("td", null,
      e.asset_key ? [keyLink(e.asset_key), " "] : null,
      e.message,
      Object.keys(e.metadata || {}).length ? h("div", { class: "event-metadata" }, Object.entries(e.metadata).map(([k, v]) => h("span", { class: "chip" }, `${k}: `, typeof v.value === "object" ? JSON.stringify(v.value) : String(v.value)))) : null,
      e.error ? h("pre", { class: "error-trace" }, e.error) : null));
  logFilter.addEventListener("change", () => {
    for (const tr of logBody.children) tr.hidden = !matches(events[Number(tr.dataset.index)]);
  });

  function drawHeader() {
    const cancellable = !TERMINAL.has(run.status) && run.status !== "CANCELING";
    replace(header,
      h("h1", null, "Run ", h("span", { class: "mono" }, run.run_id.slice(0, 8))),
      h("span", { id: "run-status" }, runStatusBadge(run.status)),
      TERMINAL.has(run.status) ? null : h("span", { class: "live", title: "updating live" }, "live"),
      h("span", { class: "spacer" }),
      cancellable ? h("button", { class: "btn btn-danger", type: "button", id: "cancel-run", onclick: cancel }, "Cancel") : null);
  }

  async function cancel(e) {
    e.target.disabled = true;
    try {
      run = await cancelRun(run.run_id);
      toast(`Run ${run.run_id.slice(0, 8)} is ${run.status}`, "info");
      draw();
    } catch (err) {
      toast(errorBox(err), "error");
      e.target.disabled = false;
    }
  }

  function drawSummary() {
    const end = run.ended_at ?? Date.now() / 1000;
    const tags = Object.entries(run.tags || {});
    replace(summary,
      h("dl", { class: "kv kv-wide" },
        h("dt", null, "Run ID"), h("dd", { class: "mono" }, run.run_id),
        h("dt", null, "Code location"), h("dd", null, run.location),
        h("dt", null, "Assets"), h("dd", { id: "run-assets" }, run.asset_keys.map((k, i) => [i ? ", " : "", keyLink(k)])),
        run.job_name ? [h("dt", null, "Job"), h("dd", null, run.job_name)] : null,
        h("dt", null, "Created"), h("dd", null, formatTime(run.created_at)),
        h("dt", null, "Started"), h("dd", null, formatTime(run.started_at)),
        h("dt", null, "Ended"), h("dd", null, formatTime(run.ended_at)),
        h("dt", null, "Duration"), h("dd", { id: "run-duration" }, run.started_at ? formatDuration(end - run.started_at) : "—"),
        run.queue_position ? [h("dt", null, "Queue"), h("dd", null, `#${run.queue_position}`)] : null,
        run.depends_on.length ? [h("dt", null, "Waits for"), h("dd", { id: "upstream-runs" }, run.depends_on.map((rid) => {
          const up = upstream.get(rid);
          return h("span", { class: "upstream-run" }, h("a", { class: "mono", href: `#/runs/${rid}` }, rid.slice(0, 8)),
            up ? [" ", runStatusBadge(up.status), h("span", { class: "muted" }, ` ${up.location}`)] : null);
        }))] : null,
        tags.length ? [h("dt", null, "Tags"), h("dd", null, tags.map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`)))] : null,
        Object.keys(run.run_config || {}).length ? [h("dt", null, "Run config"), h("dd", null, h("pre", { class: "json" }, JSON.stringify(run.run_config, null, 2)))] : null),
      run.error ? h("div", { class: "callout callout-error", id: "run-error" }, h("strong", null, "Error"), h("pre", { class: "error-trace" }, run.error)) : null);
  }

  function drawSteps() {
    const list = stepsOf(events);
    const t0 = run.started_at ?? run.created_at;
    const t1 = Math.max(run.ended_at ?? Date.now() / 1000, ...list.map((s) => s.end || 0), t0 + 0.001);
    const bar = (step) => {
      if (!step.start) return null;
      const end = step.end ?? (TERMINAL.has(run.status) ? t1 : Date.now() / 1000);
      const left = ((step.start - t0) / (t1 - t0)) * 100;
      const width = Math.max(0.8, ((end - step.start) / (t1 - t0)) * 100);
      return h("div", { class: "gantt" }, h("div", { class: `gantt-bar step-${step.status.toLowerCase()}`, style: { left: `${Math.max(0, left)}%`, width: `${Math.min(100, width)}%` } }));
    };
    replace(steps, h("h2", null, "Steps"), list.length
      ? h("table", { class: "table steps-table" },
        h("thead", null, h("tr", null, h("th", null, "Step"), h("th", null, "Status"), h("th", null, "Started"), h("th", null, "Duration"), h("th", { class: "col-gantt" }, "Timeline"))),
        h("tbody", null, list.map((step) => h("tr", { "data-step": step.key, "data-status": step.status },
          h("td", null, h("span", { class: "mono" }, step.key), step.assets.length ? h("div", { class: "muted" }, step.assets.map((k, i) => [i ? ", " : "", keyLink(k)])) : null),
          h("td", null, h("span", { class: `step-status step-${step.status.toLowerCase()}` }, step.status), step.attempts > 1 ? h("span", { class: "muted" }, ` ${step.attempts} attempts`) : null),
          h("td", { class: "mono nowrap" }, step.start ? formatClock(step.start) : "—"),
          h("td", { class: "num" }, step.start ? formatDuration((step.end ?? Date.now() / 1000) - step.start) : "—"),
          h("td", { class: "col-gantt" }, bar(step))))))
      : h("p", { class: "muted" }, TERMINAL.has(run.status) ? "No step ran." : "No step has started yet."));
  }

  function draw() {
    drawHeader();
    drawSummary();
    drawSteps();
    logCount.textContent = `${events.length} event${events.length === 1 ? "" : "s"}`;
  }

  async function pull() {
    for (;;) {
      const batch = await listRunEvents(run.run_id, { after: lastSeq, limit: EVENT_PAGE }, { signal: ctx.signal });
      if (!ctx.alive()) return;
      for (const e of batch) {
        const tr = eventRow(e);
        tr.dataset.index = String(events.length);
        events.push(e);
        logBody.appendChild(tr);
        lastSeq = Math.max(lastSeq, e.seq);
      }
      if (batch.length < EVENT_PAGE) return;
    }
  }

  async function refreshUpstream() {
    await Promise.all(run.depends_on.map(async (rid) => {
      const known = upstream.get(rid);
      if (known && TERMINAL.has(known.status)) return;
      try {
        upstream.set(rid, await getRun(rid, { signal: ctx.signal }));
      } catch {
        /* shown without a status */
      }
    }));
  }

  let timer = null;
  let failing = false; // one toast per streak of failed polls, not one every 500 ms
  async function tick() {
    try {
      const wasTerminal = TERMINAL.has(run.status);
      run = await getRun(run.run_id, { signal: ctx.signal });
      await Promise.all([pull(), refreshUpstream()]);
      if (!ctx.alive()) return;
      failing = false;
      draw();
      // One more pull after the run ends: its last events may land just after the status.
      if (TERMINAL.has(run.status) && wasTerminal) return;
    } catch (err) {
      if (!ctx.alive()) return;
      if (err.name !== "AbortError" && !failing) toast(errorBox(err), "error");
      failing = true;
    }
    timer = setTimeout(tick, POLL_MS);
  }
  ctx.onCleanup(() => clearTimeout(timer));
  draw();
  tick();
}
