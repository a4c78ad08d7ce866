import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

import { isActive } from "../mapping";

export type Connection = Schemas["ConnectionOut"];
export type CrmExport = Schemas["ExportOut"];
export type ExportRun = Schemas["ExportRunOut"];
export type ExportCreate = Schemas["ExportCreate"];

const connectionsKey = (ws: string) => wsKey(ws, "crm", "connections");
const exportsKey = (ws: string) => wsKey(ws, "crm", "exports");

export function useConnections(workspaceId: string) {
  return useQuery({
    queryKey: connectionsKey(workspaceId),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/crm/connections", { path: { workspace_id: workspaceId } }),
  });
}

/** The workspace's exports (or one table's); polls every 1.5 s while one of their runs is active. */
export function useExports(workspaceId: string, tableId?: string) {
  return useQuery({
    queryKey: [...exportsKey(workspaceId), tableId ?? "all"],
    queryFn: () =>
      api.get("/api/v1/workspaces/{workspace_id}/crm/exports", {
        path: { workspace_id: workspaceId },
        query: tableId ? { table_id: tableId } : {},
      }),
    refetchInterval: (query) => ((query.state.data ?? []).some((e) => isActive(e.last_run?.status)) ? 1500 : false),
  });
}

export function useStartConnect(workspaceId: string) {
  return useMutation({
    mutationFn: (crm: Schemas["CrmKind"]) =>
      api.post("/api/v1/workspaces/{workspace_id}/crm/connections/start", { path: { workspace_id: workspaceId }, body: { crm } }),
    meta: { errorTitle: "Could not start connecting" },
  });
}

export function useCompleteConnect(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["ConnectCallback"]) =>
      api.post("/api/v1/workspaces/{workspace_id}/crm/connections/callback", { path: { workspace_id: workspaceId }, body }),
    onSuccess: () => client.invalidateQueries({ queryKey: connectionsKey(workspaceId) }),
    meta: { silent: true },
  });
}

export function useDisconnect(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (connectionId: string) =>
      api.delete("/api/v1/workspaces/{workspace_id}/crm/connections/{connection_id}", {
        path: { workspace_id: workspaceId, connection_id: connectionId },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "crm") }),
    meta: { errorTitle: "Could not disconnect" },
  });
}

export function useCreateExport(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ExportCreate) => api.post("/api/v1/workspaces/{workspace_id}/crm/exports", { path: { workspace_id: workspaceId }, body }),
    onSuccess: (created) => {
      void client.invalidateQueries({ queryKey: exportsKey(workspaceId) });
      // The export added (or reused) three result columns: the table's columns changed.
      void client.invalidateQueries({ queryKey: wsKey(workspaceId, "table", created.table_id) });
    },
    meta: { silent: true },
  });
}

export function useDeleteExport(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (exportId: string) =>
      api.delete("/api/v1/workspaces/{workspace_id}/crm/exports/{export_id}", { path: { workspace_id: workspaceId, export_id: exportId } }),
    onSuccess: () => client.invalidateQueries({ queryKey: exportsKey(workspaceId) }),
    meta: { errorTitle: "Could not delete the export" },
  });
}

export function useStartRun(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ exportId, force }: { exportId: string; force?: boolean }) =>
      api.post("/api/v1/workspaces/{workspace_id}/crm/exports/{export_id}/runs", {
        path: { workspace_id: workspaceId, export_id: exportId },
        body: { force: force ?? false },
      }),
    onSettled: () => client.invalidateQueries({ queryKey: exportsKey(workspaceId) }),
    meta: { errorTitle: "Could not start the export" },
  });
}

export function useCancelRun(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (runId: string) =>
      api.post("/api/v1/workspaces/{workspace_id}/crm/runs/{run_id}/cancel", { path: { workspace_id: workspaceId, run_id: runId } }),
    onSettled: () => client.invalidateQueries({ queryKey: exportsKey(workspaceId) }),
    meta: { errorTitle: "Could not cancel the run" },
  });
}

/** The tables and a table's columns, for the export form (the same queries as the tables screens). */
export function useTableList(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "crm", "tables"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/tables", { path: { workspace_id: workspaceId }, query: { limit: 100 } }),
  });
}

export function useTableColumns(workspaceId: string, tableId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "table", tableId),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/tables/{table_id}", { path: { workspace_id: workspaceId, table_id: tableId } }),
    enabled: Boolean(tableId),
    select: (table) => table.columns,
  });
}

export function useMemberNames(workspaceId: string) {
  return useQuery({
    queryKey: wsKey(workspaceId, "members"),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/members", { path: { workspace_id: workspaceId } }),
    select: (members) => new Map(members.map((m) => [m.user_id, m.name || m.email])),
  });
}

/** Where the callback page finds the workspace a connect started in: the CRM only sends code and state back. */
const PENDING = "morket.crm.connect";

export function rememberPendingConnect(state: string, workspaceId: string, crm: string) {
  sessionStorage.setItem(PENDING, JSON.stringify({ state, workspaceId, crm }));
}

export function takePendingConnect(state: string): { workspaceId: string; crm: string } | null {
  const raw = sessionStorage.getItem(PENDING);
  if (!raw) return null;
  try {
    const pending = JSON.parse(raw) as { state?: string; workspaceId?: string; crm?: string };
    if (pending.state !== state || !pending.workspaceId) return null;
    return { workspaceId: pending.workspaceId, crm: pending.crm ?? "" };
  } catch {
    return null;
  }
}

export function forgetPendingConnect() {
  sessionStorage.removeItem(PENDING);
}
