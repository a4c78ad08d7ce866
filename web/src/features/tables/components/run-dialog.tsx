import { useId, useMemo, useState } from "react";

import { Button } from "@/components/ui/button";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Badge, Skeleton } from "@/components/ui/feedback";
import { Field, Input } from "@/components/ui/form";
import { isApiError } from "@/lib/api";
import { cn } from "@/lib/cn";
import { formatNumber } from "@/lib/format";

import { useRunPreview, useStartRun, type RunOut } from "../api/runs";
import type { Column } from "../api/tables";
import { availableScopes, insufficientMessage, parseBudget, runRequest, SCOPE_LABEL, type RunContext, type RunScope } from "../forms/run";
import { ColumnSelect } from "./computed-column-forms";

const credits = (n: number) => `${formatNumber(Math.round(n * 10) / 10)} ${n === 1 ? "credit" : "credits"}`;

/**
 * Run a column: which rows (all, empty cells, the selection, the current filter), an optional
 * budget, and always the cost preview first (rows, calls per provider, expected credits and
 * cache hits, the worst case, the balance). Confirming starts the run; a 402 says what the run
 * needs and what the workspace has.
 */
export function RunDialog({
  workspaceId,
  tableId,
  columns,
  columnId: initialColumn,
  scope: initialScope,
  context,
  onClose,
  onStarted,
}: {
  workspaceId: string;
  tableId: string;
  /** the runnable columns */
  columns: Column[];
  columnId: string;
  scope: RunScope;
  context: RunContext;
  onClose(): void;
  onStarted(result: RunOut, column: Column): void;
}) {
  const [columnId, setColumnId] = useState(initialColumn);
  const scopes = availableScopes(context);
  const [scope, setScope] = useState<RunScope>(scopes.includes(initialScope) ? initialScope : "all");
  const [budgetText, setBudgetText] = useState("");
  const { budget, error: budgetError } = parseBudget(budgetText);
  const column = columns.find((c) => c.id === columnId);
  const body = useMemo(() => (budgetError ? null : runRequest([columnId], scope, context, budget)), [columnId, scope, context, budget, budgetError]);
  const preview = useRunPreview(workspaceId, tableId, body);
  const start = useStartRun(workspaceId, tableId);
  const scopeName = useId();
  const p = preview.data;
  const col = p?.columns[0];
  const startError = start.error;
  const rows = col?.rows ?? 0;

  return (
    <Dialog open onClose={onClose} title={`Run “${column?.name ?? "column"}”`} size="lg" description="See what it costs first. Credits are reserved when the run starts and only found values are paid.">
      <div className="space-y-4">
        {columns.length > 1 && (
          <ColumnSelect label="Column" value={columnId} columns={columns} onChange={setColumnId} />
        )}
        <fieldset className="space-y-1.5">
          <legend className="text-sm font-medium text-zinc-800">Rows</legend>
          {(["all", "empty", "selected", "filter"] as RunScope[]).map((s) => (
            <label key={s} className={cn("flex items-center gap-2 text-sm", scopes.includes(s) ? "text-zinc-700" : "text-zinc-500")}>
              <input type="radio" name={scopeName} value={s} checked={scope === s} disabled={!scopes.includes(s)} onChange={() => setScope(s)} className="size-4 accent-indigo-600" />
              {SCOPE_LABEL[s]}
              {s === "selected" && context.selectedIds.length > 0 && <span className="text-zinc-500">({formatNumber(context.selectedIds.length)})</span>}
              {s === "selected" && !context.selectedIds.length && <span className="text-xs">(select rows in the grid first)</span>}
              {s === "filter" && !context.filter?.conditions?.length && <span className="text-xs">(no filter on the grid)</span>}
            </label>
          ))}
        </fieldset>
        <Field label="Budget (optional)" hint="The run stops before spending more than this many credits." error={budgetError ?? undefined}>
          {({ id, describedBy, invalid }) => <Input id={id} inputMode="numeric" className="w-40" value={budgetText} onChange={(e) => setBudgetText(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid} placeholder="No limit" />}
        </Field>

        <section aria-label="Cost preview" aria-live="polite" aria-busy={preview.isFetching} className="rounded-lg bg-zinc-50 p-3 ring-1 ring-inset ring-zinc-200" data-testid="run-preview">
          {preview.isPending ? (
            <div className="space-y-2" role="status" aria-label="Computing the cost">
              <Skeleton className="h-4 w-1/2" />
              <Skeleton className="h-12 w-full" />
            </div>
          ) : preview.isError ? (
            <p className="text-sm text-red-700" role="alert">
              {preview.error instanceof Error ? preview.error.message : "The cost preview failed."}
            </p>
          ) : p && col ? (
            <div className="space-y-3 text-sm">
              <dl className="grid grid-cols-2 gap-x-4 gap-y-1 sm:grid-cols-3">
                <div>
                  <dt className="text-xs text-zinc-500">Rows to run</dt>
                  <dd className="text-base font-semibold tabular-nums" data-testid="preview-rows">
                    {formatNumber(col.rows)}
                  </dd>
                </div>
                <div>
                  <dt className="text-xs text-zinc-500">Expected cost</dt>
                  <dd className="text-base font-semibold tabular-nums" data-testid="preview-expected">
                    {credits(col.expected)}
                  </dd>
                </div>
                <div>
                  <dt className="text-xs text-zinc-500">At most</dt>
                  <dd className="tabular-nums" data-testid="preview-worst">
                    {credits(budget !== null ? Math.min(budget, col.worst_case) : col.worst_case)}
                  </dd>
                </div>
                <div>
                  <dt className="text-xs text-zinc-500">Expected cache hits</dt>
                  <dd className="tabular-nums">{formatNumber(Math.round(col.expected_cache_hits))}</dd>
                </div>
                <div>
                  <dt className="text-xs text-zinc-500">Missing inputs (skipped)</dt>
                  <dd className="tabular-nums">{formatNumber(col.rows_missing_inputs)}</dd>
                </div>
                <div>
                  <dt className="text-xs text-zinc-500">Available balance</dt>
                  <dd className="tabular-nums" data-testid="preview-available">
                    {credits(p.available)}
                  </dd>
                </div>
              </dl>
              {col.calls.length > 0 && (
                <table className="w-full text-left text-xs">
                  <caption className="sr-only">Calls per provider</caption>
                  <thead className="text-zinc-500">
                    <tr>
                      <th className="py-1 font-medium">Provider</th>
                      <th className="py-1 font-medium">Field</th>
                      <th className="py-1 text-right font-medium">Expected calls</th>
                      <th className="py-1 text-right font-medium">At most</th>
                      <th className="py-1 text-right font-medium">Hit rate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {col.calls.map((c) => (
                      <tr key={`${c.provider}:${c.field}`} className="border-t border-zinc-200">
                        <td className="py-1 font-medium">{c.provider}</td>
                        <td className="py-1">{c.field}</td>
                        <td className="py-1 text-right tabular-nums">{formatNumber(Math.round(c.calls_expected))}</td>
                        <td className="py-1 text-right tabular-nums">{formatNumber(c.calls_worst)}</td>
                        <td className="py-1 text-right tabular-nums">{c.hit_rate === null ? "no history" : `${Math.round(c.hit_rate * 100)}%`}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {!p.affordable && (
                <p className="flex items-start gap-2 text-sm text-red-700" role="alert">
                  <Badge tone="red">Not enough credits</Badge>
                  The worst case is {credits(budget !== null ? Math.min(budget, p.worst_case) : p.worst_case)} and {credits(p.available)} are available: add credits in Billing or set a budget.
                </p>
              )}
              {rows === 0 && <p className="text-sm text-zinc-600">No row needs this run: every row is filled, filtered out by the column’s condition, or lacks inputs.</p>}
            </div>
          ) : null}
        </section>

        {startError !== null && (
          <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200" role="alert" data-testid="run-error">
            {isApiError(startError) && startError.status === 402 ? insufficientMessage(startError.details) : startError instanceof Error ? startError.message : "The run could not start."}
            {isApiError(startError) && startError.requestId && <span className="block text-xs text-red-800">Request {startError.requestId}</span>}
          </p>
        )}
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            busy={start.isPending}
            disabled={!p || !col || preview.isFetching || rows === 0 || !p.affordable || body === null}
            onClick={() => {
              if (!body || !column) return;
              start.mutate(body, { onSuccess: (result) => onStarted(result, column) });
            }}
          >
            {rows ? `Run on ${formatNumber(rows)} ${rows === 1 ? "row" : "rows"}` : "Run"}
          </Button>
        </DialogActions>
      </div>
    </Dialog>
  );
}
