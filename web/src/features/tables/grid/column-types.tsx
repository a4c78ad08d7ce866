import type { SVGProps } from "react";

import type { Column, ColumnType, FilterOperator } from "../api/tables";

function glyph(path: string) {
  return function Glyph(props: SVGProps<SVGSVGElement>) {
    return (
      <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={1.75} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" className="size-3.5" {...props}>
        <path d={path} />
      </svg>
    );
  };
}

export type FilterKind = "text" | "number" | "date" | "set" | "none";

export interface ColumnTypeInfo {
  type: ColumnType;
  label: string;
  icon: ReturnType<typeof glyph>;
  filter: FilterKind;
  /** AG Grid's built-in editor for the type. */
  editor: string;
  align?: "right";
}

// Header icons per type: a glance tells text from numbers from dates.
export const COLUMN_TYPES: ColumnTypeInfo[] = [
  { type: "text", label: "Text", icon: glyph("M5 6h14M12 6v13M9 19h6"), filter: "text", editor: "agTextCellEditor" },
  { type: "long_text", label: "Long text", icon: glyph("M4 6h16M4 10h16M4 14h16M4 18h10"), filter: "text", editor: "agLargeTextCellEditor" },
  { type: "number", label: "Number", icon: glyph("M9 4 7 20M17 4l-2 16M4 9h16M3 15h16"), filter: "number", editor: "agNumberCellEditor", align: "right" },
  { type: "currency", label: "Currency", icon: glyph("M12 3v18M17 7.5C16 6 14.2 5.5 12 5.5c-2.8 0-4.5 1.3-4.5 3.2 0 4.5 9.5 2.3 9.5 6.8 0 2-1.9 3.2-5 3.2-2.3 0-4-.7-5-2"), filter: "number", editor: "agNumberCellEditor", align: "right" },
  { type: "percent", label: "Percent", icon: glyph("M19 5 5 19M7 9a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM17 19a2 2 0 1 0 0-4 2 2 0 0 0 0 4z"), filter: "number", editor: "agNumberCellEditor", align: "right" },
  { type: "checkbox", label: "Checkbox", icon: glyph("M4 4h16v16H4zM8 12l3 3 5-6"), filter: "set", editor: "agCheckboxCellEditor" },
  { type: "date", label: "Date", icon: glyph("M4 6h16v14H4zM4 10h16M8 3v4M16 3v4"), filter: "date", editor: "agDateStringCellEditor" },
  { type: "datetime", label: "Date & time", icon: glyph("M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2"), filter: "date", editor: "agTextCellEditor" },
  { type: "url", label: "URL", icon: glyph("M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"), filter: "text", editor: "agTextCellEditor" },
  { type: "email", label: "Email", icon: glyph("M3 6h18v12H3zM3 7l9 6 9-6"), filter: "text", editor: "agTextCellEditor" },
  { type: "phone", label: "Phone", icon: glyph("M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"), filter: "text", editor: "agTextCellEditor" },
  { type: "single_select", label: "Single select", icon: glyph("M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM8 11l4 4 4-4"), filter: "text", editor: "agSelectCellEditor" },
  { type: "multi_select", label: "Multi select", icon: glyph("M4 6h.01M4 12h.01M4 18h.01M8 6h12M8 12h12M8 18h12"), filter: "text", editor: "agTextCellEditor" },
  { type: "json", label: "JSON", icon: glyph("M8 4H7a2 2 0 0 0-2 2v4l-2 2 2 2v4a2 2 0 0 0 2 2h1M16 4h1a2 2 0 0 1 2 2v4l2 2-2 2v4a2 2 0 0 1-2 2h-1"), filter: "none", editor: "agLargeTextCellEditor" },
];

const BY_TYPE = new Map(COLUMN_TYPES.map((t) => [t.type, t]));

export function typeInfo(type: ColumnType): ColumnTypeInfo {
  return BY_TYPE.get(type) ?? (COLUMN_TYPES[0] as ColumnTypeInfo);
}

export function TypeIcon({ type, className }: { type: ColumnType; className?: string }) {
  const Icon = typeInfo(type).icon;
  return <Icon className={className ?? "size-3.5"} />;
}

/** The operators the rows API accepts per type (docs/tables.md), for the filter UI. */
export function operatorsFor(type: ColumnType): FilterOperator[] {
  switch (typeInfo(type).filter) {
    case "text":
      return type === "multi_select"
        ? ["contains", "in", "is_empty", "is_not_empty"]
        : ["eq", "neq", "contains", "not_contains", "starts_with", "in", "is_empty", "is_not_empty"];
    case "number":
      return ["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "is_empty", "is_not_empty"];
    case "date":
      return ["eq", "neq", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty"];
    case "set":
      return ["eq", "neq", "is_empty", "is_not_empty"];
    default:
      return ["is_empty", "is_not_empty"];
  }
}

/** Select choices live in the column's options (`options.choices`). */
export function choicesOf(column: Column): string[] {
  const raw = (column.options as { choices?: unknown }).choices;
  return Array.isArray(raw) ? raw.filter((c): c is string => typeof c === "string") : [];
}

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 6 });
const currencyFormat = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** How a stored value reads in a cell (and in copied text: the raw value, not this). */
export function formatCell(type: ColumnType, value: unknown): string {
  if (value === null || value === undefined) return "";
  switch (type) {
    case "number":
      return typeof value === "number" || typeof value === "string" ? numberFormat.format(Number(value)) : String(value);
    case "currency":
      return currencyFormat.format(Number(value));
    case "percent":
      return `${numberFormat.format(Number(value))}%`;
    case "datetime":
      return typeof value === "string" ? value.replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, " UTC") : String(value);
    case "multi_select":
      return Array.isArray(value) ? value.join(", ") : String(value);
    case "json":
      return JSON.stringify(value);
    case "checkbox":
      return value ? "true" : "false";
    default:
      return String(value);
  }
}

/** A value as tab-separated text for the clipboard (Excel and Sheets read these back). */
export function toClipboardText(type: ColumnType, value: unknown): string {
  if (value === null || value === undefined) return "";
  if (type === "json") return JSON.stringify(value);
  if (Array.isArray(value)) return value.join(", ");
  if (type === "checkbox") return value ? "TRUE" : "FALSE";
  return String(value);
}

/** Text typed or pasted into a cell, as the API takes it (the API parses by type; "" is empty). */
export function fromText(type: ColumnType, text: string): unknown {
  const t = text.trim();
  if (t === "") return null;
  if (type === "checkbox") return /^(true|yes|1|x|✓)$/i.test(t);
  if (type === "json") {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return t;
    }
  }
  return text;
}
