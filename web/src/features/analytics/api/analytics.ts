import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type Granularity = "day" | "week" | "month";
export type AnalyticsRange = { from: string; to: string; granularity: Granularity };
export type EnrichmentReport = Schemas["EnrichmentReport"];
export type CreditReport = Schemas["CreditReport"];
export type JobReport = Schemas["JobReport"];

export function useEnrichmentReport(workspaceId: string, range: AnalyticsRange) {
  return useQuery({
    queryKey: wsKey(workspaceId, "analytics", "enrichment", range),
    queryFn: () =>
      api.get("/api/v1/workspaces/{workspace_id}/analytics/enrichment", {
        path: { workspace_id: workspaceId },
        query: range,
      }),
    placeholderData: keepPreviousData,
  });
}

export function useCreditReport(workspaceId: string, range: AnalyticsRange) {
  return useQuery({
    queryKey: wsKey(workspaceId, "analytics", "credits", range),
    queryFn: () =>
      api.get("/api/v1/workspaces/{workspace_id}/analytics/credits", {
        path: { workspace_id: workspaceId },
        query: range,
      }),
    placeholderData: keepPreviousData,
  });
}

export function useJobReport(workspaceId: string, range: AnalyticsRange) {
  return useQuery({
    queryKey: wsKey(workspaceId, "analytics", "jobs", range),
    queryFn: () =>
      api.get("/api/v1/workspaces/{workspace_id}/analytics/jobs", {
        path: { workspace_id: workspaceId },
        query: range,
      }),
    placeholderData: keepPreviousData,
  });
}
