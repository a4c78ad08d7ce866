import type {
  CellClassParams,
  CellFocusedEvent,
  CellValueChangedEvent,
  ColDef,
  Column as AgColumn,
  GetRowIdParams,
  GridApi,
  GridReadyEvent,
  IDatasource,
  IGetRowsParams,
  IRowNode,
  ValueFormatterParams,
  ValueGetterParams,
  ValueParserParams,
  ValueSetterParams,
} from "ag-grid-community";
import { AgGridReact } from "ag-grid-react";
import { forwardRef, useCallback, useEffect, useImperativeHandle, useMemo, useRef } from "react";

import { isApiError } from "@/lib/api";
import { toastError, useToasts } from "@/stores/toasts";

import { createRows, deleteRows, fetchRows, patchRows, writeCell, type Column, type Row, type RowView } from "../api/tables";
import { useEditHistory, type CellChange } from "../stores/edit-history";
import { ColumnHeader, type HeaderAction, type HeaderParams } from "./column-header";
import { ComputedCell } from "./cell-state";
import { kindSpec, type CellState } from "./column-kinds";
import { choicesOf, formatCell, fromText, toClipboardText, typeInfo } from "./column-types";
import "./modules";
import { gridTheme } from "./modules";
import { inRange, pasteTargets, rangeOf, rangeSize, type CellPos, type Range } from "./range";
import { parseTsv, toTsv, toView, type FilterModel, type SortModelItem } from "./view";

export interface Conflict {
  rowId: number;
  column: Column;
  mine: unknown;
  theirs: unknown;
  version: number;
}

export interface GridHandle {
  view(): RowView;
  refresh(): void;
  purge(): void;
  jumpTo(index: number): void;
  selectedIds(): number[];
  deleteSelected(): Promise<number>;
  addRow(): Promise<void>;
  undo(): void;
  redo(): void;
  /** Keep the server's value (drop mine) or write mine over it, after a 409. */
  resolveConflict(conflict: Conflict, keepMine: boolean): Promise<void>;
  applyRow(row: Row): void;
  api(): GridApi<Row> | null;
}

interface Props {
  workspaceId: string;
  tableId: string;
  columns: Column[];
  canEdit: boolean;
  quickSearch: string;
  onCount(total: number | null, estimated: boolean): void;
  onSelection(count: number): void;
  onConflict(conflict: Conflict): void;
  onHeaderAction(column: Column, action: HeaderAction, anchor: HTMLElement): void;
  onOpenCell(rowId: number, columnId: string): void;
  onColumnOrder(ids: string[]): void;
  onFocusCell(cell: { rowId: number; columnId: string } | null): void;
}

const BLOCK = 100;
const SELECTION_COL = "ag-Grid-SelectionColumn";
const widthsKey = (tableId: string) => `morket.widths.${tableId}`;

function readWidths(tableId: string): Record<string, number> {
  try {
    return JSON.parse(localStorage.getItem(widthsKey(tableId)) ?? "{}") as Record<string, number>;
  } catch {
    return {};
  }
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export const DataGrid = forwardRef<GridHandle, Props>(function DataGrid(props, ref) {
  const { workspaceId, tableId, columns, canEdit } = props;
  const apiRef = useRef<GridApi<Row> | null>(null);
  const columnsRef = useRef(columns);
  columnsRef.current = columns;
  const qRef = useRef(props.quickSearch);
  const propsRef = useRef(props);
  propsRef.current = props;
  const totalRef = useRef<number | null>(null);
  const anchorRef = useRef<CellPos | null>(null);
  const focusRef = useRef<CellPos | null>(null);
  const extendRef = useRef(false);
  const draggingRef = useRef(false);
  const wrapperRef = useRef<HTMLDivElement>(null);
  const record = useEditHistory((s) => s.record);

  useEffect(() => {
    useEditHistory.getState().reset(tableId);
  }, [tableId]);

  const byId = useMemo(() => new Map(columns.map((c) => [c.id, c])), [columns]);

  // ---- data ------------------------------------------------------------------------------------

  const datasource = useMemo<IDatasource>(
    () => ({
      getRows(params: IGetRowsParams) {
        const view = toView(params.filterModel as FilterModel, params.sortModel as SortModelItem[], qRef.current, columnsRef.current);
        const limit = params.endRow - params.startRow;
        const count = params.startRow === 0;
        fetchRows(workspaceId, tableId, view, params.startRow, limit, count).then(
          (page) => {
            let lastRow: number | undefined;
            if (page.rows.length < limit) lastRow = params.startRow + page.rows.length;
            else if (page.total !== null) lastRow = Math.max(page.total, params.startRow + page.rows.length);
            else if (totalRef.current !== null) lastRow = totalRef.current;
            if (count || page.rows.length < limit) {
              totalRef.current = lastRow ?? page.total;
              propsRef.current.onCount(totalRef.current, page.estimated && page.rows.length === limit);
            }
            params.successCallback(page.rows, lastRow);
            apiRef.current?.hideOverlay();
            if (lastRow === 0) apiRef.current?.showNoRowsOverlay();
          },
          (error: unknown) => {
            params.failCallback();
            toastError(error, "Could not load rows");
          },
        );
      },
    }),
    [workspaceId, tableId],
  );

  useEffect(() => {
    qRef.current = props.quickSearch;
    apiRef.current?.purgeInfiniteCache();
  }, [props.quickSearch]);

  // ---- the range model -----------------------------------------------------------------------

  const dataColumns = useCallback((): AgColumn[] => (apiRef.current?.getAllDisplayedColumns() ?? []).filter((c) => c.getColId() !== SELECTION_COL), []);

  const currentRange = useCallback((): Range | null => rangeOf(anchorRef.current, focusRef.current), []);

  const repaintRange = useCallback(() => {
    apiRef.current?.refreshCells({ force: true });
  }, []);

  const cellClassRules = useMemo(
    () => ({
      "mk-in-range": (p: CellClassParams<Row>) => {
        const range = currentRange();
        if (rangeSize(range) < 2 || p.rowIndex === null || p.rowIndex === undefined) return false;
        const col = dataColumns().indexOf(p.column as AgColumn);
        return inRange(range, p.rowIndex, col);
      },
      "mk-invalid": (p: CellClassParams<Row>) => Boolean(p.data?.invalid?.[p.column.getColId()]),
    }),
    [currentRange, dataColumns],
  );

  const onCellFocused = useCallback(
    (e: CellFocusedEvent<Row>) => {
      const colId = typeof e.column === "string" ? e.column : e.column?.getColId();
      if (e.rowIndex === null || e.rowIndex === undefined || !colId || colId === SELECTION_COL || e.rowPinned) {
        propsRef.current.onFocusCell(null);
        return;
      }
      const col = dataColumns().findIndex((c) => c.getColId() === colId);
      const pos = { row: e.rowIndex, col };
      const hadRange = rangeSize(currentRange()) > 1;
      if (!extendRef.current && !draggingRef.current) anchorRef.current = pos;
      focusRef.current = pos;
      extendRef.current = false;
      if (hadRange || rangeSize(currentRange()) > 1) repaintRange();
      const node = apiRef.current?.getDisplayedRowAtIndex(e.rowIndex);
      propsRef.current.onFocusCell(node?.data ? { rowId: node.data.id, columnId: colId } : null);
    },
    [currentRange, dataColumns, repaintRange],
  );

  // ---- writes ----------------------------------------------------------------------------------

  const nodeOf = useCallback((rowId: number) => apiRef.current?.getRowNode(String(rowId)) as IRowNode<Row> | undefined, []);

  const setLocal = useCallback(
    (rowId: number, columnId: string, value: unknown, versionBump = 0) => {
      const node = nodeOf(rowId);
      if (!node?.data) return;
      node.data.cells = { ...node.data.cells, [columnId]: value };
      if (versionBump) node.data.version += versionBump;
      if (node.data.invalid?.[columnId] !== undefined) {
        const { [columnId]: _dropped, ...rest } = node.data.invalid;
        void _dropped;
        node.data.invalid = rest;
      }
      apiRef.current?.refreshCells({ rowNodes: [node], columns: [columnId], force: true });
    },
    [nodeOf],
  );

  /**
   * Writes many cells in one all-or-nothing PATCH (paste, fill down, clear, undo), with each row's
   * version so a row someone else changed meanwhile is a 409, not a silent overwrite.
   */
  // Bulk writes go one after the other: each reads the rows' versions when it is sent, so an
  // undo quickly followed by a redo never races its own previous write into a 409.
  const queueRef = useRef<Promise<unknown>>(Promise.resolve());
  const serial = useCallback(<T,>(task: () => Promise<T>): Promise<T> => {
    const next = queueRef.current.then(task, task);
    queueRef.current = next.catch(() => undefined);
    return next;
  }, []);

  const writeManyNow = useCallback(
    async (changes: CellChange[], options: { recordAs?: "new" | "none" } = {}) => {
      if (!changes.length) return;
      const byRow = new Map<number, Record<string, unknown>>();
      for (const c of changes) byRow.set(c.rowId, { ...(byRow.get(c.rowId) ?? {}), [c.columnId]: c.after });
      const patches = [...byRow.entries()].map(([id, cells]) => ({ id, cells, version: nodeOf(id)?.data?.version ?? null }));
      for (const c of changes) setLocal(c.rowId, c.columnId, c.after);
      try {
        const written = await patchRows(workspaceId, tableId, patches);
        // The server says each row's version after the write (unchanged rows keep theirs), so
        // the next undo/redo sends exactly what the server holds: never a guess that 409s.
        written.ids.forEach((id, i) => {
          const node = nodeOf(id);
          const version = written.versions?.[i];
          if (node?.data && version !== undefined) node.data.version = Math.max(node.data.version, version);
        });
        if (options.recordAs !== "none") record(tableId, changes);
      } catch (error) {
        for (const c of changes) setLocal(c.rowId, c.columnId, c.before);
        if (isApiError(error) && error.code === "stale_version") {
          toastError(error, "Someone else changed these rows: nothing was written. The rows were reloaded.");
          apiRef.current?.refreshInfiniteCache();
        } else {
          toastError(error, `Could not write ${changes.length === 1 ? "the cell" : `${changes.length} cells`}`);
        }
        throw error;
      }
    },
    [workspaceId, tableId, nodeOf, setLocal, record],
  );

  const writeMany = useCallback(
    (changes: CellChange[], options: { recordAs?: "new" | "none" } = {}) => serial(() => writeManyNow(changes, options)),
    [serial, writeManyNow],
  );

  const onCellValueChanged = useCallback(
    (e: CellValueChangedEvent<Row>) => {
      if (e.source !== "edit" || !e.data) return;
      const columnId = e.column.getColId();
      const column = byId.get(columnId);
      if (!column) return;
      const before = e.oldValue as unknown;
      const after = e.data.cells[columnId];
      if (same(before, after)) return;
      const row = e.data;
      writeCell(workspaceId, tableId, row.id, columnId, after, row.version).then(
        (fresh) => {
          const node = nodeOf(row.id);
          node?.setData(fresh);
          record(tableId, [{ rowId: row.id, columnId, before, after: fresh.cells[columnId] }]);
        },
        (error: unknown) => {
          if (isApiError(error) && error.code === "stale_version") {
            const details = (error.details ?? {}) as { current_value?: unknown; current_version?: number };
            setLocal(row.id, columnId, details.current_value ?? null);
            const node = nodeOf(row.id);
            if (node?.data && details.current_version) node.data.version = details.current_version;
            propsRef.current.onConflict({ rowId: row.id, column, mine: after, theirs: details.current_value ?? null, version: details.current_version ?? row.version });
            return;
          }
          setLocal(row.id, columnId, before);
          toastError(error, `“${column.name}” was not saved`);
        },
      );
    },
    [byId, workspaceId, tableId, nodeOf, record, setLocal],
  );

  // ---- clipboard, fill, clear, undo ------------------------------------------------------------

  const rangeCells = useCallback(
    (range: Range) => {
      const api = apiRef.current;
      const cols = dataColumns();
      const out: { node: IRowNode<Row> | undefined; rowIndex: number; column: Column | undefined; colIndex: number }[] = [];
      for (let r = range.top; r <= range.bottom; r++) {
        const node = api?.getDisplayedRowAtIndex(r) as IRowNode<Row> | undefined;
        for (let c = range.left; c <= range.right; c++) out.push({ node, rowIndex: r, column: byId.get(cols[c]?.getColId() ?? ""), colIndex: c });
      }
      return out;
    },
    [byId, dataColumns],
  );

  const editing = () => (apiRef.current?.getEditingCells().length ?? 0) > 0;

  const copy = useCallback(
    (e: ClipboardEvent) => {
      const range = currentRange();
      if (!range || editing() || !e.clipboardData) return;
      const cols = dataColumns();
      const lines: string[][] = [];
      for (let r = range.top; r <= range.bottom; r++) {
        const node = apiRef.current?.getDisplayedRowAtIndex(r) as IRowNode<Row> | undefined;
        const line: string[] = [];
        for (let c = range.left; c <= range.right; c++) {
          const column = byId.get(cols[c]?.getColId() ?? "");
          line.push(column && node?.data ? toClipboardText(column.type, node.data.cells[column.id]) : "");
        }
        lines.push(line);
      }
      e.clipboardData.setData("text/plain", toTsv(lines));
      e.preventDefault();
    },
    [byId, currentRange, dataColumns],
  );

  const paste = useCallback(
    async (e: ClipboardEvent) => {
      const range = currentRange();
      if (!range || editing() || !canEdit) return;
      const text = e.clipboardData?.getData("text/plain") ?? "";
      e.preventDefault();
      if (!text) return;
      const data = parseTsv(text.replace(/\n$/, ""));
      const cols = dataColumns();
      const total = apiRef.current?.getDisplayedRowCount() ?? 0;
      const changes: CellChange[] = [];
      const newRows = new Map<number, Record<string, unknown>>();
      let skipped = 0;
      for (const t of pasteTargets(range, data)) {
        const column = byId.get(cols[t.col]?.getColId() ?? "");
        if (!column || !kindSpec(column).editable) {
          skipped += 1;
          continue;
        }
        const value = fromText(column.type, t.text);
        if (t.row >= total) {
          newRows.set(t.row, { ...(newRows.get(t.row) ?? {}), [column.id]: value });
          continue;
        }
        const node = apiRef.current?.getDisplayedRowAtIndex(t.row) as IRowNode<Row> | undefined;
        if (!node?.data) {
          skipped += 1;
          continue;
        }
        const before = node.data.cells[column.id];
        if (!same(before, value)) changes.push({ rowId: node.data.id, columnId: column.id, before, after: value });
      }
      try {
        await writeMany(changes);
        if (newRows.size) {
          await createRows(workspaceId, tableId, [...newRows.values()]);
          apiRef.current?.refreshInfiniteCache();
        }
        if (skipped) useToasts.getState().push({ tone: "info", title: `${skipped} cells were not pasted`, message: "They are in computed columns or in rows that are not loaded." });
      } catch {
        // writeMany reported it
      }
    },
    [byId, canEdit, currentRange, dataColumns, tableId, workspaceId, writeMany],
  );

  const fillDown = useCallback(() => {
    const range = currentRange();
    if (!range || range.bottom === range.top || !canEdit) return;
    const changes: CellChange[] = [];
    const top = new Map<number, unknown>();
    for (const cell of rangeCells(range)) {
      if (!cell.column || !cell.node?.data || !kindSpec(cell.column).editable) continue;
      if (cell.rowIndex === range.top) top.set(cell.colIndex, cell.node.data.cells[cell.column.id]);
      else {
        const after = top.get(cell.colIndex) ?? null;
        const before = cell.node.data.cells[cell.column.id];
        if (!same(before, after)) changes.push({ rowId: cell.node.data.id, columnId: cell.column.id, before, after });
      }
    }
    void writeMany(changes).catch(() => undefined);
  }, [canEdit, currentRange, rangeCells, writeMany]);

  const clearRange = useCallback(() => {
    const range = currentRange();
    if (!range || !canEdit) return;
    const changes: CellChange[] = [];
    for (const cell of rangeCells(range)) {
      if (!cell.column || !cell.node?.data || !kindSpec(cell.column).editable) continue;
      const before = cell.node.data.cells[cell.column.id];
      if (before !== null && before !== undefined) changes.push({ rowId: cell.node.data.id, columnId: cell.column.id, before, after: null });
    }
    void writeMany(changes).catch(() => undefined);
  }, [canEdit, currentRange, rangeCells, writeMany]);

  /** Undo and redo apply only where the cell still holds what this user wrote: another person's later edit is never undone. */
  const replay = useCallback(
    (changes: CellChange[] | null, undo: boolean) => {
      if (!changes) return;
      void serial(async () => {
        const applicable = changes.filter((c) => {
          const node = nodeOf(c.rowId);
          return !node?.data || same(node.data.cells[c.columnId], c.before);
        });
        const skipped = changes.length - applicable.length;
        if (skipped) useToasts.getState().push({ tone: "info", title: `${skipped} cells changed since: left as they are` });
        await writeManyNow(applicable, { recordAs: "none" });
      }).catch(() => {
        // put the entry back where it was
        const history = useEditHistory.getState();
        if (undo) history.takeRedo();
        else history.takeUndo();
      });
    },
    [nodeOf, serial, writeManyNow],
  );

  const undo = useCallback(() => replay(useEditHistory.getState().takeUndo(), true), [replay]);
  const redo = useCallback(() => replay(useEditHistory.getState().takeRedo(), false), [replay]);

  useEffect(() => {
    const el = wrapperRef.current;
    if (!el) return;
    const onCopy = (e: ClipboardEvent) => copy(e);
    const onPaste = (e: ClipboardEvent) => void paste(e);
    const onKeyDown = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest("[role=menu], .ag-popup, .ag-filter")) return;
      const mod = e.ctrlKey || e.metaKey;
      if (e.shiftKey && e.key.startsWith("Arrow")) extendRef.current = true;
      if (editing()) return;
      const key = e.key.toLowerCase();
      if (mod && key === "z" && !e.shiftKey) {
        e.preventDefault();
        e.stopPropagation();
        undo();
      } else if (mod && (key === "y" || (key === "z" && e.shiftKey))) {
        e.preventDefault();
        e.stopPropagation();
        redo();
      } else if (mod && key === "d") {
        e.preventDefault();
        e.stopPropagation();
        fillDown();
      } else if ((e.key === "Delete" || e.key === "Backspace") && rangeSize(currentRange()) > 1) {
        e.preventDefault();
        e.stopPropagation();
        clearRange();
      } else if (e.key === "Enter" && e.altKey) {
        const cell = apiRef.current?.getFocusedCell();
        const node = cell ? apiRef.current?.getDisplayedRowAtIndex(cell.rowIndex) : null;
        if (cell && node?.data) {
          e.preventDefault();
          e.stopPropagation();
          propsRef.current.onOpenCell(node.data.id, cell.column.getColId());
        }
      }
    };
    const onMouseDown = (e: MouseEvent) => {
      if (!(e.target as HTMLElement).closest(".ag-cell")) return;
      extendRef.current = e.shiftKey;
      draggingRef.current = false;
      const up = () => {
        draggingRef.current = false;
        document.removeEventListener("mouseup", up);
      };
      document.addEventListener("mouseup", up);
      // a drag over cells extends the range from where the press started
      setTimeout(() => {
        draggingRef.current = (e.buttons & 1) === 1;
      }, 0);
    };
    el.addEventListener("copy", onCopy);
    el.addEventListener("paste", onPaste);
    el.addEventListener("keydown", onKeyDown, true);
    el.addEventListener("mousedown", onMouseDown, true);
    return () => {
      el.removeEventListener("copy", onCopy);
      el.removeEventListener("paste", onPaste);
      el.removeEventListener("keydown", onKeyDown, true);
      el.removeEventListener("mousedown", onMouseDown, true);
    };
  }, [copy, paste, undo, redo, fillDown, clearRange, currentRange]);

  // ---- columns ---------------------------------------------------------------------------------

  const columnDefs = useMemo<ColDef<Row>[]>(() => {
    const widths = readWidths(tableId);
    return columns.map((column) => {
      const info = typeInfo(column.type);
      const kind = kindSpec(column);
      const choices = choicesOf(column);
      const filterOptions =
        column.type === "checkbox"
          ? [
              { displayKey: "isTrue", displayName: "Ticked", predicate: () => true, numberOfInputs: 0 as const },
              { displayKey: "isFalse", displayName: "Not ticked", predicate: () => true, numberOfInputs: 0 as const },
            ]
          : undefined;
      const def: ColDef<Row> = {
        colId: column.id,
        headerName: column.name,
        hide: column.hidden,
        initialWidth: widths[column.id] ?? (column.type === "long_text" || column.type === "json" ? 280 : column.type === "checkbox" ? 110 : 180),
        minWidth: 72,
        sortable: column.type !== "json",
        filter: info.filter === "none" ? false : info.filter === "number" ? "agNumberColumnFilter" : info.filter === "date" ? "agDateColumnFilter" : "agTextColumnFilter",
        filterParams: {
          filterOptions: filterOptions ?? (info.filter === "text" ? ["contains", "notContains", "equals", "notEqual", "startsWith", "blank", "notBlank"] : info.filter === "number" ? ["equals", "notEqual", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "inRange", "blank", "notBlank"] : ["equals", "notEqual", "greaterThan", "lessThan", "inRange", "blank", "notBlank"]),
          maxNumConditions: column.type === "checkbox" ? 1 : 2,
          buttons: ["reset", "apply"],
          closeOnApply: true,
        },
        editable: canEdit && kind.editable,
        cellDataType: column.type === "checkbox" ? "boolean" : column.type === "date" ? "dateString" : info.filter === "number" ? "number" : "text",
        cellEditor: info.editor,
        cellEditorPopup: column.type === "long_text" || column.type === "json",
        cellEditorParams: column.type === "single_select" ? { values: ["", ...choices] } : column.type === "long_text" || column.type === "json" ? { maxLength: 100_000, rows: 8, cols: 50 } : undefined,
        valueGetter: (p: ValueGetterParams<Row>) => {
          const v = p.data?.cells[column.id];
          return column.type === "json" && v !== null && v !== undefined ? JSON.stringify(v) : (v ?? null);
        },
        valueSetter: (p: ValueSetterParams<Row>) => {
          if (!p.data) return false;
          let value: unknown = p.newValue;
          if (column.type === "json" && typeof value === "string") value = fromText("json", value);
          if (value === "") value = null;
          if (same(p.data.cells[column.id], value)) return false;
          p.data.cells = { ...p.data.cells, [column.id]: value };
          return true;
        },
        valueParser: (p: ValueParserParams<Row>) => {
          const v = p.newValue as unknown;
          if (typeof v !== "string") return v;
          if (column.type === "multi_select") return v.split(",").map((s) => s.trim()).filter(Boolean);
          return fromText(column.type, v);
        },
        valueFormatter: (p: ValueFormatterParams<Row>) => {
          if (p.data?.invalid?.[column.id] !== undefined && (p.value === null || p.value === undefined)) return String(p.data.invalid[column.id]);
          if (column.type === "json") return typeof p.value === "string" ? p.value : "";
          return formatCell(column.type, p.value);
        },
        cellClass: [info.align === "right" ? "mk-num" : "", column.type === "url" || column.type === "email" ? "mk-link" : "", column.kind !== "data" ? "mk-computed" : ""].filter(Boolean),
        cellClassRules,
        // Computed cells show their state (queued, running, error with its reason...) beside the value.
        ...(column.kind !== "data" ? { cellRenderer: ComputedCell, cellRendererParams: { tableColumn: column } } : {}),
        headerComponent: ColumnHeader,
        headerComponentParams: {
          tableColumn: column,
          canEdit,
          onAction: (col: Column, action: HeaderAction, anchor: HTMLElement) => propsRef.current.onHeaderAction(col, action, anchor),
        } satisfies HeaderParams,
      };
      return def;
    });
  }, [columns, canEdit, cellClassRules, tableId]);

  // ---- handle ----------------------------------------------------------------------------------

  useImperativeHandle(
    ref,
    (): GridHandle => ({
      view: () => {
        const api = apiRef.current;
        const sort = (api?.getColumnState() ?? [])
          .filter((c) => c.sort)
          .sort((a, b) => (a.sortIndex ?? 0) - (b.sortIndex ?? 0))
          .map((c) => ({ colId: c.colId, sort: c.sort as "asc" | "desc" }));
        return toView((api?.getFilterModel() ?? {}) as FilterModel, sort, qRef.current, columnsRef.current);
      },
      refresh: () => apiRef.current?.refreshInfiniteCache(),
      purge: () => apiRef.current?.purgeInfiniteCache(),
      jumpTo: (index: number) => apiRef.current?.ensureIndexVisible(index, "top"),
      selectedIds: () => (apiRef.current?.getSelectedNodes() ?? []).map((n) => n.data?.id).filter((id): id is number => typeof id === "number"),
      deleteSelected: async () => {
        const ids = (apiRef.current?.getSelectedNodes() ?? []).map((n) => n.data?.id).filter((id): id is number => typeof id === "number");
        if (!ids.length) return 0;
        await deleteRows(workspaceId, tableId, ids);
        apiRef.current?.deselectAll();
        apiRef.current?.refreshInfiniteCache();
        return ids.length;
      },
      addRow: async () => {
        await createRows(workspaceId, tableId, [{}]);
        const api = apiRef.current;
        if (!api) return;
        const next = (totalRef.current ?? api.getDisplayedRowCount()) + 1;
        totalRef.current = next;
        api.setRowCount(next, false);
        api.refreshInfiniteCache();
        api.ensureIndexVisible(next - 1, "bottom");
        const first = dataColumns()[0];
        if (first) api.setFocusedCell(next - 1, first);
      },
      undo,
      redo,
      resolveConflict: async (conflict, keepMine) => {
        if (!keepMine) return;
        const fresh = await writeCell(workspaceId, tableId, conflict.rowId, conflict.column.id, conflict.mine, conflict.version);
        nodeOf(conflict.rowId)?.setData(fresh);
        record(tableId, [{ rowId: conflict.rowId, columnId: conflict.column.id, before: conflict.theirs, after: fresh.cells[conflict.column.id] }]);
      },
      applyRow: (row: Row) => {
        // A live refetch may be older than what this tab already wrote: never go back in version.
        // The same version is applied (cell state and provenance change without a version bump).
        const node = nodeOf(row.id);
        if (!node?.data || row.version < node.data.version) return;
        node.setData(row);
        // A state-only change keeps the values: repaint the computed cells' icons anyway.
        const computed = columnsRef.current.filter((c) => c.kind !== "data").map((c) => c.id);
        if (computed.length) apiRef.current?.refreshCells({ rowNodes: [node], columns: computed, force: true });
      },
      api: () => apiRef.current,
    }),
    [workspaceId, tableId, undo, redo, nodeOf, record, dataColumns],
  );

  const onGridReady = useCallback((e: GridReadyEvent<Row>) => {
    apiRef.current = e.api;
  }, []);

  const getRowId = useCallback((p: GetRowIdParams<Row>) => String(p.data.id), []);

  const noRows = useMemo(
    () =>
      function NoRows() {
        return (
          <div className="pointer-events-none max-w-sm text-center text-sm text-zinc-600">
            <p className="font-medium text-zinc-900">{qRef.current || Object.keys(apiRef.current?.getFilterModel() ?? {}).length ? "No rows match this view" : "This table has no rows yet"}</p>
            <p className="mt-1">{qRef.current || Object.keys(apiRef.current?.getFilterModel() ?? {}).length ? "Clear the search or the filters to see every row." : canEdit ? "Add a row, paste cells copied from a spreadsheet, or import a CSV or Excel file." : "Rows appear here as soon as someone adds them."}</p>
          </div>
        );
      },
    [canEdit],
  );

  return (
    <div ref={wrapperRef} className="mk-grid h-full min-h-0 w-full" data-testid="grid">
      <AgGridReact<Row>
        theme={gridTheme}
        rowModelType="infinite"
        datasource={datasource}
        cacheBlockSize={BLOCK}
        maxBlocksInCache={200}
        blockLoadDebounceMillis={40}
        maxConcurrentDatasourceRequests={3}
        infiniteInitialRowCount={1}
        rowBuffer={15}
        getRowId={getRowId}
        columnDefs={columnDefs}
        defaultColDef={{ resizable: true, suppressHeaderMenuButton: true, suppressHeaderFilterButton: true }}
        rowSelection={canEdit ? { mode: "multiRow", checkboxes: true, headerCheckbox: false, enableClickSelection: false } : undefined}
        selectionColumnDef={{ width: 44, pinned: "left", resizable: false, suppressMovable: true }}
        singleClickEdit={false}
        stopEditingWhenCellsLoseFocus
        enterNavigatesVerticallyAfterEdit
        undoRedoCellEditing={false}
        animateRows={false}
        suppressDragLeaveHidesColumns
        noRowsOverlayComponent={noRows}
        onGridReady={onGridReady}
        onCellFocused={onCellFocused}
        onCellMouseOver={(e) => {
          if (!draggingRef.current || e.rowIndex === null) return;
          const col = dataColumns().indexOf(e.column);
          if (col < 0) return;
          focusRef.current = { row: e.rowIndex, col };
          repaintRange();
        }}
        onCellValueChanged={onCellValueChanged}
        onCellDoubleClicked={(e) => {
          const column = byId.get(e.column.getColId());
          if (e.data && column && !(canEdit && kindSpec(column).editable)) propsRef.current.onOpenCell(e.data.id, column.id);
        }}
        onSelectionChanged={(e) => propsRef.current.onSelection(e.api.getSelectedNodes().length)}
        onColumnMoved={(e) => {
          if (!e.finished || !canEdit) return;
          const ids = e.api
            .getColumnState()
            .map((c) => c.colId)
            .filter((id) => byId.has(id));
          propsRef.current.onColumnOrder(ids);
        }}
        onColumnResized={(e) => {
          if (!e.finished || !e.column) return;
          const widths = readWidths(tableId);
          widths[e.column.getColId()] = e.column.getActualWidth();
          localStorage.setItem(widthsKey(tableId), JSON.stringify(widths));
        }}
      />
    </div>
  );
});

export type { CellState };
