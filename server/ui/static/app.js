// The UI's entry point: hash routing (#/assets, #/assets/<key>, #/graph?group=…&focus=…,
// #/runs, #/runs/<id>, #/locations, #/tokens), the navigation, and the API-token prompt.
//
// A page is `render(root, route, ctx)`. `ctx.signal` aborts its requests when the user
// leaves, `ctx.alive()` says whether it is still shown, `ctx.onCleanup(fn)` stops timers.

import { getToken, listLocations, setToken } from "./lib/api.js";
import { h } from "./lib/dom.js";
import * as assetPage from "./pages/asset.js";
import * as catalogPage from "./pages/catalog.js";
import * as graphPage from "./pages/graph.js";
import * as locationsPage from "./pages/locations.js";
import * as runPage from "./pages/run.js";
import * as runsPage from "./pages/runs.js";
import * as tokensPage from "./pages/tokens.js";

const decodeSegments = (path) => path.split("/").filter(Boolean).map(decodeURIComponent);

const ROUTES = [
  { pattern: /^\/assets\/(.+)$/, nav: "assets", page: assetPage, title: (m) => decodeSegments(m[1]).join("/"), args: (m) => ({ key: decodeSegments(m[1]) }) },
  { pattern: /^\/assets\/?$/, nav: "assets", page: catalogPage, title: () => "Assets" },
  { pattern: /^\/graph\/?$/, nav: "graph", page: graphPage, title: () => "Lineage" },
  { pattern: /^\/runs\/([^/]+)$/, nav: "runs", page: runPage, title: (m) => `Run ${decodeURIComponent(m[1]).slice(0, 8)}`, args: (m) => ({ id: decodeURIComponent(m[1]) }) },
  { pattern: /^\/runs\/?$/, nav: "runs", page: runsPage, title: () => "Runs" },
  { pattern: /^\/locations\/?$/, nav: "locations", page: locationsPage, title: () => "Code locations" },
  { pattern: /^\/tokens\/?$/, nav: "tokens", page: tokensPage, title: () => "API tokens" },
];

const main = document.getElementById("main");
let current = null; // {controller, cleanups}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/assets";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  const params = new URLSearchParams(at < 0 ? "" : raw.slice(at + 1));
  return { path: path.startsWith("/") ? path : `/${path}`, params };
}

function leave() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups) fn();
  current = null;
}

function route() {
  leave();
  const { path, params } = parseHash();
  const found = ROUTES.map((r) => [r, path.match(r.pattern)]).find(([, m]) => m);
  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups };
  const ctx = {
    signal: controller.signal,
    alive: () => !controller.signal.aborted,
    onCleanup: (fn) => cleanups.push(fn),
  };
  for (const link of document.querySelectorAll("[data-nav]")) {
    const active = found && link.dataset.nav === found[0].nav;
    link.classList.toggle("active", Boolean(active));
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  main.replaceChildren();
  main.dataset.page = found ? found[0].nav : "missing";
  if (!found) {
    document.title = "Not found · Tessera";
    main.append(h("div", { class: "empty" }, h("strong", null, "No such page."), " ", h("a", { href: "#/assets" }, "Go to the asset catalog")));
    return;
  }
  const [r, match] = found;
  document.title = `${r.title(match)} · Tessera`;
  const result = r.page.render(main, { path, params, ...(r.args ? r.args(match) : {}) }, ctx);
  if (result && typeof result.catch === "function") {
    result.catch((err) => {
      if (err && err.name === "AbortError") return;
      console.error(err);
    });
  }
}

// -- the code-location indicator in the navigation -------------------------------------------

async function checkLocations() {
  const marker = document.getElementById("locations-alert");
  try {
    const locations = await listLocations();
    const bad = locations.filter((l) => l.status === "error" || l.status === "unreachable").length;
    marker.hidden = bad === 0;
    marker.textContent = String(bad);
    marker.title = `${bad} code location${bad === 1 ? "" : "s"} failing`;
  } catch {
    marker.hidden = true;
  }
}

// -- the token prompt, for servers that need an API token (docs/security.md) ---------------

function askForToken(event) {
  const scope = event?.detail?.scope;
  const banner = document.getElementById("auth-banner");
  if (!banner.hidden) return;
  // A refusal of a request sent before the token was changed (a poll under way when the user
  // saved one) is not about the token saved now.
  if (event?.detail && event.detail.token !== undefined && event.detail.token !== getToken()) return;
  const input = h("input", { type: "password", class: "input", placeholder: "API token", "aria-label": "API token", autocomplete: "off" });
  const save = () => {
    setToken(input.value.trim());
    banner.hidden = true;
    route();
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") save(); });
  banner.replaceChildren(
    h("span", null, scope
      ? `This needs an API token with scope '${scope}'. `
      : getToken() ? "The saved API token was refused. " : "This server needs an API token. "),
    input, h("button", { class: "btn btn-primary", type: "button", onclick: save }, "Save"));
  banner.hidden = false;
  input.focus();
}

window.addEventListener("tessera:unauthorized", askForToken);
window.addEventListener("hashchange", route);
route();
checkLocations();
setInterval(checkLocations, 10000);
