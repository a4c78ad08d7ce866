import { describe, expect, it } from "vitest";

import { createApiClient } from "./client";
import { parseRetryAfter } from "./errors";
import { createRefresher } from "./refresh";

function envelope(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "X-Request-Id": "req", ...headers } });
}
const ok = (token: string) => envelope(200, { success: true, data: { access_token: token, refresh_token: null, token_type: "bearer", expires_in: 900 }, error: null, meta: null });
const limited = (retryAfter?: string) => envelope(429, { success: false, data: null, error: { code: "rate_limited", message: "Too many token refreshes" }, meta: null }, retryAfter ? { "Retry-After": retryAfter } : {});
const unauthorized = () => envelope(401, { success: false, data: null, error: { code: "invalid_refresh_token", message: "Invalid refresh token." }, meta: null });

/** A fake /auth/refresh answering from a script, one answer per call, and a fake clock. */
function refreshServer(script: (() => Response)[]) {
  const calls: string[] = [];
  const slept: number[] = [];
  const auth = createApiClient({
    fetch: (async (input: RequestInfo | URL) => {
      calls.push(String(input));
      const next = script[calls.length - 1];
      if (!next) throw new Error(`unexpected call ${calls.length}`);
      return next();
    }) as typeof fetch,
  });
  const refresh = createRefresher({
    renew: async () => (await auth.post("/api/v1/auth/refresh", { body: {} })).access_token,
    sleep: async (ms) => {
      slept.push(ms);
      // A real wait (a macrotask, not the milliseconds): callers can pile up meanwhile.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    },
    maxWaitMs: 10_000,
  });
  return { calls, slept, refresh };
}

describe("token refresh", () => {
  it("waits out a 429's Retry-After and tries again instead of ending the session", async () => {
    const { calls, slept, refresh } = refreshServer([() => limited("3"), () => ok("fresh")]);
    await expect(refresh()).resolves.toBe("fresh");
    expect(slept).toEqual([3000]);
    expect(calls).toHaveLength(2);
  });

  it("shares one refresh, its waits included, between concurrent callers", async () => {
    const { calls, refresh } = refreshServer([() => limited("1"), () => limited("2"), () => ok("shared"), () => ok("next")]);
    const first = refresh();
    const second = refresh();
    await Promise.resolve();
    const third = refresh(); // arrives while the first is waiting out the 429
    expect(await Promise.all([first, second, third])).toEqual(["shared", "shared", "shared"]);
    expect(calls).toHaveLength(3); // one refresh and its two retries, not three refreshes
    // A later caller starts a new one.
    await expect(refresh()).resolves.toBe("next");
    expect(calls).toHaveLength(4);
  });

  it("backs off when a 429 says nothing about when, and gives up past the longest wait", async () => {
    const { slept, refresh } = refreshServer([() => limited(), () => limited(), () => limited("9"), () => ok("late")]);
    // 1 s, 2 s, then 9 s would pass the 10 s budget: the session could not be renewed.
    await expect(refresh()).resolves.toBeNull();
    expect(slept).toEqual([1000, 2000]);
  });

  it("ends the session on a 401 without retrying", async () => {
    const { calls, slept, refresh } = refreshServer([unauthorized, () => ok("never")]);
    await expect(refresh()).resolves.toBeNull();
    expect(calls).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it("keeps a request alive through a rate-limited renewal: 401, refresh 429, refresh, retry", async () => {
    const { refresh, slept } = refreshServer([() => limited("1"), () => ok("fresh")]);
    const state = { token: "stale" as string | null, expired: 0 };
    const seen: (string | null)[] = [];
    const client = createApiClient({
      fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
        const auth = new Headers(init?.headers).get("Authorization");
        seen.push(auth);
        return auth === "Bearer fresh" ? envelope(200, { success: true, data: { id: "u1" }, error: null, meta: null }) : envelope(401, { success: false, data: null, error: { code: "token_expired", message: "expired" }, meta: null });
      }) as typeof fetch,
      tokens: {
        accessToken: () => state.token,
        refresh: async () => (state.token = await refresh()),
        expired: () => {
          state.expired += 1;
        },
      },
    });
    await expect(client.get("/api/v1/auth/me")).resolves.toEqual({ id: "u1" });
    expect(seen).toEqual(["Bearer stale", "Bearer fresh"]);
    expect(slept).toEqual([1000]);
    expect(state.expired).toBe(0);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("12")).toBe(12);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
    const now = Date.parse("2026-12-03T10:00:00Z");
    expect(parseRetryAfter("Thu, 03 Dec 2026 10:00:30 GMT", now)).toBe(30);
    expect(parseRetryAfter("Thu, 03 Dec 2026 09:00:00 GMT", now)).toBe(0);
  });
});
