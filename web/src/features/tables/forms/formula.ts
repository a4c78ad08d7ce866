/**
 * Formula and AI prompt editing: inserting a column reference at the caret (`{Name}` in a
 * formula, `{{Name}}` in a prompt), where a syntax error points, and the formula preview's call.
 * The preview route (`POST .../columns/preview`) is being built in parallel: when the server does
 * not have it (404/405), the form says the preview is not available instead of failing.
 */
import { api, isApiError } from "@/lib/api";

export interface Insertion {
  text: string;
  /** where the caret goes after the insertion */
  caret: number;
}

/** Replace the selection [start, end) of `text` with `snippet`. */
export function insertAt(text: string, start: number, end: number, snippet: string): Insertion {
  const s = Math.max(0, Math.min(start, text.length));
  const e = Math.max(s, Math.min(end, text.length));
  return { text: text.slice(0, s) + snippet + text.slice(e), caret: s + snippet.length };
}

export const formulaRef = (name: string) => `{${name}}`;
export const promptRef = (name: string) => `{{${name}}}`;

/** Column names a prompt refers to with `{{Name}}` (trimmed, unique, in order). */
export function promptRefs(prompt: string): string[] {
  return [...new Set([...prompt.matchAll(/\{\{\s*([^{}]+?)\s*\}\}/g)].map((m) => m[1] as string))];
}

/** Offset (0-based) of a 1-based line and column in `text`; null when the position is unknown. */
export function offsetOf(text: string, line: number | undefined, column: number | undefined): number | null {
  if (!line || !column) return null;
  const lines = text.split("\n");
  if (line > lines.length) return text.length;
  let offset = 0;
  for (let i = 0; i < line - 1; i++) offset += (lines[i] as string).length + 1;
  return Math.min(offset + column - 1, text.length);
}

/** The expression with a caret under the error position (for a monospace block). */
export function pointAt(text: string, offset: number | null): { line: string; marker: string } | null {
  if (offset === null) return null;
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const endAt = text.indexOf("\n", offset);
  const line = text.slice(start, endAt === -1 ? undefined : endAt);
  return { line, marker: `${" ".repeat(Math.max(0, offset - start))}^` };
}

export interface PreviewRow {
  row_id: number;
  value: unknown;
  error: string | null;
}

export type PreviewResult = { status: "ok"; rows: PreviewRow[] } | { status: "unavailable" } | { status: "invalid"; error: unknown };

/** The first `limit` rows of a formula, computed by the server without saving anything. */
export async function previewFormula(workspaceId: string, tableId: string, expression: string, limit = 5, signal?: AbortSignal): Promise<PreviewResult> {
  try {
    const response = await api.raw(`/api/v1/workspaces/${workspaceId}/tables/${tableId}/columns/preview`, {
      method: "POST",
      body: JSON.stringify({ kind: "formula", config: { expression }, limit }),
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      signal,
    });
    const envelope = (await response.json()) as { data?: { rows?: PreviewRow[] } };
    return { status: "ok", rows: envelope.data?.rows ?? [] };
  } catch (error) {
    // A server without the route answers 405 (the path matches `columns/{column_id}`) or the
    // router's own 404; a missing table is a 404 with the table's message, a real error.
    if (isApiError(error) && (error.status === 405 || (error.status === 404 && error.message === "No such resource."))) return { status: "unavailable" };
    if (isApiError(error) && error.status === 422) return { status: "invalid", error };
    throw error;
  }
}
