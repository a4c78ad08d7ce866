import { useState } from "react";
import { Link } from "react-router-dom";

import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm";
import { Badge, ProgressBar } from "@/components/ui/feedback";
import { IconTrash } from "@/components/ui/icons";
import { formatDateTime, formatNumber } from "@/lib/format";
import { toastSuccess } from "@/stores/toasts";

import { useCancelRun, useDeleteExport, useStartRun, type CrmExport, type ExportRun } from "../api/crm";
import { CRM_LABEL, isActive, objectOf, runProgress } from "../mapping";

const TONE = { queued: "blue", running: "indigo", completed: "green", cancelled: "neutral", failed: "red" } as const;

function RunSummary({ run }: { run: ExportRun }) {
  const active = isActive(run.status);
  const done = run.pushed_count + run.failed_count + run.skipped_count;
  return (
    <div className="mt-2 space-y-1.5" data-testid="export-run" data-status={run.status}>
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-zinc-600">
        <Badge tone={TONE[run.status]}>{run.cancel_requested_at && active ? "cancelling" : run.status}</Badge>
        <span data-testid="run-counts">
          {formatNumber(done)} of {formatNumber(run.row_count)} rows · {formatNumber(run.created_count)} created · {formatNumber(run.updated_count)} updated
          {run.skipped_count > 0 && <> · {formatNumber(run.skipped_count)} unchanged</>}
          {run.failed_count > 0 && <span className="text-red-700"> · {formatNumber(run.failed_count)} failed</span>}
        </span>
        <span className="text-zinc-500">{formatDateTime(run.finished_at ?? run.started_at ?? run.created_at)}</span>
      </div>
      {active && <ProgressBar value={runProgress(run)} label="Export progress" />}
      {run.error && <p className="text-xs text-red-700">{run.error}</p>}
    </div>
  );
}

interface ExportsListProps {
  workspaceId: string;
  exports: CrmExport[];
  canRun: boolean;
  /** names of the tables, to show on the CRM page (not inside a table) */
  tableNames?: Map<string, string>;
  columnNames?: Map<string, string>;
}

/** Exports with their last run: Run now, progress while it runs, Cancel, Delete. */
export function ExportsList({ workspaceId, exports, canRun, tableNames, columnNames }: ExportsListProps) {
  const start = useStartRun(workspaceId);
  const cancel = useCancelRun(workspaceId);
  const remove = useDeleteExport(workspaceId);
  const [deleting, setDeleting] = useState<CrmExport | null>(null);

  return (
    <>
      <ul className="divide-y divide-zinc-100" aria-label="CRM exports">
        {exports.map((e) => {
          const run = e.last_run ?? null;
          const active = isActive(run?.status);
          const objectLabel = objectOf(e.crm, e.object_type)?.label ?? e.object_type;
          const title = `${CRM_LABEL[e.crm]} ${objectLabel}`;
          const mapped = e.mapping.map((m) => `${columnNames?.get(m.column_id) ?? "column"} → ${m.property}`).join(", ");
          return (
            <li key={e.id} className="px-4 py-3" data-testid="crm-export" aria-label={`${title} export`}>
              <div className="flex flex-wrap items-start gap-x-4 gap-y-2">
                <div className="min-w-0 flex-1">
                  <p className="font-medium text-zinc-900">
                    {title}
                    {tableNames && (
                      <span className="font-normal text-zinc-500">
                        {" "}
                        from{" "}
                        <Link className="text-indigo-700 hover:underline" to={`/w/${workspaceId}/tables/${e.table_id}`}>
                          {tableNames.get(e.table_id) ?? "a table"}
                        </Link>
                      </span>
                    )}
                  </p>
                  <p className="mt-0.5 text-xs text-zinc-500">
                    Matched on <code className="font-mono text-zinc-700">{e.key_property}</code> · {e.mapping.length} {e.mapping.length === 1 ? "column" : "columns"}
                    {columnNames && <span className="hidden sm:inline">: {mapped}</span>}
                  </p>
                </div>
                {canRun && (
                  <div className="flex shrink-0 items-center gap-1.5">
                    {active && run ? (
                      <Button size="sm" onClick={() => cancel.mutate(run.id)} busy={cancel.isPending && cancel.variables === run.id} disabled={Boolean(run.cancel_requested_at)}>
                        Cancel
                      </Button>
                    ) : (
                      <Button
                        size="sm"
                        variant="primary"
                        busy={start.isPending && start.variables.exportId === e.id}
                        onClick={() =>
                          start.mutate(
                            { exportId: e.id },
                            { onSuccess: (r) => r.row_count === 0 && toastSuccess("Nothing to push", "The table has no rows.") },
                          )
                        }
                      >
                        Run now
                      </Button>
                    )}
                    <Button size="sm" variant="ghost" aria-label={`Delete the ${title} export`} disabled={active} onClick={() => setDeleting(e)}>
                      <IconTrash />
                    </Button>
                  </div>
                )}
              </div>
              {run ? <RunSummary run={run} /> : <p className="mt-2 text-xs text-zinc-500">Not run yet.</p>}
            </li>
          );
        })}
      </ul>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this export?"
        confirmLabel="Delete export"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() =>
          deleting &&
          remove.mutate(deleting.id, {
            onSuccess: () => {
              toastSuccess("Export deleted");
              setDeleting(null);
            },
          })
        }
      >
        The mapping and its run history go; the result columns stay in the table, and the CRM keeps its records.
      </ConfirmDialog>
    </>
  );
}
