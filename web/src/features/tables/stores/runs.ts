import { create } from "zustand";

/**
 * The runs started from a table's page in this tab, newest first, for the runs panel (progress,
 * counts, credits, cancel). Only job ids: the jobs themselves are server state (TanStack Query).
 * Not persisted; the Jobs screen lists every job of the workspace.
 */
export interface StartedRun {
  jobId: string;
  tableId: string;
  columnName: string;
  rows: number;
}

interface RunsState {
  runs: StartedRun[];
  add(runs: StartedRun[]): void;
  dismiss(jobId: string): void;
}

const MAX_RUNS = 8;

export const useRuns = create<RunsState>()((set) => ({
  runs: [],
  add: (runs) =>
    set((s) => {
      const ids = new Set(runs.map((r) => r.jobId));
      return { runs: [...runs, ...s.runs.filter((r) => !ids.has(r.jobId))].slice(0, MAX_RUNS) };
    }),
  dismiss: (jobId) => set((s) => ({ runs: s.runs.filter((r) => r.jobId !== jobId) })),
}));

export const runsOf = (runs: StartedRun[], tableId: string) => runs.filter((r) => r.tableId === tableId);
