/**
 * The lookup column form's rules (kind `lookup`, docs/columns.md "Lookup columns"): another table
 * of the workspace, the key column here and there, the column whose value comes back, first
 * value or a list, only-if. The column's type follows: the returned column's type for `first`,
 * JSON for a list. Problems are keyed by the API's 422 paths.
 */
import type { Column, ColumnType, FilterGroup } from "../api/tables";

export type LookupMode = "first" | "list";

export interface LookupDraft {
  tableId: string;
  matchColumnId: string;
  targetColumnId: string;
  returnColumnId: string;
  mode: LookupMode;
  limit: string;
  onlyIf: FilterGroup | null;
}

export function emptyLookupDraft(): LookupDraft {
  return { tableId: "", matchColumnId: "", targetColumnId: "", returnColumnId: "", mode: "first", limit: "10", onlyIf: null };
}

/** This table's columns a lookup may match on: not formulas or other lookups (no chains), never the column itself. */
export function matchableColumns(columns: Column[]): Column[] {
  return columns.filter((c) => c.kind !== "formula" && c.kind !== "lookup");
}

export function validateLookup(draft: LookupDraft): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!draft.tableId) errors["config.table_id"] = "Pick the table to look in.";
  if (!draft.matchColumnId) errors["config.match.column_id"] = "Pick the column of this table to match.";
  if (draft.tableId && !draft.targetColumnId) errors["config.match.target_column_id"] = "Pick the column it matches in the other table.";
  if (draft.tableId && !draft.returnColumnId) errors["config.return_column_id"] = "Pick the column whose value comes back.";
  const limit = Number(draft.limit);
  if (draft.mode === "list" && (!Number.isInteger(limit) || limit < 1 || limit > 100)) errors["config.limit"] = "A whole number from 1 to 100.";
  return errors;
}

/** The lookup column's type: the returned column's for one value (same type, no conversion), JSON for a list. */
export function lookupColumnType(draft: LookupDraft, otherColumns: Column[]): ColumnType {
  if (draft.mode === "list") return "json";
  return otherColumns.find((c) => c.id === draft.returnColumnId)?.type ?? "text";
}

export function lookupConfig(draft: LookupDraft): Record<string, unknown> {
  const config: Record<string, unknown> = {
    table_id: draft.tableId,
    match: { column_id: draft.matchColumnId, target_column_id: draft.targetColumnId },
    return_column_id: draft.returnColumnId,
    mode: draft.mode,
  };
  if (draft.mode === "list") config.limit = Number(draft.limit);
  if (draft.onlyIf?.conditions?.length) config.only_if = draft.onlyIf;
  return config;
}

export function lookupDraftOf(config: Record<string, unknown>): LookupDraft {
  const match = (config.match ?? {}) as { column_id?: string; target_column_id?: string };
  return {
    tableId: typeof config.table_id === "string" ? config.table_id : "",
    matchColumnId: match.column_id ?? "",
    targetColumnId: match.target_column_id ?? "",
    returnColumnId: typeof config.return_column_id === "string" ? config.return_column_id : "",
    mode: config.mode === "list" ? "list" : "first",
    limit: String(config.limit ?? 10),
    onlyIf: (config.only_if as FilterGroup | undefined) ?? null,
  };
}

/** Another table picked: its columns are not known yet, so what named the old table's columns goes. */
export function pickTable(draft: LookupDraft, tableId: string): LookupDraft {
  return { ...draft, tableId, targetColumnId: "", returnColumnId: "" };
}

/**
 * Once the other table's columns are known and its key is not chosen: the key guessed by name
 * (this table's chosen key, or else the first column name both tables share). Unchanged when
 * nothing matches or the key is already chosen.
 */
export function guessMatch(draft: LookupDraft, mine: Column[], theirs: Column[]): LookupDraft {
  if (!draft.tableId || draft.targetColumnId || !theirs.length) return draft;
  const byName = (name: string) => theirs.find((c) => c.name.trim().toLowerCase() === name.trim().toLowerCase());
  const here = mine.find((c) => c.id === draft.matchColumnId);
  if (here) {
    const twin = byName(here.name);
    return twin ? { ...draft, targetColumnId: twin.id } : draft;
  }
  for (const c of matchableColumns(mine)) {
    const twin = byName(c.name);
    if (twin) return { ...draft, matchColumnId: c.id, targetColumnId: twin.id };
  }
  return draft;
}
