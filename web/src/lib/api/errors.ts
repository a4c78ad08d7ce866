/** An API failure as the UI shows it: the envelope's code and message, plus the request id for support. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | null;
  /** A 429's or 503's `Retry-After`, in seconds (null when the server sent none). */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: unknown, requestId: string | null, retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }

  /** Field-level messages of a 422, keyed by the last part of the field path ("body.email" -> "email"). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (!Array.isArray(this.details)) return out;
    for (const item of this.details as unknown[]) {
      if (item && typeof item === "object" && "field" in item && "message" in item) {
        const field = String((item as { field: unknown }).field).split(".").pop() ?? "";
        out[field] = String((item as { message: unknown }).message);
      }
    }
    return out;
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
}
