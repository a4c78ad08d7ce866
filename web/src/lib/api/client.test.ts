import { describe, expect, it } from "vitest";

import { createApiClient, type TokenHandlers } from "./client";
import { ApiError } from "./errors";

type Call = { url: string; method: string; auth: string | null; body: string | null };

function envelope(status: number, body: unknown, requestId = "req-1") {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "X-Request-Id": requestId },
  });
}

/** A fake server: answers from a handler and records every call the client made. */
function server(handler: (call: Call) => Response) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const call = { url: String(input), method: init?.method ?? "GET", auth: headers.get("Authorization"), body: (init?.body as string) ?? null };
    calls.push(call);
    return handler(call);
  }) as typeof fetch;
  return { calls, fetchImpl };
}

function tokens(initial: string | null, renewed: string | null) {
  const state = { token: initial, refreshes: 0, expired: 0 };
  const handlers: TokenHandlers = {
    accessToken: () => state.token,
    refresh: async () => {
      state.refreshes += 1;
      state.token = renewed;
      return renewed;
    },
    expired: () => {
      state.expired += 1;
    },
  };
  return { state, handlers };
}

const WS = "11111111-1111-1111-1111-111111111111";

describe("api client", () => {
  it("unwraps the envelope, fills path and query, attaches the bearer token", async () => {
    const { calls, fetchImpl } = server(() =>
      envelope(200, { success: true, data: [{ id: "t1" }], error: null, meta: { page: 2, limit: 5, total: 11 } }),
    );
    const { handlers } = tokens("access-1", null);
    const client = createApiClient({ fetch: fetchImpl, tokens: handlers });
    const result = await client.request("get", "/api/v1/workspaces/{workspace_id}/billing/transactions", {
      path: { workspace_id: WS },
      query: { page: 2, limit: 5 },
    });
    expect(result.data).toEqual([{ id: "t1" }]);
    expect(result.meta).toEqual({ page: 2, limit: 5, total: 11 });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(`/api/v1/workspaces/${WS}/billing/transactions?page=2&limit=5`);
    expect(calls[0]?.auth).toBe("Bearer access-1");
  });

  it("sends JSON bodies", async () => {
    const { calls, fetchImpl } = server(() => envelope(201, { success: true, data: { id: "w1", name: "Acme" }, error: null, meta: null }));
    const client = createApiClient({ fetch: fetchImpl });
    const created = await client.post("/api/v1/workspaces", { body: { name: "Acme" } });
    expect(created).toEqual({ id: "w1", name: "Acme" });
    expect(calls[0]?.method).toBe("POST");
    expect(JSON.parse(calls[0]?.body ?? "null")).toEqual({ name: "Acme" });
  });

  it("turns an error envelope into an ApiError carrying code, details and the request id", async () => {
    const { fetchImpl } = server(() =>
      envelope(
        422,
        { success: false, data: null, error: { code: "validation_error", message: "Invalid input.", details: [{ field: "body.email", message: "not an email" }] }, meta: null },
        "req-422",
      ),
    );
    const client = createApiClient({ fetch: fetchImpl });
    const error = await client.post("/api/v1/auth/login", { body: { email: "x", password: "y" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(422);
    expect(apiError.code).toBe("validation_error");
    expect(apiError.message).toBe("Invalid input.");
    expect(apiError.requestId).toBe("req-422");
    expect(apiError.fieldErrors()).toEqual({ email: "not an email" });
  });

  it("keeps the request id of a non-JSON failure (a proxy's 502)", async () => {
    const { fetchImpl } = server(() => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway", headers: { "X-Request-Id": "req-502" } }));
    const client = createApiClient({ fetch: fetchImpl });
    const error = (await client.get("/api/v1/providers").catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(502);
    expect(error.code).toBe("http_502");
    expect(error.requestId).toBe("req-502");
  });

  it("reports an unreachable server as a network error", async () => {
    const client = createApiClient({ fetch: (async () => { throw new TypeError("Failed to fetch"); }) as typeof fetch });
    const error = (await client.get("/api/v1/providers").catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("network_error");
    expect(error.status).toBe(0);
  });

  it("on a 401 refreshes once and retries with the new token", async () => {
    const { calls, fetchImpl } = server((call) =>
      call.auth === "Bearer fresh"
        ? envelope(200, { success: true, data: { id: "u1" }, error: null, meta: null })
        : envelope(401, { success: false, data: null, error: { code: "unauthorized", message: "expired" }, meta: null }),
    );
    const { state, handlers } = tokens("stale", "fresh");
    const client = createApiClient({ fetch: fetchImpl, tokens: handlers });
    const me = await client.get("/api/v1/auth/me");
    expect(me).toEqual({ id: "u1" });
    expect(state.refreshes).toBe(1);
    expect(state.expired).toBe(0);
    expect(calls.map((c) => c.auth)).toEqual(["Bearer stale", "Bearer fresh"]);
  });

  it("does not loop: a second 401 after refreshing ends the session", async () => {
    const { calls, fetchImpl } = server(() => envelope(401, { success: false, data: null, error: { code: "unauthorized", message: "no" }, meta: null }));
    const { state, handlers } = tokens("stale", "also-bad");
    const client = createApiClient({ fetch: fetchImpl, tokens: handlers });
    const error = (await client.get("/api/v1/auth/me").catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(401);
    expect(calls).toHaveLength(2);
    expect(state.refreshes).toBe(1);
    expect(state.expired).toBe(1);
  });

  it("ends the session when the refresh itself fails, without retrying", async () => {
    const { calls, fetchImpl } = server(() => envelope(401, { success: false, data: null, error: { code: "unauthorized", message: "no" }, meta: null }));
    const { state, handlers } = tokens("stale", null);
    const client = createApiClient({ fetch: fetchImpl, tokens: handlers });
    await expect(client.get("/api/v1/auth/me")).rejects.toBeInstanceOf(ApiError);
    expect(calls).toHaveLength(1);
    expect(state.expired).toBe(1);
  });

  it("never refreshes for a request sent without a token (a failed sign-in is just an error)", async () => {
    const { fetchImpl } = server(() => envelope(401, { success: false, data: null, error: { code: "invalid_credentials", message: "Wrong email or password." }, meta: null }));
    const { state, handlers } = tokens(null, "fresh");
    const client = createApiClient({ fetch: fetchImpl, tokens: handlers });
    const error = (await client.post("/api/v1/auth/login", { body: { email: "a@b.co", password: "x" } }).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe("Wrong email or password.");
    expect(state.refreshes).toBe(0);
  });
});
