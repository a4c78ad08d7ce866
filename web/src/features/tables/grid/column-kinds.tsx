import type { Schemas } from "@/lib/api";

import type { Column } from "../api/tables";

export type ColumnKind = Schemas["ColumnKind"];

/**
 * What the grid needs to know about a column kind. `data` columns are plain values typed by the
 * user; computed kinds (enrichment, formula, ai, lookup, http) come with issue 10, which registers
 * them here: their cells are not typed into, they are run, and carry a state in the row's `meta`.
 */
export interface ColumnKindSpec {
  label: string;
  /** Can a member type into these cells? */
  editable: boolean;
  /** Offered in the add-column dialog (with its own form, once the kind has one). */
  addable: boolean;
}

const registry = new Map<ColumnKind, ColumnKindSpec>([["data", { label: "Value", editable: true, addable: true }]]);

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

/** A computed cell's state (`row.meta[column id]`), as issue 10 writes it: queued, running, done, error... */
export interface CellState {
  state?: string;
  provider?: string;
  cost?: number;
  cached?: boolean;
  error?: string;
  [key: string]: unknown;
}
