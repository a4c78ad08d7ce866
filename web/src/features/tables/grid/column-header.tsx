import type { CustomHeaderProps } from "ag-grid-react";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";

import { IconMore } from "@/components/ui/icons";
import { cn } from "@/lib/cn";

import type { Column } from "../api/tables";
import { TypeIcon, typeInfo } from "./column-types";
import { isRunnable, kindSpec } from "./column-kinds";

export type HeaderAction = "rename" | "settings" | "type" | "hide" | "delete" | "pin" | "unpin" | "filter" | "run";

export interface HeaderParams {
  tableColumn: Column;
  canEdit: boolean;
  onAction(column: Column, action: HeaderAction, anchor: HTMLElement): void;
}

interface MenuItem {
  label: string;
  run(): void;
  danger?: boolean;
  hidden?: boolean;
}

/** A small menu in a portal, keyboard-driven (arrows, Enter, Escape), closing on an outside click. */
function Menu({ anchor, items, onClose, label }: { anchor: HTMLElement; items: MenuItem[]; onClose(): void; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [pos] = useState(() => {
    const r = anchor.getBoundingClientRect();
    return { top: r.bottom + 4, left: Math.max(8, Math.min(window.innerWidth - 232, r.right - 220)) };
  });
  const visible = items.filter((i) => !i.hidden);

  useLayoutEffect(() => {
    ref.current?.querySelector<HTMLButtonElement>("button")?.focus();
  }, []);

  useEffect(() => {
    const down = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node) && !anchor.contains(e.target as Node)) onClose();
    };
    document.addEventListener("mousedown", down);
    return () => document.removeEventListener("mousedown", down);
  }, [anchor, onClose]);

  function onKeyDown(e: React.KeyboardEvent) {
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>("button") ?? [])];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      onClose();
      anchor.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      e.stopPropagation();
      const next = buttons[(i + (e.key === "ArrowDown" ? 1 : -1) + buttons.length) % buttons.length];
      next?.focus();
    } else if (e.key === "Tab") {
      onClose();
    }
  }

  return createPortal(
    <div
      ref={ref}
      role="menu"
      aria-label={label}
      onKeyDown={onKeyDown}
      style={{ top: pos.top, left: pos.left }}
      className="fixed z-50 w-56 rounded-lg bg-white py-1 text-sm shadow-lg ring-1 ring-zinc-200"
    >
      {visible.map((item) => (
        <button
          key={item.label}
          type="button"
          role="menuitem"
          onClick={() => {
            onClose();
            item.run();
          }}
          className={cn("flex w-full items-center px-3 py-1.5 text-left hover:bg-zinc-100 focus:bg-zinc-100 focus:outline-none", item.danger ? "text-red-700" : "text-zinc-800")}
        >
          {item.label}
        </button>
      ))}
    </div>,
    document.body,
  );
}

/** The column header: type icon, name, sort state, filter mark, and the column menu. */
export function ColumnHeader(props: CustomHeaderProps & HeaderParams) {
  const { column, tableColumn, canEdit, onAction, api } = props;
  const menuButton = useRef<HTMLButtonElement>(null);
  const [menuAnchor, setMenuAnchor] = useState<HTMLElement | null>(null);
  const open = menuAnchor !== null;
  const [sort, setSort] = useState(column.getSort());
  const [sortIndex, setSortIndex] = useState(column.getSortIndex());
  const [filtered, setFiltered] = useState(column.isFilterActive());
  const [pinned, setPinned] = useState(column.getPinned());

  useEffect(() => {
    const sortChanged = () => {
      setSort(column.getSort());
      setSortIndex(column.getSortIndex());
    };
    const filterChanged = () => setFiltered(column.isFilterActive());
    const pinnedChanged = () => setPinned(column.getPinned());
    column.addEventListener("sortChanged", sortChanged);
    column.addEventListener("filterActiveChanged", filterChanged);
    column.addEventListener("leftPinnedChanged" as never, pinnedChanged);
    api.addEventListener("columnPinned", pinnedChanged);
    return () => {
      column.removeEventListener("sortChanged", sortChanged);
      column.removeEventListener("filterActiveChanged", filterChanged);
      column.removeEventListener("leftPinnedChanged" as never, pinnedChanged);
      if (!api.isDestroyed()) api.removeEventListener("columnPinned", pinnedChanged);
    };
  }, [column, api]);

  const multi = (api.getColumnState().filter((c) => c.sort).length ?? 0) > 1;
  const info = typeInfo(tableColumn.type);
  const kind = kindSpec(tableColumn);
  const anchor = () => menuButton.current as HTMLElement;
  const items: MenuItem[] = [
    { label: "Run column…", run: () => onAction(tableColumn, "run", anchor()), hidden: !canEdit || !isRunnable(tableColumn) },
    { label: "Sort ascending", run: () => props.setSort("asc", false) },
    { label: "Sort descending", run: () => props.setSort("desc", false) },
    { label: "Clear sort", run: () => props.setSort(null, false), hidden: !sort },
    { label: "Filter…", run: () => onAction(tableColumn, "filter", anchor()), hidden: info.filter === "none" },
    { label: pinned ? "Unpin" : "Pin to the left", run: () => onAction(tableColumn, pinned ? "unpin" : "pin", anchor()) },
    { label: "Rename…", run: () => onAction(tableColumn, "rename", anchor()), hidden: !canEdit },
    { label: `${kind.label} settings…`, run: () => onAction(tableColumn, "settings", anchor()), hidden: !canEdit || tableColumn.kind === "data" },
    { label: "Change type…", run: () => onAction(tableColumn, "type", anchor()), hidden: !canEdit || tableColumn.kind !== "data" },
    { label: "Hide column", run: () => onAction(tableColumn, "hide", anchor()), hidden: !canEdit },
    { label: "Delete column…", run: () => onAction(tableColumn, "delete", anchor()), danger: true, hidden: !canEdit },
  ];

  return (
    <div className="flex h-full w-full min-w-0 items-center gap-1.5" data-testid={`header-${tableColumn.name}`}>
      <span className={cn("shrink-0", tableColumn.kind === "data" ? "text-zinc-400" : "text-indigo-500")} title={`${info.label}${tableColumn.kind !== "data" ? ` · ${kind.label}` : ""}`}>
        <TypeIcon type={tableColumn.type} />
      </span>
      <button
        type="button"
        tabIndex={-1}
        onClick={(e) => props.progressSort(e.shiftKey)}
        className={cn("min-w-0 flex-1 truncate text-left font-medium", info.align === "right" && "")}
        title={`${tableColumn.name} — click to sort, shift-click to add a sort`}
      >
        {tableColumn.name}
      </button>
      {sort && (
        <span className="flex shrink-0 items-center text-indigo-600" aria-label={`sorted ${sort === "asc" ? "ascending" : "descending"}`}>
          {sort === "asc" ? "↑" : "↓"}
          {multi && sortIndex !== null && sortIndex !== undefined && <sub className="text-[10px]">{sortIndex + 1}</sub>}
        </span>
      )}
      {filtered && <span className="size-1.5 shrink-0 rounded-full bg-indigo-500" aria-label="filtered" role="img" />}
      <button
        ref={menuButton}
        type="button"
        aria-label={`Column menu: ${tableColumn.name}`}
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={(e) => setMenuAnchor(open ? null : e.currentTarget)}
        className="shrink-0 rounded p-0.5 text-zinc-400 opacity-60 hover:bg-zinc-200 hover:text-zinc-700 hover:opacity-100 focus-visible:opacity-100"
      >
        <IconMore />
      </button>
      {menuAnchor && <Menu anchor={menuAnchor} items={items} label={`${tableColumn.name} column`} onClose={() => setMenuAnchor(null)} />}
    </div>
  );
}
