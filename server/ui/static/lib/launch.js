// Materialize: launch runs for a set of assets. Assets with a config schema get a form
// (generated from the schema, validated here first), and so does a graph asset whose ops
// take config (its `ops_config_schema`, under `ops`); the rest launch straight away.

import { ApiError, getAsset, launchRuns } from "./api.js";
import { errorBox, h, keyLink, keyString, toast } from "./dom.js";
import { SchemaForm, validate } from "./schemaform.js";

/** Fetch details of `keys` (at most `width` requests at a time). */
async function fetchAssets(keys, width = 8) {
  const out = new Array(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      out[i] = await getAsset(keys[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, keys.length) }, worker));
  return out;
}

/** The name run config uses for an asset: its node's (shared by a multi-asset's assets). */
const opName = (asset) => asset.node_name ?? asset.key[asset.key.length - 1];

function launched(runs) {
  const links = runs.map((r) => h("li", null,
    h("a", { href: `#/runs/${r.run_id}` }, r.run_id.slice(0, 8)), ` in ${r.location}`));
  toast(h("div", null, h("strong", null, `Launched ${runs.length} run${runs.length === 1 ? "" : "s"}`),
    h("ul", { class: "toast-list" }, links)), "ok");
  // Runs come in dependency order; the last one finishes last, and links to the others.
  location.hash = `#/runs/${runs[runs.length - 1].run_id}`;
}

/**
 * Materialize `keys` (arrays of segments). `known` may hold asset details already fetched.
 * Resolves to the created runs, or null when the user closed the dialog.
 */
export async function materialize(keys, known = []) {
  const byKey = new Map(known.map((a) => [keyString(a.key), a]));
  let assets;
  let added = [];
  try {
    const fetchMissing = async (wanted) => {
      const missing = wanted.filter((k) => !byKey.has(keyString(k)));
      for (const a of await fetchAssets(missing)) byKey.set(keyString(a.key), a);
    };
    await fetchMissing(keys);
    // A multi-asset that cannot subset runs whole: select the rest of it, and say so.
    ({ keys, added } = withRequiredMultiAssets(keys, byKey));
    await fetchMissing(added);
    assets = keys.map((k) => byKey.get(keyString(k)));
  } catch (err) {
    toast(errorBox(err), "error");
    return null;
  }
  // One form per node: the assets of a multi-asset share its config.
  const configurable = [...new Map(assets.filter((a) => a.config_schema || a.ops_config_schema)
    .map((a) => [opName(a), a])).values()];
  if (!configurable.length) {
    try {
      const { runs } = await launchRuns({ selection: keys });
      if (added.length) toast(addedNote(added, assets), "ok", 10000);
      launched(runs);
      return runs;
    } catch (err) {
      toast(errorBox(err), "error", 10000);
      return null;
    }
  }
  return openDialog(keys, assets, configurable, added);
}

/**
 * `keys` with every other key of the multi-assets (can_subset=False) they are part of, as
 * the server would refuse a part of one; `added` are the keys that were not asked for.
 */
export function withRequiredMultiAssets(keys, byKey) {
  const chosen = new Map(keys.map((k) => [keyString(k), k]));
  const added = [];
  for (const k of keys) {
    const multi = byKey.get(keyString(k))?.required_multi_asset;
    for (const other of multi ? multi.keys : []) {
      if (!chosen.has(keyString(other))) {
        chosen.set(keyString(other), other);
        added.push(other);
      }
    }
  }
  return { keys: [...chosen.values()], added };
}

function addedNote(added, assets) {
  const names = [...new Set(assets.map((a) => a.required_multi_asset?.node_name).filter(Boolean))];
  return h("div", { class: "multi-asset-added" },
    h("strong", null, `Also materializing ${added.length} asset${added.length === 1 ? "" : "s"}`), ": ",
    added.map((k, i) => [i ? ", " : "", keyLink(k)]),
    ` — the multi-asset${names.length === 1 ? "" : "s"} ${names.map((n) => `'${n}'`).join(", ")} cannot be subset and materialize${names.length === 1 ? "s" : ""} all of its assets together.`);
}

function openDialog(keys, assets, configurable, added = []) {
  return new Promise((resolve) => {
    // Each configurable asset: a form for its own config, and one for its ops' (a graph
    // asset's), read into `{"config": …}` and `{"ops": …}` of its run config entry.
    const forms = configurable.map((asset, i) => ({
      asset,
      form: asset.config_schema ? new SchemaForm(asset.config_schema, { idPrefix: `cfg-${i}` }) : null,
      opsForm: asset.ops_config_schema ? new SchemaForm(asset.ops_config_schema, { idPrefix: `ops-${i}` }) : null,
    }));
    const formsOf = ({ form, opsForm }) => [form, opsForm].filter(Boolean);
    const errorArea = h("div", { class: "dialog-error", "aria-live": "assertive" });
    const jsonEditor = h("textarea", { class: "mono run-config-json", rows: 14, spellcheck: "false", name: "run_config", "aria-label": "Run config (JSON)" });
    const formPane = h("div", { class: "config-forms" }, forms.map(({ asset, form, opsForm }) =>
      h("section", { class: "config-asset", "data-asset": keyString(asset.key) },
        h("h3", null, "Config of ", keyLink(asset.key)),
        form ? form.element : null,
        opsForm ? h("div", { class: "config-ops", "data-ops-of": keyString(asset.key) },
          h("h4", null, "Config of its ops"), opsForm.element) : null)));
    const jsonPane = h("div", { class: "config-json", hidden: true },
      h("p", { class: "muted" }, "The whole run config: ", h("code", null, "{\"ops\": {name: {\"config\": …}}, \"resources\": …}"), "."),
      jsonEditor);
    let mode = "form";
    const tabForm = h("button", { type: "button", class: "tab active", "aria-pressed": "true", onclick: () => switchTo("form") }, "Form");
    const tabJson = h("button", { type: "button", class: "tab", "aria-pressed": "false", onclick: () => switchTo("json") }, "JSON");
    const launchButton = h("button", { type: "submit", class: "btn btn-primary" }, "Launch run");
    const others = assets.filter((a) => !a.config_schema && !a.ops_config_schema).length;

    const dialog = h("dialog", { class: "modal", "aria-labelledby": "launch-title" },
      h("form", { method: "dialog", novalidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
        h("header", { class: "modal-header" },
          h("h2", { id: "launch-title" }, `Materialize ${keys.length} asset${keys.length === 1 ? "" : "s"}`),
          h("div", { class: "tabs", role: "group", "aria-label": "Config editor" }, tabForm, tabJson)),
        h("div", { class: "modal-body" },
          added.length ? addedNote(added, assets) : null,
          others > 0 ? h("p", { class: "muted" }, `${others} more asset${others === 1 ? "" : "s"} without config.`) : null,
          formPane, jsonPane, errorArea),
        h("footer", { class: "modal-footer" },
          h("button", { type: "button", class: "btn", onclick: () => close(null) }, "Cancel"),
          launchButton)));

    function formConfig() {
      const ops = {};
      const errors = [];
      for (const { asset, form, opsForm } of forms) {
        const entry = {};
        for (const [part, f] of [["config", form], ["ops", opsForm]]) {
          if (!f) continue;
          const { value, errors: found } = f.read();
          errors.push(...found);
          if (Object.keys(value).length) entry[part] = value;
        }
        if (Object.keys(entry).length) ops[opName(asset)] = entry;
      }
      return { config: Object.keys(ops).length ? { ops } : {}, errors };
    }

    function switchTo(next) {
      if (next === mode) return;
      errorArea.replaceChildren();
      if (next === "json") {
        jsonEditor.value = JSON.stringify(formConfig().config, null, 2);
        for (const f of forms.flatMap(formsOf)) f.showErrors([]);
      }
      mode = next;
      formPane.hidden = mode !== "form";
      jsonPane.hidden = mode !== "json";
      tabForm.classList.toggle("active", mode === "form");
      tabJson.classList.toggle("active", mode === "json");
      tabForm.setAttribute("aria-pressed", String(mode === "form"));
      tabJson.setAttribute("aria-pressed", String(mode === "json"));
    }

    /** The JSON editor's run config, each configured asset checked against its schema. */
    function jsonConfig() {
      let config;
      try {
        config = JSON.parse(jsonEditor.value || "{}");
      } catch (err) {
        return { errors: [`run config is not valid JSON: ${err.message}`] };
      }
      if (!config || typeof config !== "object" || Array.isArray(config)) {
        return { errors: ["run config must be a JSON object"] };
      }
      const errors = [];
      const ops = config.ops && typeof config.ops === "object" ? config.ops : {};
      for (const { asset } of forms) {
        const entry = ops[opName(asset)];
        if (!entry || typeof entry !== "object") continue;
        for (const [part, schema] of [["config", asset.config_schema], ["ops", asset.ops_config_schema]]) {
          if (!schema) continue;
          for (const e of validate(schema, entry[part] ?? {})) {
            errors.push(`ops.${opName(asset)}.${[part, ...e.path].join(".")} ${e.message}`);
          }
        }
      }
      return { config, errors };
    }

    async function submit() {
      errorArea.replaceChildren();
      let runConfig;
      if (mode === "form") {
        const { config, errors } = formConfig();
        if (errors.length) {
          errorArea.replaceChildren(h("div", { class: "error-box", role: "alert" },
            h("strong", null, "Fix the config before launching:"), " ",
            `${errors.length} field${errors.length === 1 ? "" : "s"} invalid`));
          return;
        }
        runConfig = config;
      } else {
        const { config, errors } = jsonConfig();
        if (errors.length) {
          errorArea.replaceChildren(h("div", { class: "error-box", role: "alert" },
            h("strong", null, "Invalid run config:"), h("ul", null, errors.map((e) => h("li", null, e)))));
          return;
        }
        runConfig = config;
      }
      launchButton.disabled = true;
      launchButton.textContent = "Launching…";
      try {
        const { runs } = await launchRuns({ selection: keys, run_config: runConfig });
        close(runs);
        launched(runs);
      } catch (err) {
        showServerError(err);
      } finally {
        launchButton.disabled = false;
        launchButton.textContent = "Launch run";
      }
    }

    function showServerError(err) {
      errorArea.replaceChildren(errorBox(err));
      if (!(err instanceof ApiError) || mode !== "form") return;
      // A 422 names the field (and the asset): show it next to that field too.
      const { field, asset } = err.body || {};
      // The asset named may be another asset of a multi-asset's form: the same node.
      const named = assets.find((a) => keyString(a.key) === asset);
      const target = forms.find(({ asset: a }) => named && opName(a) === opName(named)) || (forms.length === 1 ? forms[0] : null);
      if (!field || !target) return;
      // A field of a graph asset's ops config is named from its entry, as "ops.inner.ops.scale.config.k".
      const path = String(field).split(".");
      const [f, at] = path[0] === "ops" && target.opsForm ? [target.opsForm, path.slice(1)] : [target.form, path];
      if (f) f.showErrors([{ path: at, message: `— ${err.detail}` }]);
    }

    function close(result) {
      dialog.close();
      dialog.remove();
      resolve(result);
    }

    dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}
