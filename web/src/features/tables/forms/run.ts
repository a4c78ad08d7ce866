/**
 * Which rows a run covers, as the runs API's body: every row, the empty cells only, the selected
 * rows, or the rows of the grid's current view (its filter tree and search are the rows API's;
 * the runs API takes the filter tree, so a view narrowed only by a search cannot be run as such).
 */
import type { FilterGroup } from "../api/tables";
import type { RunRequest } from "../api/runs";

export type RunScope = "all" | "empty" | "selected" | "filter";

export const SCOPE_LABEL: Record<RunScope, string> = {
  all: "All rows",
  empty: "Empty cells only",
  selected: "Selected rows",
  filter: "Rows matching the current filter",
};

export interface RunContext {
  selectedIds: number[];
  filter: FilterGroup | null;
}

/** Scopes that make sense now (no selection: no "selected rows"; no filter: no "matching"). */
export function availableScopes(ctx: RunContext): RunScope[] {
  const out: RunScope[] = ["all", "empty"];
  if (ctx.selectedIds.length) out.push("selected");
  if (ctx.filter?.conditions?.length) out.push("filter");
  return out;
}

/** A budget typed by the user: a whole number of credits >= 1, "" for none, or an error message. */
export function parseBudget(text: string): { budget: number | null; error: string | null } {
  const t = text.trim();
  if (!t) return { budget: null, error: null };
  if (!/^\d+$/.test(t)) return { budget: null, error: "A whole number of credits." };
  const n = Number(t);
  if (n < 1 || n > 1_000_000_000) return { budget: null, error: "Between 1 and 1,000,000,000 credits." };
  return { budget: n, error: null };
}

export function runRequest(columnIds: string[], scope: RunScope, ctx: RunContext, budget: number | null): RunRequest {
  const body: RunRequest = { column_ids: columnIds, only_empty: scope === "empty" };
  if (scope === "selected") body.row_ids = ctx.selectedIds.slice(0, 50_000);
  if (scope === "filter" && ctx.filter?.conditions?.length) body.filter = ctx.filter;
  if (budget !== null) body.budget = budget;
  return body;
}

/** The 402's details as a sentence: what the run needs, what the workspace has. */
export function insufficientMessage(details: unknown): string {
  const d = (details ?? {}) as { estimated?: number; available?: number; budget?: number | null };
  const parts: string[] = [];
  if (typeof d.estimated === "number") parts.push(`this run reserves up to ${d.estimated.toLocaleString("en-US")} credits`);
  if (typeof d.available === "number") parts.push(`the workspace has ${d.available.toLocaleString("en-US")} available`);
  return parts.length ? `Not enough credits: ${parts.join(", ")}. Add credits in Billing, set a budget, or run fewer rows.` : "Not enough credits for this run. Add credits in Billing, set a budget, or run fewer rows.";
}
