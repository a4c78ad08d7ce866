import { create } from "zustand";

import type { Schemas } from "@/lib/api";

export type SessionStatus = "restoring" | "signed-in" | "signed-out";

interface SessionState {
  status: SessionStatus;
  /** In memory only: a reload restores it through the refresh cookie, never from storage. */
  accessToken: string | null;
  /**
   * Only set when a server predates the cookie transport and still returns the token in the body:
   * kept in memory for this page's life (so a 401 can still renew), never persisted.
   */
  fallbackRefreshToken: string | null;
  user: Schemas["UserOut"] | null;
  signIn(accessToken: string, user: Schemas["UserOut"] | null, refreshToken?: string | null): void;
  setAccessToken(accessToken: string, refreshToken?: string | null): void;
  signOut(): void;
}

export const useSession = create<SessionState>()((set) => ({
  status: "restoring",
  accessToken: null,
  fallbackRefreshToken: null,
  user: null,
  signIn: (accessToken, user, refreshToken) =>
    set((s) => ({
      status: "signed-in",
      accessToken,
      user: user ?? s.user,
      fallbackRefreshToken: refreshToken ?? null,
    })),
  setAccessToken: (accessToken, refreshToken) =>
    set((s) => ({ accessToken, fallbackRefreshToken: refreshToken ?? s.fallbackRefreshToken })),
  signOut: () => set({ status: "signed-out", accessToken: null, fallbackRefreshToken: null, user: null }),
}));
