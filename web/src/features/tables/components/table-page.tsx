import { useQueryClient } from "@tanstack/react-query";
import { Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";

import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm";
import { Badge, EmptyState, Skeleton } from "@/components/ui/feedback";
import { IconArrowLeft, IconDownload, IconEye, IconJobs, IconMerge, IconPlus, IconRedo, IconSearch, IconTable, IconTrash, IconUndo, IconUpload } from "@/components/ui/icons";
import { api, isApiError } from "@/lib/api";
import { wsKey } from "@/lib/query";
import { cn } from "@/lib/cn";
import { lazyNamed } from "@/lib/lazy";
import { formatNumber } from "@/lib/format";
import { useWorkspaceId, useWorkspaceRole } from "@/lib/workspace";
import { toastError, toastSuccess } from "@/stores/toasts";

import { useTableEvents, type TableEvent } from "../api/events";
import { exportView } from "../api/io";
import { getRow, tableKey, useColumnMutations, useTable, type Column, type ColumnType } from "../api/tables";
import { useEditHistory } from "../stores/edit-history";
import { useRuns } from "../stores/runs";
import type { RunContext, RunScope } from "../forms/run";
import { isRunnable } from "../grid/column-kinds";
import type { HeaderAction } from "../grid/column-header";
import { DataGrid, type Conflict, type GridHandle } from "../grid/data-grid";
import type { TypeChangeReport } from "./column-dialogs";
import { RunsPanel } from "./runs-panel";

// What only a click opens is loaded on that click, in its own chunk: the grid paints without it.
const AddColumnDialog = lazyNamed(() => import("./column-dialogs"), "AddColumnDialog");
const EditColumnDialog = lazyNamed(() => import("./column-dialogs"), "EditColumnDialog");
const ChangeTypeDialog = lazyNamed(() => import("./column-dialogs"), "ChangeTypeDialog");
const ConflictDialog = lazyNamed(() => import("./column-dialogs"), "ConflictDialog");
const RenameColumnDialog = lazyNamed(() => import("./column-dialogs"), "RenameColumnDialog");
const CellDrawer = lazyNamed(() => import("./cell-drawer"), "CellDrawer");
const DedupeDialog = lazyNamed(() => import("./dedupe-dialog"), "DedupeDialog");
const RunDialog = lazyNamed(() => import("./run-dialog"), "RunDialog");
const ImportWizard = lazyNamed(() => import("./import-wizard"), "ImportWizard");
const TableCrmDialog = lazyNamed(() => import("@/features/crm"), "TableCrmDialog");

function useDebounced<T>(value: T, ms: number): T {
  const [out, setOut] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setOut(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return out;
}

function Popover({ label, icon, children, disabled }: { label: string; icon: React.ReactNode; children: (close: () => void) => React.ReactNode; disabled?: boolean }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const down = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const key = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", down);
    document.addEventListener("keydown", key);
    return () => {
      document.removeEventListener("mousedown", down);
      document.removeEventListener("keydown", key);
    };
  }, [open]);
  return (
    <div ref={ref} className="relative">
      <Button size="sm" variant="ghost" aria-haspopup="menu" aria-expanded={open} disabled={disabled} onClick={() => setOpen((v) => !v)}>
        {icon} {label}
      </Button>
      {open && (
        <div role="menu" aria-label={label} className="absolute right-0 z-40 mt-1 w-56 rounded-lg bg-white py-1 text-sm shadow-lg ring-1 ring-zinc-200">
          {children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}

function MenuButton({ onClick, children }: { onClick(): void; children: React.ReactNode }) {
  return (
    <button type="button" role="menuitem" onClick={onClick} className="flex w-full items-center gap-2 px-3 py-1.5 text-left text-zinc-800 hover:bg-zinc-100 focus:bg-zinc-100 focus:outline-none">
      {children}
    </button>
  );
}

export function TablePage() {
  const workspaceId = useWorkspaceId();
  const { tableId = "" } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const { atLeast, role } = useWorkspaceRole();
  const canEdit = atLeast("member");
  const table = useTable(workspaceId, tableId);
  const columnsApi = useColumnMutations(workspaceId, tableId);
  const grid = useRef<GridHandle>(null);
  const [search, setSearch] = useState("");
  const q = useDebounced(search, 300);
  const [count, setCount] = useState<{ total: number | null; estimated: boolean }>({ total: null, estimated: false });
  const [selected, setSelected] = useState(0);
  const [focused, setFocused] = useState<{ rowId: number; columnId: string } | null>(null);
  const [openCell, setOpenCell] = useState<{ rowId: number; columnId: string } | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [resolving, setResolving] = useState(false);
  const [dialog, setDialog] = useState<null | "add" | "import" | "dedupe" | "delete-rows">(null);
  const [renaming, setRenaming] = useState<Column | null>(null);
  const [settingsOf, setSettingsOf] = useState<Column | null>(null);
  const [retyping, setRetyping] = useState<Column | null>(null);
  const [typeReport, setTypeReport] = useState<TypeChangeReport | null>(null);
  const [deletingColumn, setDeletingColumn] = useState<Column | null>(null);
  const [deletingRows, setDeletingRows] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [crmOpen, setCrmOpen] = useState(false);
  const [running, setRunning] = useState<{ columnId: string; scope: RunScope; context: RunContext } | null>(null);
  const addRuns = useRuns((s) => s.add);
  const canUndo = useEditHistory((s) => s.undo.length > 0);
  const canRedo = useEditHistory((s) => s.redo.length > 0);

  const columns = useMemo(() => table.data?.columns ?? [], [table.data]);
  const hidden = columns.filter((c) => c.hidden);
  // `?row=<id>` (a search result, the quick search): that row's first visible cell is open.
  const [searchParams, setSearchParams] = useSearchParams();
  const linkedRow = Number(searchParams.get("row"));
  const firstColumn = columns.find((c) => !c.hidden);
  const drawer =
    openCell ?? (Number.isSafeInteger(linkedRow) && linkedRow > 0 && firstColumn ? { rowId: linkedRow, columnId: firstColumn.id } : null);
  const setDrawer = useCallback(
    (cell: { rowId: number; columnId: string } | null) => {
      setOpenCell(cell);
      if (searchParams.has("row")) setSearchParams({}, { replace: true });
    },
    [searchParams, setSearchParams],
  );
  const runnable = columns.filter(isRunnable);
  const drawerColumn = drawer ? columns.find((c) => c.id === drawer.columnId) : undefined;

  // ---- live updates ----------------------------------------------------------------------------
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refreshSoon = useCallback(() => {
    refreshTimer.current ??= setTimeout(() => {
      refreshTimer.current = null;
      grid.current?.refresh();
    }, 400);
  }, []);
  useEffect(() => () => void (refreshTimer.current && clearTimeout(refreshTimer.current)), []);

  const onEvents = useCallback(
    (events: TableEvent[]) => {
      const gridApi = grid.current?.api();
      if (!gridApi) return;
      const touched = new Map<string, Set<string>>();
      const refetch = new Set<number>();
      let structural = false;
      for (const e of events) {
        const p = e.payload;
        if (e.type === "cell.updated") {
          const node = gridApi.getRowNode(String(p.row_id));
          const data = node?.data;
          if (!data || typeof p.version !== "number" || p.version <= data.version) continue;
          data.cells = { ...data.cells, [String(p.column_id)]: p.value };
          data.version = p.version;
          const set = touched.get(node.id ?? "") ?? new Set<string>();
          set.add(String(p.column_id));
          touched.set(node.id ?? "", set);
        } else if (e.type === "rows.updated") {
          for (const id of (p.row_ids as number[] | undefined) ?? []) if (gridApi.getRowNode(String(id))?.data) refetch.add(id);
        } else if (e.type === "rows.created" || e.type === "rows.deleted") {
          refreshSoon();
        } else if (e.type.startsWith("column.") || e.type === "table.updated") {
          structural = true;
        } else if (e.type === "table.deleted") {
          toastError(new Error("Someone moved this table to the trash."), "Table deleted");
          navigate(`/w/${workspaceId}/tables`);
          return;
        }
      }
      if (touched.size) {
        const nodes = [...touched.keys()].map((id) => gridApi.getRowNode(id)).filter((n) => n !== undefined);
        const cols = [...new Set([...touched.values()].flatMap((s) => [...s]))];
        gridApi.refreshCells({ rowNodes: nodes, columns: cols });
      }
      if (refetch.size > 25) refreshSoon();
      else for (const id of refetch) void getRow(workspaceId, tableId, id).then((row) => grid.current?.applyRow(row), () => undefined);
      if (structural) void client.invalidateQueries({ queryKey: tableKey(workspaceId, tableId) });
    },
    [client, navigate, refreshSoon, tableId, workspaceId],
  );
  useTableEvents(workspaceId, tableId, onEvents);

  // ---- column actions ---------------------------------------------------------------------------
  const onHeaderAction = useCallback(
    (column: Column, action: HeaderAction, anchor: HTMLElement) => {
      const gridApi = grid.current?.api();
      switch (action) {
        case "filter":
          gridApi?.showColumnFilter(column.id);
          void anchor;
          break;
        case "pin":
        case "unpin":
          gridApi?.applyColumnState({ state: [{ colId: column.id, pinned: action === "pin" ? "left" : null }] });
          break;
        case "hide":
          columnsApi.update.mutate({ columnId: column.id, body: { hidden: true } });
          break;
        case "rename":
          setRenaming(column);
          break;
        case "settings":
          setSettingsOf(column);
          break;
        case "type":
          setRetyping(column);
          setTypeReport(null);
          break;
        case "delete":
          setDeletingColumn(column);
          break;
        case "run":
          openRun(column.id, "all");
          break;
      }
    },
    [columnsApi.update],
  );

  function openRun(columnId: string, scope: RunScope) {
    const view = grid.current?.view();
    setRunning({ columnId, scope, context: { selectedIds: grid.current?.selectedIds() ?? [], filter: view?.filter ?? null } });
  }

  const onRunFinished = useCallback(() => {
    void client.invalidateQueries({ queryKey: wsKey(workspaceId, "billing") });
    refreshSoon();
  }, [client, refreshSoon, workspaceId]);

  async function doExport(format: "csv" | "xlsx") {
    if (!grid.current || !table.data) return;
    setExporting(true);
    try {
      await exportView(workspaceId, tableId, table.data.name, format, grid.current.view());
    } catch (e) {
      toastError(e, "Could not export");
    } finally {
      setExporting(false);
    }
  }

  if (table.isError) {
    return (
      <div className="flex flex-1 items-center justify-center">
        <EmptyState title="Table not found" action={<Link to={`/w/${workspaceId}/tables`} className="font-medium text-indigo-600">Back to tables</Link>}>
          {isApiError(table.error) && table.error.status === 404 ? "It was deleted, or it belongs to another workspace." : "It could not be loaded."}
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex flex-wrap items-center gap-x-2 gap-y-2 border-b border-zinc-200 bg-white px-3 py-2 sm:px-4">
        <Link to={`/w/${workspaceId}/tables`} className="rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100" aria-label="All tables">
          <IconArrowLeft />
        </Link>
        <span className="flex size-7 items-center justify-center rounded-md bg-indigo-50 text-indigo-600">
          <IconTable />
        </span>
        {table.data ? <h1 className="max-w-64 truncate text-sm font-semibold">{table.data.name}</h1> : <Skeleton className="h-4 w-32" />}
        <span className="text-xs tabular-nums text-zinc-500" data-testid="row-count" aria-live="polite">
          {count.total === null ? "" : `${count.estimated ? "about " : ""}${formatNumber(count.total)} ${count.total === 1 ? "row" : "rows"}`}
        </span>
        {role === "viewer" && <Badge>View only</Badge>}
        <div className="ml-auto flex flex-wrap items-center gap-1">
          <label className="relative mr-1 flex items-center">
            <span className="sr-only">Search this table</span>
            <IconSearch className="pointer-events-none absolute left-2 size-3.5 text-zinc-400" />
            <input
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              placeholder="Search"
              className="h-8 w-40 rounded-md border-0 bg-zinc-100 pl-7 pr-2 text-sm placeholder:text-zinc-500 focus:w-56 focus:bg-white focus:ring-2 focus:ring-indigo-500 focus:outline-none sm:w-48"
            />
          </label>
          {canEdit && (
            <>
              <Button size="sm" variant="ghost" onClick={() => grid.current?.undo()} disabled={!canUndo} aria-label="Undo (Ctrl+Z)" title="Undo (Ctrl+Z)">
                <IconUndo />
              </Button>
              <Button size="sm" variant="ghost" onClick={() => grid.current?.redo()} disabled={!canRedo} aria-label="Redo (Ctrl+Shift+Z)" title="Redo (Ctrl+Shift+Z)">
                <IconRedo />
              </Button>
            </>
          )}
          {hidden.length > 0 && (
            <Popover label={`${hidden.length} hidden`} icon={<IconEye />}>
              {(close) =>
                hidden.map((c) => (
                  <MenuButton
                    key={c.id}
                    onClick={() => {
                      close();
                      if (canEdit) columnsApi.update.mutate({ columnId: c.id, body: { hidden: false } });
                    }}
                  >
                    Show “{c.name}”
                  </MenuButton>
                ))
              }
            </Popover>
          )}
          <Button size="sm" variant="ghost" disabled={!focused} onClick={() => focused && setDrawer(focused)} title="Cell details (Alt+Enter)">
            Details
          </Button>
          {canEdit && (
            <>
              <Button size="sm" variant="ghost" onClick={() => setDialog("dedupe")}>
                <IconMerge /> Dedupe
              </Button>
              <Button size="sm" variant="ghost" onClick={() => setDialog("import")}>
                <IconUpload /> Import
              </Button>
            </>
          )}
          <Popover label="Export" icon={<IconDownload />} disabled={exporting}>
            {(close) => (
              <>
                <p className="px-3 pb-1 pt-1.5 text-xs text-zinc-500">The rows of this view: filters, sort and search.</p>
                <MenuButton onClick={() => (close(), void doExport("csv"))}>CSV</MenuButton>
                <MenuButton onClick={() => (close(), void doExport("xlsx"))}>Excel (.xlsx)</MenuButton>
                <div role="separator" className="my-1 border-t border-zinc-100" />
                <MenuButton onClick={() => (close(), setCrmOpen(true))}>Export to CRM…</MenuButton>
              </>
            )}
          </Popover>
          {canEdit && (
            <>
              <Button size="sm" onClick={() => void grid.current?.addRow().catch((e: unknown) => toastError(e, "Could not add a row"))}>
                <IconPlus /> Row
              </Button>
              <Button size="sm" variant="primary" onClick={() => setDialog("add")}>
                <IconPlus /> Column
              </Button>
            </>
          )}
        </div>
      </div>
      {selected > 0 && canEdit && (
        <div className="flex items-center gap-3 border-b border-indigo-100 bg-indigo-50 px-4 py-1.5 text-sm text-indigo-900" role="region" aria-label="Selected rows">
          <span>
            <strong>{formatNumber(selected)}</strong> {selected === 1 ? "row" : "rows"} selected
          </span>
          {runnable.length > 0 && (
            <Button size="sm" onClick={() => openRun(runnable[0]?.id ?? "", "selected")}>
              <IconJobs /> Run column on {formatNumber(selected)} {selected === 1 ? "row" : "rows"}
            </Button>
          )}
          <Button size="sm" variant="danger" onClick={() => setDeletingRows(true)}>
            <IconTrash /> Delete
          </Button>
          <Button size="sm" variant="ghost" onClick={() => grid.current?.api()?.deselectAll()}>
            Clear selection
          </Button>
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        <div className={cn("relative min-w-0 flex-1", drawer && "hidden sm:block")}>
          {table.data ? (
            <DataGrid
              ref={grid}
              workspaceId={workspaceId}
              tableId={tableId}
              columns={columns}
              canEdit={canEdit}
              quickSearch={q}
              onCount={(total, estimated) => setCount({ total, estimated })}
              onSelection={setSelected}
              onConflict={setConflict}
              onHeaderAction={onHeaderAction}
              onOpenCell={(rowId, columnId) => setDrawer({ rowId, columnId })}
              onColumnOrder={(ids) => columnsApi.order.mutate(ids)}
              onFocusCell={setFocused}
            />
          ) : (
            <div role="status" aria-label="Loading the table" className="space-y-2 p-4">
              {Array.from({ length: 8 }, (_, i) => (
                <Skeleton key={i} className="h-6 w-full" />
              ))}
            </div>
          )}
          <RunsPanel workspaceId={workspaceId} tableId={tableId} onFinished={onRunFinished} />
        </div>
        {drawer && drawerColumn && (
          <Suspense fallback={null}>
            <CellDrawer key={`${drawer.rowId}:${drawer.columnId}`} workspaceId={workspaceId} tableId={tableId} rowId={drawer.rowId} column={drawerColumn} onClose={() => setDrawer(null)} />
          </Suspense>
        )}
      </div>

      <Suspense fallback={null}>
        {dialog === "add" && (
          <AddColumnDialog
            open
            busy={columnsApi.add.isPending}
            error={columnsApi.add.error}
            workspaceId={workspaceId}
            tableId={tableId}
            columns={columns}
            onEdit={() => columnsApi.add.error && columnsApi.add.reset()}
            onClose={() => {
              columnsApi.add.reset();
              setDialog(null);
            }}
            onSubmit={(body, outputs) =>
              columnsApi.add.mutate(
                { body, outputs },
                {
                  onSuccess: (column) => {
                    setDialog(null);
                    toastSuccess(`Column “${body.name}” added`, isRunnable(column) && !(column.config as { auto_run?: boolean }).auto_run ? "Run it from its header menu when you are ready: you see the cost first." : undefined);
                  },
                },
              )
            }
          />
        )}
        {settingsOf && (
          <EditColumnDialog
            column={settingsOf}
            busy={columnsApi.configure.isPending}
            error={columnsApi.configure.error}
            workspaceId={workspaceId}
            tableId={tableId}
            columns={columns}
            onEdit={() => columnsApi.configure.error && columnsApi.configure.reset()}
            onClose={() => {
              columnsApi.configure.reset();
              setSettingsOf(null);
            }}
            onSubmit={(body, outputs) =>
              columnsApi.configure.mutate(
                { columnId: settingsOf.id, body, outputs },
                {
                  onSuccess: () => {
                    setSettingsOf(null);
                    toastSuccess(`“${settingsOf.name}” saved`, isRunnable(settingsOf) ? "The new settings apply to the next run." : undefined);
                  },
                },
              )
            }
          />
        )}
        {running && (
          <RunDialog
            workspaceId={workspaceId}
            tableId={tableId}
            columns={runnable}
            columnId={running.columnId}
            scope={running.scope}
            context={running.context}
            onClose={() => setRunning(null)}
            onStarted={(result, column) => {
              setRunning(null);
              const started = result.runs.filter((r) => r.job).map((r) => ({ jobId: r.job?.id ?? "", tableId, columnName: column.name, rows: r.rows }));
              addRuns(started);
              const rows = result.runs.reduce((n, r) => n + r.rows, 0);
              toastSuccess(`Running “${column.name}” on ${formatNumber(rows)} ${rows === 1 ? "row" : "rows"}`);
            }}
          />
        )}
        {renaming && <RenameColumnDialog column={renaming} busy={columnsApi.update.isPending} onClose={() => setRenaming(null)} onSubmit={(name) => columnsApi.update.mutate({ columnId: renaming.id, body: { name } }, { onSuccess: () => setRenaming(null) })} />}
        {retyping && (
          <ChangeTypeDialog
            column={retyping}
            busy={columnsApi.update.isPending}
            report={typeReport}
            onClose={() => {
              setRetyping(null);
              setTypeReport(null);
            }}
            onSubmit={(type: ColumnType, options) => {
              void api
                .request("patch", "/api/v1/workspaces/{workspace_id}/tables/{table_id}/columns/{column_id}", {
                  path: { workspace_id: workspaceId, table_id: tableId, column_id: retyping.id },
                  body: options ? { type, options } : { type },
                })
                .then(
                  (result) => {
                    setTypeReport((result.rawMeta?.type_change as TypeChangeReport | undefined) ?? { not_converted: 0 });
                    void client.invalidateQueries({ queryKey: tableKey(workspaceId, tableId) });
                    grid.current?.refresh();
                  },
                  (e: unknown) => toastError(e, "Could not change the type"),
                );
            }}
          />
        )}
        <ConfirmDialog
          open={deletingColumn !== null}
          title={`Delete the column “${deletingColumn?.name ?? ""}”?`}
          confirmLabel="Delete column"
          busy={columnsApi.remove.isPending}
          onClose={() => setDeletingColumn(null)}
          onConfirm={() => deletingColumn && columnsApi.remove.mutate(deletingColumn.id, { onSuccess: () => setDeletingColumn(null) })}
        >
          Its cells are deleted in every row. This cannot be undone.
        </ConfirmDialog>
        <ConfirmDialog
          open={deletingRows}
          title={`Delete ${formatNumber(selected)} ${selected === 1 ? "row" : "rows"}?`}
          confirmLabel="Delete rows"
          onClose={() => setDeletingRows(false)}
          onConfirm={() => {
            setDeletingRows(false);
            void grid.current?.deleteSelected().then(
              (n) => toastSuccess(`${formatNumber(n)} ${n === 1 ? "row" : "rows"} deleted`),
              (e: unknown) => toastError(e, "Could not delete the rows"),
            );
          }}
        >
          The rows and their history are deleted for everyone.
        </ConfirmDialog>
        {conflict && (
          <ConflictDialog
            column={conflict.column}
            mine={conflict.mine}
            theirs={conflict.theirs}
            busy={resolving}
            onKeepTheirs={() => setConflict(null)}
            onUseMine={() => {
              setResolving(true);
              void grid.current
                ?.resolveConflict(conflict, true)
                .catch((e: unknown) => toastError(e, "Could not save your value"))
                .finally(() => {
                  setResolving(false);
                  setConflict(null);
                });
            }}
          />
        )}
        {table.data && dialog === "import" && (
          <ImportWizard workspaceId={workspaceId} open onClose={() => (setDialog(null), grid.current?.refresh())} table={{ id: tableId, name: table.data.name, columns }} />
        )}
        {crmOpen && <TableCrmDialog workspaceId={workspaceId} tableId={tableId} columns={columns} canEdit={canEdit} onClose={() => setCrmOpen(false)} />}
        {dialog === "dedupe" && <DedupeDialog workspaceId={workspaceId} tableId={tableId} columns={columns} open onClose={() => setDialog(null)} onMerged={() => grid.current?.refresh()} />}
      </Suspense>
    </div>
  );
}
