// #/tokens — API tokens (scope admin): the list with each token's status and a Revoke button,
// and a form that makes one. The secret of a new token is in the answer that creates it and
// nowhere else (the server keeps its hash), so it is shown here once, and only kept in this
// page's memory until the user leaves it or dismisses it.

import { createToken, listTokens, revokeToken } from "../lib/api.js";
import { emptyState, errorBox, formatTime, h, loading, replace, timeAgo, toast } from "../lib/dom.js";

const EXPIRY_PRESETS = ["12h", "7d", "30d", "90d"];
const SCOPES = {
  read: "lists and reads",
  launch: "also launches and cancels runs",
  admin: "also manages locations and tokens",
};

/** "active", "expired" or "revoked", as the server decides when the token is presented. */
export function tokenStatus(token, now = Date.now() / 1000) {
  if (token.revoked_at !== null && token.revoked_at !== undefined) return "revoked";
  if (token.expires_at !== null && token.expires_at !== undefined && token.expires_at <= now) return "expired";
  return "active";
}

export async function render(root, _route, ctx) {
  const formHost = h("div");
  const list = h("div", { class: "table-host tokens-list" }, loading());
  replace(root,
    h("div", { class: "page-header" }, h("h1", null, "API tokens")),
    formHost, list);

  let formShown = false;
  async function refresh() {
    let answer;
    try {
      answer = await listTokens({ signal: ctx.signal });
    } catch (err) {
      if (!ctx.alive()) return;
      replace(formHost);
      formShown = false;
      replace(list, errorBox(err), err.status === 401 || err.status === 403
        ? h("p", { class: "muted needs-admin" }, "Managing tokens needs an API token of scope 'admin'. Paste one in the banner above, or make one with `tessera token create --scope admin`.")
        : null);
      return;
    }
    if (!ctx.alive()) return;
    if (!formShown) {
      replace(formHost, createForm(refresh));
      formShown = true;
    }
    replace(list, answer.tokens.length
      ? table(answer.tokens, refresh)
      : emptyState("No API tokens.", "Create one above, or with `tessera token create`."));
  }
  refresh();
}

/** A labelled form field; `hint` is a text or a node of class field-hint. */
function field(id, label, input, hint) {
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    typeof hint === "string" ? h("div", { class: "field-hint" }, hint) : hint);
}

function createForm(onCreated) {
  const scope = h("select", { id: "token-scope", name: "scope" },
    Object.keys(SCOPES).map((name) => h("option", { value: name }, name)));
  const scopeHint = h("div", { class: "field-hint" }, SCOPES.read);
  const locations = h("input", { id: "token-locations", name: "locations", type: "text", disabled: true, autocomplete: "off", placeholder: "all locations" });
  const expires = h("input", { id: "token-expires", name: "expires", type: "text", list: "token-expiry-presets", autocomplete: "off", placeholder: "never" });
  const name = h("input", { id: "token-name", name: "name", type: "text", autocomplete: "off", placeholder: "e.g. ci" });
  const submit = h("button", { class: "btn btn-primary", type: "submit" }, "Create token");
  const errorHost = h("div", { class: "form-error-host" });
  const secretHost = h("div", { class: "secret-host" });

  scope.addEventListener("change", () => {
    // Only a launch token is limited to locations: reads are never limited, admin reaches all.
    locations.disabled = scope.value !== "launch";
    scopeHint.textContent = SCOPES[scope.value];
  });

  async function create(event) {
    event.preventDefault();
    const body = { scope: scope.value };
    if (scope.value === "launch") {
      const names = locations.value.split(",").map((n) => n.trim()).filter(Boolean);
      if (names.length) body.locations = names;
    }
    if (expires.value.trim()) body.expires = expires.value.trim();
    if (name.value.trim()) body.name = name.value.trim();
    submit.disabled = true;
    replace(errorHost);
    try {
      const token = await createToken(body);
      replace(secretHost, secretBox(token, () => replace(secretHost)));
      name.value = "";
      toast(`Token ${token.id} created (scope ${token.scope})`, "ok");
      onCreated();
    } catch (err) {
      replace(errorHost, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  }

  return h("section", { class: "card token-create" },
    h("div", { class: "card-header" }, h("h2", null, "New token")),
    h("form", { class: "token-form", novalidate: true, onsubmit: create },
      field("token-scope", "Scope", scope, scopeHint),
      field("token-locations", "Locations", locations, "launch only: comma-separated; empty: all"),
      field("token-expires", "Expires", expires, "12h, 30d, 2w or 2027-01-31; empty: never"),
      field("token-name", "Name", name, "optional, to tell tokens apart"),
      h("div", { class: "token-form-actions" }, submit),
      h("datalist", { id: "token-expiry-presets" }, EXPIRY_PRESETS.map((p) => h("option", { value: p })))),
    errorHost, secretHost);
}

function secretBox(token, dismiss) {
  const value = h("input", { class: "input mono secret-value", type: "text", readonly: true, value: token.secret, "aria-label": "Secret of the new token", onfocus: (e) => e.target.select() });
  const copy = h("button", { class: "btn", type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    value.select();
    try {
      await navigator.clipboard.writeText(token.secret);
      toast("Secret copied", "ok");
    } catch {
      toast("Could not copy: the secret is selected, press Ctrl+C", "info");
    }
  });
  return h("div", { class: "callout callout-warn secret-box", role: "status", "data-token": token.id },
    h("strong", null, `Token ${token.id}${token.name ? ` (${token.name})` : ""} created.`),
    " Copy its secret now: it is shown only once, and the server keeps only its hash.",
    h("div", { class: "secret-row" }, value, copy,
      h("button", { class: "btn", type: "button", onclick: dismiss }, "Done")));
}

function table(tokens, refresh) {
  const now = Date.now() / 1000;
  return h("table", { class: "table tokens-table" },
    h("thead", null, h("tr", null,
      h("th", null, "Name"), h("th", null, "Id"), h("th", null, "Scope"), h("th", null, "Locations"),
      h("th", null, "Created"), h("th", null, "Expires"), h("th", null, "Last used"),
      h("th", null, "Status"), h("th", null, ""))),
    h("tbody", null, tokens.map((token) => {
      const status = tokenStatus(token, now);
      return h("tr", { "data-token": token.id, "data-status": status },
        h("td", null, token.name || h("span", { class: "muted" }, "—")),
        h("td", { class: "mono" }, token.id),
        h("td", { class: "token-scope" }, token.scope),
        h("td", { class: "token-locations" }, token.locations ? token.locations.join(", ") : h("span", { class: "muted" }, "all")),
        h("td", { class: "nowrap" }, timeAgo(token.created_at)),
        h("td", { class: "nowrap", title: token.expires_at ? formatTime(token.expires_at) : null },
          token.expires_at ? formatTime(token.expires_at) : h("span", { class: "muted" }, "never")),
        h("td", { class: "nowrap" }, timeAgo(token.last_used_at)),
        h("td", null, h("span", {
          class: `token-status token-${status}`,
          "data-status": status,
          title: status === "revoked" ? `revoked ${formatTime(token.revoked_at)}` : null,
        }, status)),
        h("td", null, status === "active" ? revokeButton(token, refresh) : null));
    })));
}

function revokeButton(token, refresh) {
  const button = h("button", { class: "btn btn-danger", type: "button", "data-revoke": token.id }, "Revoke");
  button.addEventListener("click", async () => {
    const label = token.name ? `'${token.name}' (${token.id})` : token.id;
    if (!window.confirm(`Revoke token ${label}? Calls with it are refused from now on; this cannot be undone.`)) return;
    button.disabled = true;
    button.textContent = "Revoking…";
    try {
      await revokeToken(token.id);
      toast(`Token ${token.id} revoked`, "ok");
    } catch (err) {
      toast(errorBox(err), "error");
    } finally {
      refresh();
    }
  });
  return button;
}
