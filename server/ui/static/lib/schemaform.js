// A form generated from an asset's config JSON Schema (what pydantic's model_json_schema
// produces), and a validator for the subset of JSON Schema those schemas use. The form is
// validated here before a launch; the server validates again and may still answer 422.

import { h } from "./dom.js";

/** Follow `$ref`s into `$defs` and unwrap single-element `allOf`s. */
export function resolve(schema, root) {
  let current = schema || {};
  for (let guard = 0; guard < 32; guard++) {
    if (current.$ref) {
      const parts = current.$ref.replace(/^#\//, "").split("/");
      let target = root;
      for (const part of parts) target = target ? target[part] : undefined;
      const { $ref, ...rest } = current;
      current = { ...(target || {}), ...rest };
    } else if (Array.isArray(current.allOf) && current.allOf.length === 1) {
      const { allOf, ...rest } = current;
      current = { ...allOf[0], ...rest };
    } else {
      return current;
    }
  }
  return current;
}

/** `{inner, nullable}`: `anyOf: [X, {type: "null"}]` (pydantic's Optional) seen as X. */
function unwrapNullable(schema, root) {
  const s = resolve(schema, root);
  const options = s.anyOf || s.oneOf;
  if (Array.isArray(options)) {
    const others = options.filter((o) => resolve(o, root).type !== "null");
    if (others.length === 1 && others.length < options.length) {
      const { anyOf, oneOf, ...rest } = s;
      return { inner: { ...resolve(others[0], root), ...rest }, nullable: true };
    }
  }
  if (Array.isArray(s.type) && s.type.includes("null")) {
    const types = s.type.filter((t) => t !== "null");
    return { inner: { ...s, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { inner: s, nullable: false };
}

// -- validation ------------------------------------------------------------------------------

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(type, value) {
  const actual = typeOf(value);
  if (type === "number") return actual === "number" || actual === "integer";
  return actual === type;
}

const TYPE_WORDS = {
  integer: "an integer", number: "a number", string: "a string", boolean: "true or false",
  object: "an object", array: "a list", null: "null",
};

/** Errors of `value` against `schema`: [{path: ["a", "b"], message}]. */
export function validate(schema, value, root = schema, path = []) {
  const s = resolve(schema, root);
  const errors = [];
  const fail = (message, at = path) => errors.push({ path: at, message });

  const options = s.anyOf || s.oneOf;
  if (Array.isArray(options)) {
    const branches = options.map((o) => validate(o, value, root, path));
    if (!branches.some((b) => b.length === 0)) {
      const best = branches.reduce((a, b) => (b.length < a.length ? b : a));
      return best.length ? best : [{ path, message: "does not match any allowed form" }];
    }
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => typeMatches(t, value))) {
      fail(`must be ${types.map((t) => TYPE_WORDS[t] || t).join(" or ")}`);
      return errors;
    }
  }
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value)) {
    fail(`must be ${JSON.stringify(s.const)}`);
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    fail(`must be one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) fail(`must be at least ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) fail(`must be at most ${s.maximum}`);
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) fail(`must be greater than ${s.exclusiveMinimum}`);
    if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) fail(`must be less than ${s.exclusiveMaximum}`);
    if (s.multipleOf && Math.abs(value / s.multipleOf - Math.round(value / s.multipleOf)) > 1e-9) {
      fail(`must be a multiple of ${s.multipleOf}`);
    }
  }
  if (typeof value === "string") {
    if (s.minLength !== undefined && value.length < s.minLength) fail(`must have at least ${s.minLength} characters`);
    if (s.maxLength !== undefined && value.length > s.maxLength) fail(`must have at most ${s.maxLength} characters`);
    if (s.pattern && !new RegExp(s.pattern, "u").test(value)) fail(`must match ${s.pattern}`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) fail(`must have at least ${s.minItems} items`);
    if (s.maxItems !== undefined && value.length > s.maxItems) fail(`must have at most ${s.maxItems} items`);
    if (s.items && typeof s.items === "object") {
      value.forEach((item, i) => errors.push(...validate(s.items, item, root, [...path, String(i)])));
    }
  }
  if (typeOf(value) === "object") {
    const props = s.properties || {};
    for (const name of s.required || []) {
      if (!(name in value)) fail("is required", [...path, name]);
    }
    for (const [name, item] of Object.entries(value)) {
      if (props[name]) errors.push(...validate(props[name], item, root, [...path, name]));
      else if (s.additionalProperties === false) fail("is not a known field", [...path, name]);
      else if (s.additionalProperties && typeof s.additionalProperties === "object") {
        errors.push(...validate(s.additionalProperties, item, root, [...path, name]));
      }
    }
  }
  return errors;
}

// -- the form --------------------------------------------------------------------------------

const ABSENT = Symbol("absent");

/**
 * A form for `schema`, prefilled with `initial` (else the schema's defaults).
 * `form.element` is the DOM; `form.read()` returns `{value, errors}` and shows the errors
 * next to their fields; `form.showErrors(errors)` shows errors found elsewhere.
 */
export class SchemaForm {
  constructor(schema, { idPrefix = "cfg", initial } = {}) {
    this.root = schema;
    this.idPrefix = idPrefix;
    this.fields = new Map(); // "a.b" -> {errorEl, input}
    this.general = h("ul", { class: "form-errors", hidden: true });
    const top = this.build(schema, [], initial, true);
    this.readTop = top.read;
    this.element = h("div", { class: "schema-form" }, top.element, this.general);
  }

  build(schema, path, initial, required) {
    const { inner, nullable } = unwrapNullable(schema, this.root);
    if (inner.type === "object" && inner.properties && !path.length) {
      return this.buildObject(inner, path, initial);
    }
    if (inner.type === "object" && inner.properties) {
      const child = this.buildObject(inner, path, initial);
      return { element: h("fieldset", { class: "nested" }, h("legend", null, label(inner, path)), child.element), read: child.read };
    }
    return this.buildField(inner, path, initial, required && !nullable, nullable);
  }

  buildObject(schema, path, initial) {
    const required = new Set(schema.required || []);
    const children = Object.entries(schema.properties).map(([name, sub]) => {
      const start = initial && typeof initial === "object" ? initial[name] : undefined;
      return [name, this.build(sub, [...path, name], start, required.has(name))];
    });
    const element = h("div", { class: "form-fields" }, children.map(([, c]) => c.element));
    const read = () => {
      const value = {};
      const errors = [];
      for (const [name, child] of children) {
        const got = child.read();
        errors.push(...got.errors);
        if (got.value !== ABSENT) value[name] = got.value;
      }
      return { value, errors };
    };
    return { element, read };
  }

  buildField(schema, path, initial, required, nullable) {
    const name = path.join(".");
    const id = `${this.idPrefix}-${path.join("-") || "root"}`;
    const start = initial !== undefined ? initial : schema.default;
    const kind = fieldKind(schema);
    let input;
    if (kind === "boolean") {
      input = h("input", { type: "checkbox", id, name, checked: Boolean(start) });
    } else if (kind === "enum") {
      input = h("select", { id, name },
        h("option", { value: "" }, required ? "— choose —" : "— not set —"),
        schema.enum.map((opt, i) => h("option", { value: String(i), selected: JSON.stringify(opt) === JSON.stringify(start) }, String(opt))));
    } else if (kind === "json") {
      input = h("textarea", { id, name, rows: 3, spellcheck: "false", class: "mono" },
        start === undefined ? "" : JSON.stringify(start, null, 2));
    } else {
      input = h("input", {
        type: "text", id, name, autocomplete: "off",
        inputmode: kind === "integer" ? "numeric" : kind === "number" ? "decimal" : undefined,
        value: start === undefined || start === null ? "" : String(start),
      });
    }
    const errorEl = h("div", { class: "field-error", id: `${id}-error`, hidden: true });
    input.setAttribute("aria-describedby", `${id}-error`);
    this.fields.set(name, { errorEl, input });
    const hint = [typeHint(schema, kind), schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : null]
      .filter(Boolean).join(" · ");
    const element = h("div", { class: `field field-${kind}` },
      h("label", { for: id }, label(schema, path), required ? h("span", { class: "required", title: "required" }, " *") : null),
      schema.description ? h("div", { class: "field-help" }, schema.description) : null,
      input,
      hint ? h("div", { class: "field-hint" }, hint) : null,
      errorEl);

    const read = () => {
      const raw = kind === "boolean" ? input.checked : input.value;
      if (kind === "boolean") return { value: raw, errors: [] };
      if (raw.trim() === "") {
        // Left empty: the server applies the default, if there is one.
        return { value: ABSENT, errors: required ? [{ path, message: "is required" }] : [] };
      }
      if (kind === "enum") return { value: schema.enum[Number(raw)], errors: [] };
      if (kind === "integer" || kind === "number") {
        const num = Number(raw.trim());
        if (!Number.isFinite(num)) return { value: ABSENT, errors: [{ path, message: `must be ${kind === "integer" ? "an integer" : "a number"}` }] };
        if (kind === "integer" && !Number.isInteger(num)) return { value: ABSENT, errors: [{ path, message: "must be an integer" }] };
        return { value: num, errors: [] };
      }
      if (kind === "json") {
        try {
          return { value: JSON.parse(raw), errors: [] };
        } catch {
          return { value: ABSENT, errors: [{ path, message: "must be valid JSON" }] };
        }
      }
      if (nullable && raw === "null") return { value: null, errors: [] };
      return { value: raw, errors: [] };
    };
    return { element, read };
  }

  /** Parse and validate; errors are shown next to their fields. */
  read() {
    const parsed = this.readTop();
    const value = parsed.value === ABSENT ? {} : parsed.value;
    const errors = parsed.errors.length ? parsed.errors : validate(this.root, value);
    this.showErrors(errors);
    return { value, errors };
  }

  showErrors(errors) {
    for (const { errorEl, input } of this.fields.values()) {
      errorEl.hidden = true;
      errorEl.textContent = "";
      input.removeAttribute("aria-invalid");
    }
    const general = [];
    for (const err of errors) {
      const field = this.fields.get(err.path.join("."));
      if (field) {
        field.errorEl.hidden = false;
        field.errorEl.textContent = `${err.path.join(".")} ${err.message}`;
        field.input.setAttribute("aria-invalid", "true");
      } else {
        general.push(h("li", null, `${err.path.join(".") || "config"} ${err.message}`));
      }
    }
    this.general.replaceChildren(...general);
    this.general.hidden = general.length === 0;
    const first = errors.length ? this.fields.get(errors[0].path.join(".")) : null;
    if (first) first.input.focus();
  }
}

function fieldKind(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  if (schema.type === "boolean") return "boolean";
  if (schema.type === "integer") return "integer";
  if (schema.type === "number") return "number";
  if (schema.type === "string") return "string";
  return "json";
}

function label(schema, path) {
  return schema.title || path[path.length - 1] || "config";
}

function typeHint(schema, kind) {
  const bits = [];
  if (kind === "json") bits.push(schema.type ? `${schema.type} as JSON` : "JSON");
  else if (kind !== "enum" && kind !== "boolean") bits.push(kind);
  if (schema.minimum !== undefined) bits.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) bits.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) bits.push(`≤ ${schema.maximum}`);
  if (schema.exclusiveMaximum !== undefined) bits.push(`< ${schema.exclusiveMaximum}`);
  if (schema.minLength !== undefined) bits.push(`min length ${schema.minLength}`);
  if (schema.maxLength !== undefined) bits.push(`max length ${schema.maxLength}`);
  return bits.join(", ");
}
