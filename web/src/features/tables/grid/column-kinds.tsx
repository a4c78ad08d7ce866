import type { Schemas } from "@/lib/api";

import type { Column } from "../api/tables";

export type ColumnKind = Schemas["ColumnKind"];

/**
 * What the grid needs to know about a column kind. `data` columns are plain values typed by the
 * user; computed kinds are not typed into: enrichment and AI columns are run (cost preview, then
 * a job) and formula columns recompute by themselves. Their cells carry a state in the row's
 * `meta` (grid/cell-state.tsx paints it). The add-column forms live in
 * components/computed-column-forms.tsx, keyed by the same kinds.
 */
export interface ColumnKindSpec {
  label: string;
  /** Can a member type into these cells? */
  editable: boolean;
  /** Offered in the add-column dialog (with its own form). */
  addable: boolean;
  /** Can be run on rows (the header's "Run column", the selection's "Run column on N rows"). */
  runnable?: boolean;
  /** One line for the add-column dialog's kind picker. */
  hint?: string;
}

const registry = new Map<ColumnKind, ColumnKindSpec>([
  ["data", { label: "Plain", editable: true, addable: true, hint: "Values you type, paste or import." }],
  ["enrichment", { label: "Enrichment", editable: false, addable: true, runnable: true, hint: "Find data with a waterfall of providers." }],
  ["formula", { label: "Formula", editable: false, addable: true, hint: "Computed from other columns, always up to date." }],
  ["ai", { label: "AI", editable: false, addable: true, runnable: true, hint: "A prompt over each row's columns." }],
  ["http", { label: "HTTP API", editable: false, addable: true, runnable: true, hint: "Call any JSON API once per row." }],
  ["lookup", { label: "Lookup", editable: false, addable: true, hint: "A value from another table, by a matching key." }],
]);

export function registerColumnKind(kind: ColumnKind, spec: ColumnKindSpec) {
  registry.set(kind, spec);
}

/** A kind nobody registered yet (a newer server): shown read-only, never edited as plain data. */
export function kindSpec(column: Column): ColumnKindSpec {
  return registry.get(column.kind) ?? { label: column.kind, editable: false, addable: false };
}

export function addableKinds(): [ColumnKind, ColumnKindSpec][] {
  return [...registry.entries()].filter(([, s]) => s.addable);
}

export const isRunnable = (column: Column) => kindSpec(column).runnable === true;

/** A computed cell's state (`row.meta[column id]`, docs/columns.md): queued, running, done, no_data, error, kept, cancelled, skipped. */
export interface CellState {
  state?: string;
  provider?: string;
  cost?: number;
  cached?: boolean;
  /** why (error, kept, skipped) */
  reason?: string;
  error?: string;
  job_id?: string;
  /** when the state was written (ISO) */
  at?: string;
  raw?: unknown;
  [key: string]: unknown;
}
