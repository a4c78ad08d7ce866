import type { CustomCellRendererProps } from "ag-grid-react";

import { cn } from "@/lib/cn";

import type { Column, Row } from "../api/tables";
import type { CellState } from "./column-kinds";
import { formatCell } from "./column-types";

/** How each state of a computed cell reads: an icon, a word, a colour (docs/columns.md lists the states). */
export const STATE_INFO: Record<string, { label: string; tone: string; path: string; spin?: boolean }> = {
  queued: { label: "Queued", tone: "text-zinc-400", path: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2" },
  running: { label: "Running", tone: "text-indigo-500", path: "M12 3a9 9 0 1 0 9 9", spin: true },
  done: { label: "Found", tone: "text-emerald-600", path: "M5 12l5 5L20 7" },
  no_data: { label: "No data", tone: "text-zinc-400", path: "M5 12h14" },
  error: { label: "Error", tone: "text-red-600", path: "M12 8v5M12 16.5h.01M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z" },
  kept: { label: "Kept the existing value", tone: "text-amber-600", path: "M12 17V7M8 11l4-4 4 4" },
  cancelled: { label: "Cancelled", tone: "text-zinc-400", path: "M6 6l12 12M18 6 6 18" },
  skipped: { label: "Skipped (budget reached)", tone: "text-amber-600", path: "M5 5l7 7-7 7M13 5l7 7-7 7" },
};

export function stateOf(row: Row | undefined, columnId: string): CellState | null {
  const meta = row?.meta?.[columnId];
  return meta && typeof meta === "object" ? (meta as CellState) : null;
}

/** The state's word and, when there is one, why: what the tooltip and screen readers say. */
export function stateText(state: CellState): string {
  const info = STATE_INFO[state.state ?? ""];
  const label = info?.label ?? state.state ?? "";
  const why = state.reason ?? state.error;
  const from = state.state === "done" && state.provider ? ` by ${state.provider}${state.cached ? " (cached)" : ""}` : "";
  return `${label}${from}${why ? `: ${why}` : ""}`;
}

export function StateIcon({ state, className }: { state: CellState; className?: string }) {
  const info = STATE_INFO[state.state ?? ""];
  if (!info) return null;
  const text = stateText(state);
  return (
    <span role="img" aria-label={text} title={text} className={cn("inline-flex shrink-0", info.tone, className)} data-state={state.state}>
      <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" className={cn("size-3.5", info.spin && "motion-safe:animate-spin")}>
        <path d={info.path} />
      </svg>
    </span>
  );
}

/**
 * A computed column's cell: the value, and the state icon when the cell has a state (a tooltip
 * carries the reason of an error). A cell that is done shows only its value once it has one:
 * a column of green ticks is noise.
 */
export function ComputedCell(props: CustomCellRendererProps<Row> & { tableColumn: Column }) {
  const { tableColumn, data } = props;
  const state = stateOf(data, tableColumn.id);
  const value = data?.cells[tableColumn.id];
  const text = tableColumn.type === "json" ? (value === null || value === undefined ? "" : JSON.stringify(value)) : formatCell(tableColumn.type, value);
  const showIcon = state && !(state.state === "done" && text);
  return (
    <span className="flex h-full min-w-0 items-center gap-1.5" data-testid="computed-cell" data-state={state?.state ?? ""}>
      {showIcon && <StateIcon state={state} />}
      <span className="min-w-0 truncate">{text}</span>
    </span>
  );
}
