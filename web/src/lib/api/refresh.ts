import { isApiError } from "./errors";

/**
 * Renewing the access token, shared by every caller. Refresh tokens rotate, so concurrent callers
 * (a page's first requests, two 401s at once) must share one `/auth/refresh`; and a 429 from it
 * means "not now", not "your session is over": the server's `Retry-After` is waited out and the
 * refresh tried again, for at most `maxWaitMs` in all. Anything else that fails (401: the token
 * is invalid, revoked or reused) ends the session: the result is null.
 */
export interface RefresherOptions {
  /** One `/auth/refresh`: the new access token, or an ApiError. */
  renew(): Promise<string>;
  /** Waits (tests pass a fake clock). */
  sleep?(ms: number): Promise<void>;
  /** The most this refresh waits for rate limits, all retries together (default 2 minutes). */
  maxWaitMs?: number;
}

/** A 429 without Retry-After: wait a second, then longer each time. */
const DEFAULT_WAIT_MS = 1000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createRefresher({ renew, sleep = realSleep, maxWaitMs = 120_000 }: RefresherOptions): () => Promise<string | null> {
  let inflight: Promise<string | null> | null = null;

  async function attempt(): Promise<string | null> {
    let waited = 0;
    for (let tries = 1; ; tries += 1) {
      try {
        return await renew();
      } catch (error) {
        if (!isApiError(error) || error.status !== 429) return null;
        const wait = Math.max(error.retryAfter !== null ? error.retryAfter * 1000 : DEFAULT_WAIT_MS * tries, 100);
        if (waited + wait > maxWaitMs) return null;
        waited += wait;
        await sleep(wait);
      }
    }
  }

  return () => {
    inflight ??= attempt().finally(() => {
      inflight = null;
    });
    return inflight;
  };
}
