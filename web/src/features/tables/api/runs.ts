/**
 * Running computed columns: the cost preview, the run, the jobs it started (progress, cancel),
 * the provider catalog the enrichment form builds from, and the workspace's balance shown next
 * to a preview. Same query keys as the providers, jobs and billing screens, so their caches agree
 * (tables does not import those features: STYLE.md, features do not reach into each other).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type RunRequest = Schemas["RunRequest"];
export type RunPreview = Schemas["RunPreview"];
export type ColumnRunPreview = Schemas["ColumnPreview"];
export type RunOut = Schemas["RunOut"];
export type Job = Schemas["EnrichmentJobOut"];
export type Provider = Schemas["ProviderOut"];

const T = "/api/v1/workspaces/{workspace_id}/tables/{table_id}" as const;
const ACTIVE = new Set(["queued", "running", "cancelling"]);
export const jobIsActive = (job: Job) => ACTIVE.has(job.status);

export function useProviderCatalog() {
  return useQuery({ queryKey: ["providers"], queryFn: () => api.get("/api/v1/providers"), staleTime: 5 * 60_000 });
}

export function useRunPreview(workspaceId: string, tableId: string, body: RunRequest | null) {
  return useQuery({
    queryKey: wsKey(workspaceId, "run-preview", tableId, body),
    enabled: body !== null,
    queryFn: () => api.post(`${T}/runs/preview`, { path: { workspace_id: workspaceId, table_id: tableId }, body: body as RunRequest }),
    staleTime: 0,
    gcTime: 30_000,
    meta: { silent: true },
  });
}

export function useStartRun(workspaceId: string, tableId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: RunRequest) => api.post(`${T}/runs`, { path: { workspace_id: workspaceId, table_id: tableId }, body }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: wsKey(workspaceId, "jobs") });
      void client.invalidateQueries({ queryKey: wsKey(workspaceId, "billing") });
    },
    meta: { silent: true },
  });
}

/** One job, polled every second and a half while it is queued or running. */
export function useJob(workspaceId: string, jobId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "job", jobId),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/enrichment-jobs/{job_id}", { path: { workspace_id: workspaceId, job_id: jobId } }),
    refetchInterval: (query) => (query.state.data && !jobIsActive(query.state.data) ? false : 1_500),
  });
}

export function useCancelRun(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (jobId: string) =>
      api.post("/api/v1/workspaces/{workspace_id}/enrichment-jobs/{job_id}/cancel", { path: { workspace_id: workspaceId, job_id: jobId } }),
    onSuccess: (_, jobId) => {
      void client.invalidateQueries({ queryKey: wsKey(workspaceId, "job", jobId) });
      void client.invalidateQueries({ queryKey: wsKey(workspaceId, "jobs") });
    },
    meta: { errorTitle: "Could not cancel the run" },
  });
}

export function useBalance(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "billing"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/billing", { path: { workspace_id: workspaceId } }),
  });
}
