import { ApiError, parseRetryAfter } from "./errors";
import type { paths } from "./schema";

export type Method = "get" | "post" | "put" | "patch" | "delete";

type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The API paths that answer method M. */
export type PathsOf<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined ? never : P;
}[keyof paths];

type JsonOf<R> = R extends { content: { "application/json": infer J } } ? J : never;
type SuccessEnvelope<O> = O extends { responses: infer R }
  ? JsonOf<R[Extract<keyof R, 200 | 201>]>
  : never;

/** What a call resolves to: the envelope's `data`, never null on success. */
export type DataOf<P extends keyof paths, M extends Method> =
  SuccessEnvelope<Operation<P, M>> extends { data?: infer D } ? NonNullable<D> : never;

type PathParamsOf<O> = O extends { parameters: { path: infer PP } } ? PP : undefined;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : undefined;
type BodyOf<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B
    : undefined;

export type RequestOptions<P extends keyof paths, M extends Method> = {
  path?: PathParamsOf<Operation<P, M>>;
  query?: QueryOf<Operation<P, M>>;
  body?: BodyOf<Operation<P, M>>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

export type PageMeta = { page: number; limit: number; total: number };
/** `meta` is the list meta when it has a total; `rawMeta` is whatever the envelope carried (e.g. `total_estimated`, `type_change`). */
export type ApiResult<T> = { data: T; meta: PageMeta | null; rawMeta: Record<string, unknown> | null; requestId: string | null };

/** How the client gets, renews and gives up on the access token; the auth feature provides it. */
export interface TokenHandlers {
  accessToken(): string | null;
  /** Renew the access token (one call shared by every concurrent 401); null when the session is over. */
  refresh(): Promise<string | null>;
  /** The session could not be renewed: sign the user out. */
  expired(): void;
}

export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  tokens?: TokenHandlers;
}

function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    // Arrays repeat the key (`?company=a&company=b`), as FastAPI reads list parameters.
    if (Array.isArray(value)) for (const item of value) search.append(key, String(item));
    else if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function readEnvelope(response: Response): Promise<ApiResult<unknown>> {
  const requestId = response.headers.get("X-Request-Id");
  let body: unknown = null;
  const text = await response.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  const envelope = body as { success?: boolean; data?: unknown; error?: unknown; meta?: unknown } | null;
  if (!response.ok || !envelope || envelope.success === false) {
    const err = (envelope?.error ?? null) as { code?: string; message?: string; details?: unknown } | null;
    throw new ApiError(
      response.status,
      err?.code ?? `http_${response.status}`,
      err?.message ?? (response.statusText || `The server answered ${response.status}.`),
      err?.details ?? null,
      requestId,
      parseRetryAfter(response.headers.get("Retry-After")),
    );
  }
  const meta = envelope.meta as PageMeta | null | undefined;
  const rawMeta = meta && typeof meta === "object" ? (meta as unknown as Record<string, unknown>) : null;
  return { data: envelope.data, meta: meta && typeof meta === "object" && "total" in meta ? meta : null, rawMeta, requestId };
}

export function createApiClient(options: ApiClientOptions = {}) {
  const baseUrl = options.baseUrl ?? "";
  let tokens: TokenHandlers | undefined = options.tokens;

  async function send(method: Method, url: string, init: RequestOptions<never, never>, token: string | null) {
    const headers: Record<string, string> = { Accept: "application/json", ...init.headers };
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    const doFetch = options.fetch ?? fetch;
    try {
      return await doFetch(url, {
        method: method.toUpperCase(),
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        credentials: "same-origin",
        signal: init.signal,
      });
    } catch (cause) {
      if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
      throw new ApiError(0, "network_error", "Could not reach the server. Check your connection.", null, null);
    }
  }

  async function request<P extends PathsOf<M>, M extends Method>(
    method: M,
    path: P,
    init: RequestOptions<P, M> = {},
  ): Promise<ApiResult<DataOf<P, M>>> {
    const loose = init as RequestOptions<never, never>;
    const url =
      baseUrl +
      fillPath(path, loose.path as Record<string, unknown> | undefined) +
      queryString(loose.query as Record<string, unknown> | undefined);
    const token = tokens?.accessToken() ?? null;
    let response = await send(method, url, loose, token);
    // One renewal and one retry: an access token expires every few minutes, a session rarely.
    if (response.status === 401 && token && tokens) {
      const renewed = await tokens.refresh();
      if (!renewed) {
        tokens.expired();
      } else {
        response = await send(method, url, loose, renewed);
        if (response.status === 401) tokens.expired();
      }
    }
    return (await readEnvelope(response)) as ApiResult<DataOf<P, M>>;
  }

  /**
   * A request whose body or answer is not JSON (an upload, a file download): same token,
   * same one renewal on 401; a failure still becomes an ApiError from the envelope.
   */
  async function raw(url: string, init: { method: string; body?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal }) {
    const go = (token: string | null) => {
      const headers: Record<string, string> = { ...init.headers };
      if (token) headers.Authorization = `Bearer ${token}`;
      return (options.fetch ?? fetch)(baseUrl + url, { method: init.method, body: init.body, headers, credentials: "same-origin", signal: init.signal });
    };
    const token = tokens?.accessToken() ?? null;
    let response = await go(token);
    if (response.status === 401 && token && tokens) {
      const renewed = await tokens.refresh();
      if (!renewed) tokens.expired();
      else response = await go(renewed);
    }
    if (!response.ok) await readEnvelope(response);
    return response;
  }

  return {
    request,
    raw,
    setTokenHandlers(handlers: TokenHandlers | undefined) {
      tokens = handlers;
    },
    get<P extends PathsOf<"get">>(path: P, init?: RequestOptions<P, "get">) {
      return request("get", path, init).then((r) => r.data);
    },
    post<P extends PathsOf<"post">>(path: P, init?: RequestOptions<P, "post">) {
      return request("post", path, init).then((r) => r.data);
    },
    put<P extends PathsOf<"put">>(path: P, init?: RequestOptions<P, "put">) {
      return request("put", path, init).then((r) => r.data);
    },
    patch<P extends PathsOf<"patch">>(path: P, init?: RequestOptions<P, "patch">) {
      return request("patch", path, init).then((r) => r.data);
    },
    delete<P extends PathsOf<"delete">>(path: P, init?: RequestOptions<P, "delete">) {
      return request("delete", path, init).then((r) => r.data);
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
