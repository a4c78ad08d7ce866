import { create } from "zustand";

/** One cell as the user changed it. */
export interface CellChange {
  rowId: number;
  columnId: string;
  before: unknown;
  after: unknown;
}

interface EditHistory {
  /** Each entry is one user action (a typed cell, a paste, a fill down): undone as a whole. */
  undo: CellChange[][];
  redo: CellChange[][];
  tableId: string | null;
  record(tableId: string, changes: CellChange[]): void;
  /** The changes to apply to undo the last action (their `before` values), moved to the redo stack. */
  takeUndo(): CellChange[] | null;
  takeRedo(): CellChange[] | null;
  reset(tableId: string | null): void;
}

const LIMIT = 100;

/** Undo/redo of the user's own edits in the open table; other people's edits are never undone. */
export const useEditHistory = create<EditHistory>()((set, get) => ({
  undo: [],
  redo: [],
  tableId: null,
  record: (tableId, changes) => {
    if (!changes.length) return;
    set((s) => (s.tableId === tableId ? { undo: [...s.undo, changes].slice(-LIMIT), redo: [] } : { tableId, undo: [changes], redo: [] }));
  },
  takeUndo: () => {
    const { undo, redo } = get();
    const last = undo[undo.length - 1];
    if (!last) return null;
    set({ undo: undo.slice(0, -1), redo: [...redo, last] });
    return last.map((c) => ({ ...c, before: c.after, after: c.before }));
  },
  takeRedo: () => {
    const { undo, redo } = get();
    const last = redo[redo.length - 1];
    if (!last) return null;
    set({ redo: redo.slice(0, -1), undo: [...undo, last] });
    return last;
  },
  reset: (tableId) => set({ undo: [], redo: [], tableId }),
}));
