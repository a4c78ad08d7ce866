/**
 * The HTTP column form's rules (kind `http`, docs/columns.md "HTTP API columns"): a request
 * template per row (`{{Column}}` in the URL, header values and the JSON body), a credential of
 * the vault for the auth header, the JSON path of the value, the pace, only-if, auto-run and the
 * write policy. Problems are keyed by the paths the API's 422 uses (`config.url`,
 * `config.headers.<Name>`, `config.body`, `config.extract`...), so a local problem and the
 * server's land next to the same field.
 */
import type { ColumnType, FilterGroup } from "../api/tables";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** How the request authenticates; the secret is always a vault credential of provider `http`. */
export type HttpAuthKind = "none" | "bearer" | "header";

export interface HttpDraft {
  method: HttpMethod;
  url: string;
  /** headers other than the auth header, in the order shown */
  headers: { name: string; value: string }[];
  auth: { kind: HttpAuthKind; secret: string; header: string };
  /** JSON text; empty means no body */
  body: string;
  extract: string;
  type: ColumnType;
  rateLimit: string;
  timeout: string;
  onlyIf: FilterGroup | null;
  autoRun: boolean;
  writePolicy: "fill_empty" | "overwrite";
}

/** The column types an HTTP column offers (an object or array into a text column arrives as JSON text). */
export const HTTP_TYPES: ColumnType[] = ["text", "long_text", "number", "checkbox", "url", "email", "date", "json"];

export const SECRET_PROVIDER = "http";
const AUTHORIZATION = "Authorization";

export function emptyHttpDraft(): HttpDraft {
  return {
    method: "GET",
    url: "",
    headers: [],
    auth: { kind: "none", secret: "", header: "X-Api-Key" },
    body: "",
    extract: "$",
    type: "text",
    rateLimit: "5",
    timeout: "10",
    onlyIf: null,
    autoRun: false,
    writePolicy: "fill_empty",
  };
}

/** `{{Name}}` references of a template (secrets excluded), as written. */
export function templateRefs(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([^{}]+?)\s*\}\}/g)].map((m) => m[1] as string).filter((n) => !n.toLowerCase().startsWith("secret:"));
}

const SECRET_ONLY = /^\{\{\s*secret:\s*([^{}]+?)\s*\}\}$/i;
const BEARER_SECRET = /^Bearer\s+\{\{\s*secret:\s*([^{}]+?)\s*\}\}$/i;

function parseBody(text: string): { ok: true; value: unknown } | { ok: false } {
  if (!text.trim()) return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The header the auth choice writes (name and value), or null. */
export function authHeader(auth: HttpDraft["auth"]): { name: string; value: string } | null {
  if (auth.kind === "none") return null;
  const ref = `{{secret:${auth.secret.trim()}}}`;
  return auth.kind === "bearer" ? { name: AUTHORIZATION, value: `Bearer ${ref}` } : { name: auth.header.trim(), value: ref };
}

/** Problems the form can see before sending, keyed by the API's paths. */
export function validateHttp(draft: HttpDraft, columnNames: string[]): Record<string, string> {
  const errors: Record<string, string> = {};
  const url = draft.url.trim();
  if (!url) errors["config.url"] = "Write the URL.";
  else if (!/^https?:\/\//i.test(url)) errors["config.url"] = "The URL starts with http:// or https://.";
  const known = new Set(columnNames.map((n) => n.trim().toLowerCase()));
  const unknownIn = (text: string) => templateRefs(text).filter((n) => !known.has(n.toLowerCase()));
  const unknownUrl = unknownIn(draft.url);
  if (!errors["config.url"] && unknownUrl.length) errors["config.url"] = `No column named ${unknownUrl.map((n) => `“${n}”`).join(", ")}.`;
  const seen = new Set<string>();
  const auth = authHeader(draft.auth);
  if (auth) seen.add(auth.name.toLowerCase());
  draft.headers.forEach((h, i) => {
    const name = h.name.trim();
    if (!name) errors[`headers.${i}`] = "Name the header.";
    else if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/.test(name)) errors[`headers.${i}`] = "A header name is letters, digits and - (no spaces).";
    else if (seen.has(name.toLowerCase())) errors[`headers.${i}`] = "This header is set twice.";
    else if (unknownIn(h.value).length) errors[`headers.${i}`] = `No column named ${unknownIn(h.value).map((n) => `“${n}”`).join(", ")}.`;
    seen.add(name.toLowerCase());
  });
  if (draft.auth.kind !== "none" && !draft.auth.secret.trim()) errors["auth"] = "Pick the credential the request sends.";
  if (draft.auth.kind === "header" && !draft.auth.header.trim()) errors["auth"] = "Name the header that carries the key.";
  if (draft.body.trim()) {
    const body = parseBody(draft.body);
    if (draft.method === "GET") errors["config.body"] = "A GET request has no body: pick POST, or leave the body empty.";
    else if (!body.ok) errors["config.body"] = "The body is not valid JSON.";
    else if (unknownIn(draft.body).length) errors["config.body"] = `No column named ${unknownIn(draft.body).map((n) => `“${n}”`).join(", ")}.`;
  }
  if (!draft.extract.trim().startsWith("$")) errors["config.extract"] = "A path starts with $ (the whole answer), e.g. $.data.employees.";
  const rate = Number(draft.rateLimit);
  if (!Number.isInteger(rate) || rate < 1 || rate > 50) errors["config.rate_limit_per_second"] = "A whole number from 1 to 50.";
  const timeout = Number(draft.timeout);
  if (!draft.timeout.trim() || Number.isNaN(timeout) || timeout < 0.5 || timeout > 60) errors["config.timeout_s"] = "Seconds, from 0.5 to 60.";
  return errors;
}

/** The config the API takes (validate first: an unparsable body is sent as null). */
export function httpConfig(draft: HttpDraft): Record<string, unknown> {
  const headers: Record<string, string> = {};
  const auth = authHeader(draft.auth);
  if (auth) headers[auth.name] = auth.value;
  for (const h of draft.headers) if (h.name.trim()) headers[h.name.trim()] = h.value;
  const body = parseBody(draft.body);
  const config: Record<string, unknown> = {
    method: draft.method,
    url: draft.url.trim(),
    headers,
    body: body.ok ? body.value : null,
    extract: draft.extract.trim() || "$",
    rate_limit_per_second: Number(draft.rateLimit),
    timeout_s: Number(draft.timeout),
    auto_run: draft.autoRun,
    write_policy: draft.writePolicy,
  };
  if (draft.onlyIf?.conditions?.length) config.only_if = draft.onlyIf;
  return config;
}

/** A stored HTTP column back into a draft (its settings, edited): the auth header found among the headers. */
export function httpDraftOf(config: Record<string, unknown>, type: ColumnType): HttpDraft {
  const base = emptyHttpDraft();
  const stored = (config.headers ?? {}) as Record<string, string>;
  let auth = base.auth;
  const headers: HttpDraft["headers"] = [];
  for (const [name, value] of Object.entries(stored)) {
    const bearer = name.toLowerCase() === "authorization" ? BEARER_SECRET.exec(value) : null;
    const only = SECRET_ONLY.exec(value);
    if (auth.kind === "none" && bearer) auth = { kind: "bearer", secret: bearer[1] as string, header: base.auth.header };
    else if (auth.kind === "none" && only) auth = { kind: "header", secret: only[1] as string, header: name };
    else headers.push({ name, value });
  }
  const method = HTTP_METHODS.find((m) => m === config.method) ?? "GET";
  return {
    method,
    url: typeof config.url === "string" ? config.url : "",
    headers,
    auth,
    body: config.body === undefined || config.body === null ? "" : JSON.stringify(config.body, null, 2),
    extract: typeof config.extract === "string" ? config.extract : "$",
    type: HTTP_TYPES.includes(type) ? type : "text",
    rateLimit: String(config.rate_limit_per_second ?? base.rateLimit),
    timeout: String(config.timeout_s ?? base.timeout),
    onlyIf: (config.only_if as FilterGroup | undefined) ?? null,
    autoRun: config.auto_run === true,
    writePolicy: config.write_policy === "overwrite" ? "overwrite" : "fill_empty",
  };
}

/**
 * A server problem on `config.headers.<Name>` belongs to the auth field when that header is the
 * auth header, else to the header row of that name: the form's key for it.
 */
export function headerErrorKey(draft: HttpDraft, path: string): string | null {
  if (!path.startsWith("config.headers.")) return null;
  const name = path.slice("config.headers.".length).toLowerCase();
  const auth = authHeader(draft.auth);
  if (auth && auth.name.toLowerCase() === name) return "auth";
  const index = draft.headers.findIndex((h) => h.name.trim().toLowerCase() === name);
  return index >= 0 ? `headers.${index}` : null;
}

/** The server's problems moved onto the form's own keys (header rows, the auth field). */
export function placeHttpErrors(draft: HttpDraft, byPath: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(byPath)) out[headerErrorKey(draft, path) ?? path] ??= message;
  return out;
}
