import { api, createAuthClient, createRefresher, type Schemas, type TokenHandlers } from "@/lib/api";
import { useSession } from "@/stores/session";

// Asks the API to keep the refresh token in an httpOnly SameSite=Strict cookie (Path=/api/v1/auth)
// instead of the response body: script on the page never sees it.
const COOKIE_TRANSPORT = { "X-Refresh-Token-Transport": "cookie" };

// A client without token handlers: a 401 from /auth/* must not trigger another refresh.
const auth = createAuthClient();

type Tokens = Schemas["TokenPair"];

function refreshBody(): Schemas["RefreshRequest"] {
  const held = useSession.getState().fallbackRefreshToken;
  // With the cookie transport the body is empty and the API reads the cookie.
  return held ? { refresh_token: held } : {};
}

function keep(tokens: Tokens, user: Schemas["UserOut"] | null) {
  useSession.getState().signIn(tokens.access_token, user, tokens.refresh_token || null);
}

export async function login(email: string, password: string) {
  const result = await auth.post("/api/v1/auth/login", { body: { email, password }, headers: COOKIE_TRANSPORT });
  keep(result.tokens, result.user);
  return result.user;
}

export async function register(email: string, password: string, name: string | null) {
  const result = await auth.post("/api/v1/auth/register", {
    body: { email, password, name },
    headers: COOKIE_TRANSPORT,
  });
  keep(result.tokens, result.user);
  return result.user;
}

/**
 * Renew the access token; concurrent callers share one request (the refresh token rotates), and
 * a 429 is waited out (its Retry-After) and retried rather than taken as the end of the session.
 */
export const refreshAccessToken = createRefresher({
  renew: async () => {
    const tokens = await auth.post("/api/v1/auth/refresh", { body: refreshBody(), headers: COOKIE_TRANSPORT });
    useSession.getState().setAccessToken(tokens.access_token, tokens.refresh_token || null);
    return tokens.access_token;
  },
});

/** On page load: the cookie (if any) buys a new access token, then we learn who we are. */
export async function restoreSession(): Promise<void> {
  const token = await refreshAccessToken();
  if (!token) {
    useSession.getState().signOut();
    return;
  }
  try {
    const user = await api.get("/api/v1/auth/me");
    useSession.getState().signIn(token, user, useSession.getState().fallbackRefreshToken);
  } catch {
    useSession.getState().signOut();
  }
}

export async function logout(): Promise<void> {
  try {
    await auth.post("/api/v1/auth/logout", { body: refreshBody(), headers: COOKIE_TRANSPORT });
  } finally {
    // Signed out locally even if the server could not be told: the cookie then just expires.
    useSession.getState().signOut();
  }
}

export const tokenHandlers: TokenHandlers = {
  accessToken: () => useSession.getState().accessToken,
  refresh: refreshAccessToken,
  expired: () => useSession.getState().signOut(),
};
