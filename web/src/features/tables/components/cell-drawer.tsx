import { useQuery } from "@tanstack/react-query";

import { Badge, Skeleton } from "@/components/ui/feedback";
import { IconX } from "@/components/ui/icons";
import { formatDateTime } from "@/lib/format";
import { wsKey } from "@/lib/query";

import { getRow, useCellHistory, type Column } from "../api/tables";
import { STATE_INFO, StateIcon } from "../grid/cell-state";
import { kindSpec, type CellState } from "../grid/column-kinds";
import { formatCell, TypeIcon, typeInfo } from "../grid/column-types";

const SOURCE_LABEL: Record<string, string> = {
  user: "edited",
  bulk: "pasted or bulk edit",
  import: "imported",
  dedupe: "merged duplicates",
  enrichment: "enrichment",
  formula: "formula",
  ai: "AI",
  type_change: "type change",
};

function Value({ column, value }: { column: Column; value: unknown }) {
  if (value === null || value === undefined || value === "") return <span className="text-zinc-400">(empty)</span>;
  if (column.type === "json") return <pre className="max-h-64 overflow-auto whitespace-pre-wrap break-all rounded bg-zinc-50 p-2 font-mono text-xs">{JSON.stringify(value, null, 2)}</pre>;
  if (column.type === "url" && typeof value === "string")
    return (
      <a href={/^https?:\/\//.test(value) ? value : `https://${value}`} target="_blank" rel="noreferrer noopener" className="break-all text-indigo-700 underline">
        {value}
      </a>
    );
  return <span className="whitespace-pre-wrap break-words">{formatCell(column.type, value)}</span>;
}

/** A cell in full: value, state and provenance (from the row's `meta`, for computed columns), history. */
export function CellDrawer({ workspaceId, tableId, rowId, column, onClose }: { workspaceId: string; tableId: string; rowId: number; column: Column; onClose(): void }) {
  const row = useQuery({ queryKey: wsKey(workspaceId, "row", tableId, rowId), queryFn: () => getRow(workspaceId, tableId, rowId) });
  const history = useCellHistory(workspaceId, tableId, rowId, column.id);
  const value = row.data?.cells[column.id];
  const meta = (row.data?.meta?.[column.id] ?? null) as CellState | null;
  const invalid = row.data?.invalid?.[column.id];

  return (
    <aside aria-label="Cell details" className="flex h-full w-full flex-col border-l border-zinc-200 bg-white sm:w-96" data-testid="cell-drawer">
      <div className="flex items-start justify-between gap-2 border-b border-zinc-100 px-4 py-3">
        <div className="min-w-0">
          <p className="flex items-center gap-1.5 text-xs text-zinc-500">
            <TypeIcon type={column.type} /> {typeInfo(column.type).label} · row {rowId}
          </p>
          <h2 className="truncate text-sm font-semibold">{column.name}</h2>
        </div>
        <button type="button" onClick={onClose} aria-label="Close cell details" className="rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100">
          <IconX />
        </button>
      </div>
      <div className="min-h-0 flex-1 space-y-5 overflow-auto px-4 py-4 text-sm">
        <section>
          <h3 className="mb-1.5 text-xs font-medium uppercase tracking-wide text-zinc-500">Value</h3>
          {row.isPending ? <Skeleton className="h-5 w-2/3" /> : <Value column={column} value={value} />}
          {invalid !== undefined && (
            <p className="mt-2 rounded-md bg-red-50 px-2 py-1.5 text-xs text-red-800 ring-1 ring-inset ring-red-200">
              Did not convert to {typeInfo(column.type).label.toLowerCase()}: original text “{String(invalid)}”.
            </p>
          )}
        </section>
        {meta && (
          <section data-testid="cell-state">
            <h3 className="mb-1.5 text-xs font-medium uppercase tracking-wide text-zinc-500">{column.kind === "data" ? "State" : `${kindSpec(column).label} result`}</h3>
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
              {meta.state && (
                <>
                  <dt className="text-zinc-500">State</dt>
                  <dd className="flex items-center gap-1.5">
                    <StateIcon state={meta} />
                    <Badge tone={meta.state === "done" ? "green" : meta.state === "error" ? "red" : meta.state === "kept" || meta.state === "skipped" ? "amber" : "indigo"}>{STATE_INFO[meta.state]?.label ?? meta.state}</Badge>
                  </dd>
                </>
              )}
              {meta.provider && (
                <>
                  <dt className="text-zinc-500">Provider</dt>
                  <dd data-testid="cell-provider">{meta.provider}</dd>
                </>
              )}
              {meta.cost !== undefined && (
                <>
                  <dt className="text-zinc-500">Cost</dt>
                  <dd data-testid="cell-cost">
                    {meta.cost} {meta.cost === 1 ? "credit" : "credits"}
                  </dd>
                </>
              )}
              {meta.cached !== undefined && (
                <>
                  <dt className="text-zinc-500">Cached</dt>
                  <dd>{meta.cached ? "yes (no provider call)" : "no"}</dd>
                </>
              )}
              {meta.at && (
                <>
                  <dt className="text-zinc-500">When</dt>
                  <dd>{formatDateTime(meta.at)}</dd>
                </>
              )}
              {(meta.reason ?? meta.error) && (
                <>
                  <dt className="text-zinc-500">{meta.state === "error" ? "Error" : "Why"}</dt>
                  <dd className={meta.state === "error" ? "text-red-700" : "text-zinc-800"}>{meta.reason ?? meta.error}</dd>
                </>
              )}
            </dl>
            {meta.raw !== undefined ? (
              <details className="mt-2" open>
                <summary className="cursor-pointer text-xs text-zinc-600">Raw response</summary>
                <pre className="mt-1 max-h-64 overflow-auto whitespace-pre-wrap break-all rounded bg-zinc-50 p-2 font-mono text-xs">{JSON.stringify(meta.raw, null, 2)}</pre>
              </details>
            ) : (
              <details className="mt-2">
                <summary className="cursor-pointer text-xs text-zinc-600">Raw state</summary>
                <pre className="mt-1 max-h-64 overflow-auto whitespace-pre-wrap break-all rounded bg-zinc-50 p-2 font-mono text-xs">{JSON.stringify(meta, null, 2)}</pre>
              </details>
            )}
          </section>
        )}
        <section>
          <h3 className="mb-1.5 text-xs font-medium uppercase tracking-wide text-zinc-500">History</h3>
          {history.isPending ? (
            <Skeleton className="h-16 w-full" />
          ) : !history.data?.length ? (
            <p className="text-zinc-500">No changes recorded since the row was created.</p>
          ) : (
            <ol className="space-y-2" data-testid="cell-history">
              {history.data.map((h) => (
                <li key={h.id} className="rounded-md bg-zinc-50 px-2.5 py-2 ring-1 ring-inset ring-zinc-200">
                  <p className="text-xs text-zinc-500">
                    {formatDateTime(h.created_at)} · {SOURCE_LABEL[h.source] ?? h.source}
                  </p>
                  <p className="mt-0.5 break-words">
                    <span className="text-zinc-500 line-through">{formatCell(column.type, h.old_value) || "(empty)"}</span> → <span className="font-medium">{formatCell(column.type, h.new_value) || "(empty)"}</span>
                  </p>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </aside>
  );
}
