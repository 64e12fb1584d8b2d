// The REST API client: the only way the UI gets data. Errors come back from the server as
// application/problem+json `{title, status, detail, errors?}` and are thrown as ApiError.

const BASE = "/api/v1";
const TOKEN_KEY = "tessera.apiToken";

export class ApiError extends Error {
  constructor(status, title, detail, body) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title || `HTTP ${status}`;
    this.detail = detail || this.message;
    this.body = body || {};
  }
}

export const getToken = () => localStorage.getItem(TOKEN_KEY) || "";
export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** `api("/runs", {method: "POST", body: {...}})`: the parsed JSON answer, or ApiError. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "Server unreachable", `could not reach the Tessera server (${err.message})`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : {};
    // 401: no token, or one the server refused; 403 with a scope: a token that reaches less
    // far than this needs. Either way the UI offers to paste another token.
    if (response.status === 401 || (response.status === 403 && problem.required_scope)) {
      // `token` is the one this request sent: an answer that arrives after another was saved
      // says nothing about the new one.
      const detail = { status: response.status, scope: problem.required_scope, token };
      window.dispatchEvent(new CustomEvent("tessera:unauthorized", { detail }));
    }
    throw new ApiError(response.status, problem.title, problem.detail || text.slice(0, 300), problem);
  }
  return data;
}

/** An asset key as a path: segments URL-encoded, joined by "/". */
const keyPath = (key) => key.map(encodeURIComponent).join("/");

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(name, v));
    else search.set(name, String(value));
  }
  const str = search.toString();
  return str ? `?${str}` : "";
}

export const getAsset = (key, opts) => api(`/assets/${keyPath(key)}`, opts);
export const listAssets = (params, opts) => api(`/assets${query(params)}`, opts);
export const listMaterializations = (key, params, opts) =>
  api(`/assets/${keyPath(key)}/materializations${query(params)}`, opts);
export const getAssetGraph = (opts) => api("/asset-graph", opts);
export const getAssetFacets = (opts) => api("/asset-facets", opts);
export const listLocations = (opts) => api("/code-locations", opts);
export const reloadLocation = (name) =>
  api(`/code-locations/${encodeURIComponent(name)}/reload`, { method: "POST" });
export const listRuns = (params, opts) => api(`/runs${query(params)}`, opts);
export const getRun = (id, opts) => api(`/runs/${encodeURIComponent(id)}`, opts);
export const listRunEvents = (id, params, opts) =>
  api(`/runs/${encodeURIComponent(id)}/events${query(params)}`, opts);
export const cancelRun = (id) => api(`/runs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
export const launchRuns = (body) => api("/runs", { method: "POST", body });
export const listTokens = (opts) => api("/tokens", opts);
export const createToken = (body) => api("/tokens", { method: "POST", body });
export const revokeToken = (id) => api(`/tokens/${encodeURIComponent(id)}`, { method: "DELETE" });
