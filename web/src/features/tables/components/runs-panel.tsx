import { useEffect } from "react";

import { Button } from "@/components/ui/button";
import { Badge, ProgressBar } from "@/components/ui/feedback";
import { IconX } from "@/components/ui/icons";
import { formatNumber } from "@/lib/format";

import { jobIsActive, useCancelRun, useJob } from "../api/runs";
import { runsOf, useRuns, type StartedRun } from "../stores/runs";

const TONE: Record<string, "indigo" | "green" | "amber" | "red" | "neutral"> = {
  queued: "neutral",
  running: "indigo",
  cancelling: "amber",
  completed: "green",
  partially_completed: "amber",
  budget_reached: "amber",
  failed: "red",
  cancelled: "neutral",
};

function RunRow({ workspaceId, run, onFinished }: { workspaceId: string; run: StartedRun; onFinished(): void }) {
  const job = useJob(workspaceId, run.jobId);
  const cancel = useCancelRun(workspaceId);
  const dismiss = useRuns((s) => s.dismiss);
  const data = job.data;
  const active = data ? jobIsActive(data) : true;
  useEffect(() => {
    if (data && !active) onFinished();
  }, [data, active, onFinished]);
  const done = data ? data.counts.completed + data.counts.failed + data.counts.cancelled : 0;
  return (
    <li className="space-y-1.5 px-3 py-2.5" data-testid="run" data-status={data?.status ?? "loading"}>
      <div className="flex items-center gap-2">
        <p className="min-w-0 flex-1 truncate text-sm font-medium">{run.columnName}</p>
        <Badge tone={TONE[data?.status ?? "queued"] ?? "neutral"}>{(data?.status ?? "starting").replace(/_/g, " ")}</Badge>
        {!active && (
          <button type="button" aria-label={`Dismiss the run of ${run.columnName}`} onClick={() => dismiss(run.jobId)} className="rounded p-1 text-zinc-500 hover:bg-zinc-100">
            <IconX className="size-3.5" />
          </button>
        )}
      </div>
      <ProgressBar value={data?.progress ?? 0} label={`Progress of the run of ${run.columnName}`} />
      <div className="flex items-center gap-2 text-xs text-zinc-600">
        <span className="flex-1 tabular-nums">
          {formatNumber(done)} / {formatNumber(data?.counts.total ?? run.rows)} rows · {formatNumber(data?.credits.spent ?? 0)} credits spent
          {data && data.counts.failed > 0 ? ` · ${formatNumber(data.counts.failed)} failed` : ""}
        </span>
        {active && data?.status !== "cancelling" && (
          <Button size="sm" variant="ghost" busy={cancel.isPending} onClick={() => cancel.mutate(run.jobId)}>
            Cancel
          </Button>
        )}
      </div>
    </li>
  );
}

/**
 * The runs started from this table (stores/runs.ts): live progress, counts, credits spent and
 * cancel, in a corner of the grid. The Jobs screen has every job of the workspace.
 */
export function RunsPanel({ workspaceId, tableId, onFinished }: { workspaceId: string; tableId: string; onFinished(): void }) {
  const runs = runsOf(
    useRuns((s) => s.runs),
    tableId,
  );
  if (!runs.length) return null;
  return (
    <section aria-label="Runs" className="absolute bottom-3 left-3 z-30 w-80 max-w-[calc(100%-1.5rem)] overflow-hidden rounded-lg bg-white shadow-lg ring-1 ring-zinc-200" data-testid="runs-panel">
      <h2 className="border-b border-zinc-100 px-3 py-2 text-xs font-medium uppercase tracking-wide text-zinc-500">Runs</h2>
      <ul className="max-h-64 divide-y divide-zinc-100 overflow-auto">
        {runs.map((r) => (
          <RunRow key={r.jobId} workspaceId={workspaceId} run={r} onFinished={onFinished} />
        ))}
      </ul>
    </section>
  );
}
