import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { saveResponse } from "@/lib/download";
import { wsKey } from "@/lib/query";

export type Granularity = "day" | "week" | "month";
export type AnalyticsRange = { from: string; to: string; granularity: Granularity };
export type EnrichmentReport = Schemas["EnrichmentReport"];
export type CreditReport = Schemas["CreditReport"];
export type JobReport = Schemas["JobReport"];
export type ScrapingReport = Schemas["ScrapingReport"];
export type ReportName = "enrichment" | "credits" | "jobs" | "scraping";

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

export function useScrapingReport(workspaceId: string, range: AnalyticsRange) {
  return useQuery({
    queryKey: wsKey(workspaceId, "analytics", "scraping", range),
    queryFn: () =>
      api.get("/api/v1/workspaces/{workspace_id}/analytics/scraping", {
        path: { workspace_id: workspaceId },
        query: range,
      }),
    placeholderData: keepPreviousData,
  });
}

/** The report's CSV, fetched with the session's bearer token (a plain link would carry none). */
export async function downloadReport(workspaceId: string, report: ReportName, range: AnalyticsRange) {
  const query = new URLSearchParams({ report, from: range.from, to: range.to, granularity: range.granularity });
  const response = await api.raw(`/api/v1/workspaces/${workspaceId}/analytics/export?${query.toString()}`, {
    method: "GET",
    headers: { Accept: "text/csv" },
  });
  await saveResponse(response, `morket-${report}-${range.from}-${range.to}.csv`);
}
