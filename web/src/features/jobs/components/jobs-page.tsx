import { useState } from "react";

import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/card";
import { Badge, EmptyState, ProgressBar, SkeletonRows } from "@/components/ui/feedback";
import { IconJobs } from "@/components/ui/icons";
import { Pager } from "@/components/ui/pager";
import { formatDateTime, formatNumber, formatPercent } from "@/lib/format";
import { useWorkspaceId, useWorkspaceRole } from "@/lib/workspace";

import { isActive, PAGE_SIZE, useCancelJob, useJobs, type Job, type JobStatus } from "../api/jobs";

const STATUS: Record<JobStatus, { label: string; tone: "neutral" | "indigo" | "green" | "amber" | "red" | "blue" }> = {
  queued: { label: "Queued", tone: "neutral" },
  running: { label: "Running", tone: "blue" },
  cancelling: { label: "Cancelling", tone: "amber" },
  completed: { label: "Completed", tone: "green" },
  partially_completed: { label: "Partly completed", tone: "amber" },
  failed: { label: "Failed", tone: "red" },
  cancelled: { label: "Cancelled", tone: "neutral" },
  budget_reached: { label: "Budget reached", tone: "amber" },
};

function JobRow({ job, canCancel }: { job: Job; canCancel: boolean }) {
  const cancel = useCancelJob(job.workspace_id);
  const status = STATUS[job.status as JobStatus] ?? { label: job.status, tone: "neutral" as const };
  const label = (job.options as { label?: string | null }).label || job.fields.join(", ");
  const c = job.counts;
  return (
    <li className="grid grid-cols-1 gap-3 px-4 py-4 md:grid-cols-[minmax(0,2fr)_minmax(0,2fr)_minmax(0,1fr)_auto] md:items-center">
      <div className="min-w-0">
        <div className="flex items-center gap-2">
          <p className="truncate font-medium text-zinc-900">{label}</p>
          <Badge tone={status.tone}>{status.label}</Badge>
        </div>
        <p className="mt-0.5 text-xs text-zinc-500">
          Started {formatDateTime(job.started_at ?? job.created_at)} · {formatNumber(job.record_count)} records
        </p>
      </div>
      <div className="min-w-0 space-y-1.5">
        <div className="flex justify-between text-xs text-zinc-600">
          <span>
            <span className="text-emerald-700">{formatNumber(c.completed)} done</span>
            {c.failed > 0 && <span className="text-red-700"> · {formatNumber(c.failed)} failed</span>}
            {c.cancelled > 0 && <span> · {formatNumber(c.cancelled)} cancelled</span>}
            {c.pending > 0 && <span> · {formatNumber(c.pending)} to go</span>}
          </span>
          <span className="tabular-nums">{formatPercent(job.progress)}</span>
        </div>
        <ProgressBar value={job.progress} label={`Progress of ${label}`} />
      </div>
      <div className="text-xs text-zinc-600 md:text-right">
        <p className="font-medium tabular-nums text-zinc-900">{formatNumber(job.credits.spent)} credits</p>
        <p>of {formatNumber(job.credits.estimated)} estimated</p>
      </div>
      <div className="md:w-20 md:text-right">
        {isActive(job) && canCancel && job.status !== "cancelling" && (
          <Button size="sm" variant="danger" busy={cancel.isPending} onClick={() => cancel.mutate(job.id)} aria-label={`Cancel job ${label}`}>
            Cancel
          </Button>
        )}
      </div>
    </li>
  );
}

export function JobsPage() {
  const workspaceId = useWorkspaceId();
  const { atLeast } = useWorkspaceRole();
  const [page, setPage] = useState(1);
  const jobs = useJobs(workspaceId, page);
  const items = jobs.data?.data ?? [];

  return (
    <>
      <PageHeader title="Jobs" description="Enrichment runs in this workspace: progress, outcomes and the credits each one spent. Running jobs update live." />
      <Card>
        {jobs.isPending ? (
          <SkeletonRows rows={4} label="Loading jobs" />
        ) : items.length === 0 ? (
          <EmptyState icon={<IconJobs />} title="No enrichment jobs yet">
            Jobs appear here when you run an enrichment column on a table or start one through the API. Each job shows its progress
            and the credits it used, and you can cancel it while it runs.
          </EmptyState>
        ) : (
          <>
            <ul className="divide-y divide-zinc-100" aria-label="Enrichment jobs">
              {items.map((job) => (
                <JobRow key={job.id} job={job} canCancel={atLeast("member")} />
              ))}
            </ul>
            {jobs.data?.meta && <Pager label="Jobs pages" page={page} limit={PAGE_SIZE} total={jobs.data.meta.total} onPage={setPage} />}
          </>
        )}
      </Card>
    </>
  );
}
