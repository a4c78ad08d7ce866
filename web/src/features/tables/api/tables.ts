import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type Table = Schemas["TableOut"];
export type Column = Schemas["ColumnOut"];
export type ColumnType = Schemas["ColumnType"];
export type Row = Schemas["RowOut"];
export type FilterGroup = Schemas["FilterGroup"];
export type FilterCondition = Schemas["FilterCondition"];
export type FilterOperator = Schemas["FilterOperator"];
export type SortKey = Schemas["SortKey"];
export type RowView = Schemas["RowView"];
export type CellHistory = Schemas["CellHistoryOut"];

const T = "/api/v1/workspaces/{workspace_id}/tables/{table_id}" as const;

export const tablesKey = (ws: string, deleted = false) => wsKey(ws, "tables", { deleted });
export const tableKey = (ws: string, tableId: string) => wsKey(ws, "table", tableId);

export function useTables(workspaceId: string, deleted = false) {
  return useQuery({
    queryKey: tablesKey(workspaceId, deleted),
    queryFn: () =>
      api.get("/api/v1/workspaces/{workspace_id}/tables", { path: { workspace_id: workspaceId }, query: { limit: 100, deleted } }),
  });
}

export function useTable(workspaceId: string, tableId: string, enabled = true) {
  return useQuery({
    queryKey: tableKey(workspaceId, tableId),
    enabled,
    queryFn: () => api.get(T, { path: { workspace_id: workspaceId, table_id: tableId } }),
  });
}

function useInvalidateTables(workspaceId: string) {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: wsKey(workspaceId, "tables") });
}

export function useCreateTable(workspaceId: string) {
  const invalidate = useInvalidateTables(workspaceId);
  return useMutation({
    mutationFn: (body: Schemas["TableCreate"]) =>
      api.post("/api/v1/workspaces/{workspace_id}/tables", { path: { workspace_id: workspaceId }, body }),
    onSuccess: invalidate,
    meta: { silent: true },
  });
}

export function useRenameTable(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ tableId, name }: { tableId: string; name: string }) =>
      api.patch(T, { path: { workspace_id: workspaceId, table_id: tableId }, body: { name } }),
    onSuccess: () => client.invalidateQueries({ queryKey: wsKey(workspaceId) }),
    meta: { silent: true },
  });
}

export function useDeleteTable(workspaceId: string) {
  const invalidate = useInvalidateTables(workspaceId);
  return useMutation({
    mutationFn: (tableId: string) => api.delete(T, { path: { workspace_id: workspaceId, table_id: tableId } }),
    onSuccess: invalidate,
    meta: { errorTitle: "Could not delete the table" },
  });
}

export function useRestoreTable(workspaceId: string) {
  const invalidate = useInvalidateTables(workspaceId);
  return useMutation({
    mutationFn: (tableId: string) => api.post(`${T}/restore`, { path: { workspace_id: workspaceId, table_id: tableId } }),
    onSuccess: invalidate,
    meta: { errorTitle: "Could not restore the table" },
  });
}

// ---- columns --------------------------------------------------------------------------------

export function useColumnMutations(workspaceId: string, tableId: string) {
  const client = useQueryClient();
  const path = { workspace_id: workspaceId, table_id: tableId };
  const refresh = () => client.invalidateQueries({ queryKey: tableKey(workspaceId, tableId) });
  const add = useMutation({
    mutationFn: ({ body, outputs = [] }: { body: Schemas["ColumnCreate"]; outputs?: { field: string; body: Schemas["ColumnCreate"] }[] }) =>
      addColumnWithOutputs(workspaceId, tableId, body, outputs),
    onSettled: refresh,
    meta: { silent: true },
  });
  const update = useMutation({
    mutationFn: ({ columnId, body }: { columnId: string; body: Schemas["ColumnUpdate"] }) =>
      api.request("patch", `${T}/columns/{column_id}`, { path: { ...path, column_id: columnId }, body }),
    onSuccess: refresh,
    meta: { errorTitle: "Could not change the column" },
  });
  const configure = useMutation({
    mutationFn: ({ columnId, body, outputs = [] }: { columnId: string; body: Schemas["ColumnUpdate"]; outputs?: { field: string; body: Schemas["ColumnCreate"] }[] }) =>
      configureColumn(workspaceId, tableId, columnId, body, outputs),
    onSettled: refresh,
    meta: { silent: true },
  });
  const remove = useMutation({
    mutationFn: (columnId: string) => api.delete(`${T}/columns/{column_id}`, { path: { ...path, column_id: columnId } }),
    onSuccess: refresh,
    meta: { errorTitle: "Could not delete the column" },
  });
  const order = useMutation({
    mutationFn: (columnIds: string[]) => api.put(`${T}/columns/order`, { path, body: { column_ids: columnIds } }),
    onSuccess: refresh,
    meta: { errorTitle: "Could not save the column order" },
  });
  return { add, update, configure, remove, order };
}

/**
 * A column, after the data columns its enrichment outputs write into (the API wants them to
 * exist: `config.outputs` maps each field to a column id). When the column itself is refused
 * (a 422 on its config), the output columns made for it are deleted again, so a failed add
 * leaves the table as it was.
 */
export async function addColumnWithOutputs(
  workspaceId: string,
  tableId: string,
  body: Schemas["ColumnCreate"],
  outputs: { field: string; body: Schemas["ColumnCreate"] }[],
) {
  const path = { workspace_id: workspaceId, table_id: tableId };
  const made: { field: string; id: string }[] = [];
  try {
    for (const o of outputs) made.push({ field: o.field, id: (await api.post(`${T}/columns`, { path, body: o.body })).id });
    return await api.post(`${T}/columns`, { path, body: { ...body, config: withOutputs(body.config, made) } });
  } catch (error) {
    await Promise.allSettled(made.map((m) => api.delete(`${T}/columns/{column_id}`, { path: { ...path, column_id: m.id } })));
    throw error;
  }
}

/** The config's `outputs` (the output columns that exist) and those just made for it. */
function withOutputs(config: Record<string, unknown> | undefined, made: { field: string; id: string }[]) {
  if (!made.length) return config;
  const existing = (config?.outputs ?? {}) as Record<string, string>;
  return { ...config, outputs: { ...existing, ...Object.fromEntries(made.map((m) => [m.field, m.id])) } };
}

/** A computed column's new settings (PATCH), after the new output columns they name; those are deleted again when the settings are refused. */
export async function configureColumn(
  workspaceId: string,
  tableId: string,
  columnId: string,
  body: Schemas["ColumnUpdate"],
  outputs: { field: string; body: Schemas["ColumnCreate"] }[],
) {
  const path = { workspace_id: workspaceId, table_id: tableId };
  const made: { field: string; id: string }[] = [];
  try {
    for (const o of outputs) made.push({ field: o.field, id: (await api.post(`${T}/columns`, { path, body: o.body })).id });
    return await api.request("patch", `${T}/columns/{column_id}`, { path: { ...path, column_id: columnId }, body: { ...body, config: withOutputs(body.config ?? undefined, made) } });
  } catch (error) {
    await Promise.allSettled(made.map((m) => api.delete(`${T}/columns/{column_id}`, { path: { ...path, column_id: m.id } })));
    throw error;
  }
}

// ---- rows -----------------------------------------------------------------------------------

export interface RowsPage {
  rows: Row[];
  total: number | null;
  estimated: boolean;
}

export function sortParam(sort: SortKey[]): string | undefined {
  return sort.length ? sort.map((k) => `${k.column_id}:${k.direction}`).join(",") : undefined;
}

export async function fetchRows(
  workspaceId: string,
  tableId: string,
  view: RowView,
  offset: number,
  limit: number,
  count: boolean,
  signal?: AbortSignal,
): Promise<RowsPage> {
  const result = await api.request("get", `${T}/rows`, {
    path: { workspace_id: workspaceId, table_id: tableId },
    query: {
      offset,
      limit,
      count,
      filter: view.filter?.conditions?.length ? JSON.stringify(view.filter) : undefined,
      sort: sortParam(view.sort ?? []),
      q: view.q || undefined,
    },
    signal,
  });
  const meta = result.rawMeta ?? {};
  const total = typeof meta.total === "number" ? meta.total : null;
  return { rows: result.data, total, estimated: meta.total_estimated === true };
}

export function writeCell(workspaceId: string, tableId: string, rowId: number, columnId: string, value: unknown, version: number) {
  return api.put(`${T}/rows/{row_id}/cells/{column_id}`, {
    path: { workspace_id: workspaceId, table_id: tableId, row_id: rowId, column_id: columnId },
    body: { value, version },
  });
}

export function patchRows(workspaceId: string, tableId: string, rows: Schemas["RowPatch"][]) {
  return api.patch(`${T}/rows`, { path: { workspace_id: workspaceId, table_id: tableId }, body: { rows } });
}

export function createRows(workspaceId: string, tableId: string, rows: Record<string, unknown>[]) {
  return api.post(`${T}/rows`, { path: { workspace_id: workspaceId, table_id: tableId }, body: { rows } });
}

export function deleteRows(workspaceId: string, tableId: string, ids: number[]) {
  return api.post(`${T}/rows/delete`, { path: { workspace_id: workspaceId, table_id: tableId }, body: { ids } });
}

export function getRow(workspaceId: string, tableId: string, rowId: number) {
  return api.get(`${T}/rows/{row_id}`, { path: { workspace_id: workspaceId, table_id: tableId, row_id: rowId } });
}

export function useCellHistory(workspaceId: string, tableId: string, rowId: number | null, columnId: string | null) {
  return useQuery({
    queryKey: wsKey(workspaceId, "cell-history", tableId, rowId, columnId),
    enabled: rowId !== null,
    queryFn: () =>
      api.get(`${T}/rows/{row_id}/history`, {
        path: { workspace_id: workspaceId, table_id: tableId, row_id: rowId ?? 0 },
        query: columnId ? { column_id: columnId } : {},
      }),
  });
}

export function eventToken(workspaceId: string, tableId: string) {
  return api.post(`${T}/events/token`, { path: { workspace_id: workspaceId, table_id: tableId } });
}
