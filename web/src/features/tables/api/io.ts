import { useMutation, useQuery } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

import type { RowView } from "./tables";

export type ImportOut = Schemas["ImportOut"];
export type ColumnMapping = Schemas["ColumnMapping"];

const I = "/api/v1/workspaces/{workspace_id}/imports/{import_id}" as const;

/** The upload is the file's raw bytes (not multipart): the API streams it to storage as it arrives. */
export async function uploadImport(workspaceId: string, file: File): Promise<ImportOut> {
  const response = await api.raw(`/api/v1/workspaces/${workspaceId}/imports?filename=${encodeURIComponent(file.name)}`, {
    method: "POST",
    body: file,
    headers: { "Content-Type": file.name.toLowerCase().endsWith(".csv") || file.type.startsWith("text/") ? "text/csv" : "application/octet-stream", Accept: "application/json" },
  });
  const body = (await response.json()) as { data: ImportOut };
  return body.data;
}

export function repreview(workspaceId: string, importId: string, options: Schemas["PreviewOptions"]) {
  return api.post(`${I}/preview`, { path: { workspace_id: workspaceId, import_id: importId }, body: options });
}

export function commitImport(workspaceId: string, importId: string, body: Schemas["ImportCommit"]) {
  return api.post(`${I}/commit`, { path: { workspace_id: workspaceId, import_id: importId }, body });
}

export function useImport(workspaceId: string, importId: string | null) {
  return useQuery({
    queryKey: wsKey(workspaceId, "import", importId),
    enabled: importId !== null,
    queryFn: () => api.get(I, { path: { workspace_id: workspaceId, import_id: importId ?? "" } }),
    refetchInterval: (q) => (q.state.data && (q.state.data.status === "queued" || q.state.data.status === "running") ? 700 : false),
  });
}

/** The shared download helper (a Blob URL, then a click). */
import { saveResponse } from "@/lib/download";

export { saveResponse };

export async function downloadRejects(workspaceId: string, importId: string) {
  const response = await api.raw(`/api/v1/workspaces/${workspaceId}/imports/${importId}/rejects.csv`, { method: "GET" });
  await saveResponse(response, "rejected-rows.csv");
}

export async function exportView(workspaceId: string, tableId: string, tableName: string, format: "csv" | "xlsx", view: RowView) {
  const response = await api.raw(`/api/v1/workspaces/${workspaceId}/tables/${tableId}/export`, {
    method: "POST",
    body: JSON.stringify({ format, view, include_hidden: false }),
    headers: { "Content-Type": "application/json" },
  });
  await saveResponse(response, `${tableName}.${format}`);
}

export function useDedupe(workspaceId: string, tableId: string) {
  const path = { workspace_id: workspaceId, table_id: tableId };
  const preview = useMutation({
    mutationFn: (body: Schemas["DedupePreviewRequest"]) => api.post("/api/v1/workspaces/{workspace_id}/tables/{table_id}/dedupe/preview", { path, body }),
    meta: { errorTitle: "Could not find duplicates" },
  });
  const merge = useMutation({
    mutationFn: (body: Schemas["DedupeMergeRequest"]) => api.post("/api/v1/workspaces/{workspace_id}/tables/{table_id}/dedupe/merge", { path, body }),
    meta: { errorTitle: "Could not merge the duplicates" },
  });
  return { preview, merge };
}
