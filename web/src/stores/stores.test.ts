import { beforeEach, describe, expect, it } from "vitest";

import { useSession } from "./session";
import { toastError, useToasts } from "./toasts";

describe("session store", () => {
  beforeEach(() => useSession.getState().signOut());

  it("signs in with the access token in memory and forgets everything on sign-out", () => {
    const user = { id: "u1", email: "ana@acme.io", name: "Ana", created_at: "2026-01-01T00:00:00Z" };
    useSession.getState().signIn("access-1", user, null);
    expect(useSession.getState()).toMatchObject({ status: "signed-in", accessToken: "access-1", user, fallbackRefreshToken: null });
    useSession.getState().setAccessToken("access-2");
    expect(useSession.getState().accessToken).toBe("access-2");
    expect(useSession.getState().user).toEqual(user);
    useSession.getState().signOut();
    expect(useSession.getState()).toMatchObject({ status: "signed-out", accessToken: null, user: null, fallbackRefreshToken: null });
  });

  it("never writes a token to web storage", () => {
    useSession.getState().signIn("secret-access", null, "secret-refresh");
    const stored = JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage });
    expect(stored).not.toContain("secret-access");
    expect(stored).not.toContain("secret-refresh");
  });
});

describe("toasts store", () => {
  beforeEach(() => useToasts.setState({ toasts: [] }));

  it("carries the request id of an API error and shows a repeated failure once", () => {
    const failure = { message: "Workspace not found.", requestId: "req-9" };
    toastError(failure, "Could not load data");
    toastError(failure, "Could not load data");
    const toasts = useToasts.getState().toasts;
    expect(toasts).toHaveLength(1);
    expect(toasts[0]).toMatchObject({ tone: "error", title: "Could not load data", message: "Workspace not found.", requestId: "req-9" });
    useToasts.getState().dismiss(toasts[0]!.id);
    expect(useToasts.getState().toasts).toHaveLength(0);
  });

  it("keeps at most four", () => {
    for (let i = 0; i < 6; i++) useToasts.getState().push({ tone: "info", title: `t${i}` });
    expect(useToasts.getState().toasts.map((t) => t.title)).toEqual(["t2", "t3", "t4", "t5"]);
  });
});
