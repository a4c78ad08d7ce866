import { createApiClient } from "./client";
import type { components } from "./schema";

export { ApiError, isApiError } from "./errors";
export { createApiClient } from "./client";
export { createRefresher } from "./refresh";
export type { ApiClient, ApiResult, DataOf, PageMeta, TokenHandlers } from "./client";
export type { components } from "./schema";

export type Schemas = components["schemas"];

/** The one client of the app; the auth feature installs its token handlers at start-up. */
export const api = createApiClient();

/** A client that never attaches or renews tokens, for the /auth endpoints themselves. */
export function createAuthClient() {
  return createApiClient();
}
