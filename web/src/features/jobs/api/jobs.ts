import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type Job = Schemas["EnrichmentJobOut"];
export type JobStatus = Schemas["JobStatus"];

const ACTIVE: ReadonlySet<string> = new Set<JobStatus>(["queued", "running", "cancelling"]);
export const isActive = (job: Job) => ACTIVE.has(job.status);
export const PAGE_SIZE = 20;

export function useJobs(workspaceId: string, page: number) {
  return useQuery({
    queryKey: wsKey(workspaceId, "jobs", page),
    queryFn: () =>
      api.request("get", "/api/v1/workspaces/{workspace_id}/enrichment-jobs", {
        path: { workspace_id: workspaceId },
        query: { page, limit: PAGE_SIZE },
      }),
    placeholderData: keepPreviousData,
    // Live progress while something runs; quiet otherwise.
    refetchInterval: (query) => (query.state.data?.data.some(isActive) ? 2_000 : false),
  });
}

export function useCancelJob(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (jobId: string) =>
      api.post("/api/v1/workspaces/{workspace_id}/enrichment-jobs/{job_id}/cancel", {
        path: { workspace_id: workspaceId, job_id: jobId },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "jobs") }),
    meta: { errorTitle: "Could not cancel the job" },
  });
}
