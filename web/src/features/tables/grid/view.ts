import type { Column, FilterCondition, FilterGroup, FilterOperator, RowView, SortKey } from "../api/tables";
import { typeInfo } from "./column-types";

/** AG Grid's simple filter model of one condition (text, number, date filters). */
export interface SimpleModel {
  filterType?: string;
  type?: string | null;
  filter?: string | number | null;
  filterTo?: string | number | null;
  dateFrom?: string | null;
  dateTo?: string | null;
}
export interface CombinedModel {
  filterType?: string;
  operator: "AND" | "OR";
  conditions: SimpleModel[];
}
export type ColumnFilterModel = SimpleModel | CombinedModel;
export type FilterModel = Record<string, ColumnFilterModel>;
export interface SortModelItem {
  colId: string;
  sort: "asc" | "desc";
}

const OPS: Record<string, FilterOperator> = {
  equals: "eq",
  notEqual: "neq",
  contains: "contains",
  notContains: "not_contains",
  startsWith: "starts_with",
  greaterThan: "gt",
  greaterThanOrEqual: "gte",
  lessThan: "lt",
  lessThanOrEqual: "lte",
  inRange: "between",
  blank: "is_empty",
  notBlank: "is_not_empty",
  isTrue: "eq",
  isFalse: "eq",
};

/** The text, number and date filter options the grid offers per type: exactly what the rows API can do. */
export function gridFilterOptions(column: Column): string[] | null {
  switch (typeInfo(column.type).filter) {
    case "text":
      return column.type === "multi_select"
        ? ["contains", "blank", "notBlank"]
        : ["contains", "notContains", "equals", "notEqual", "startsWith", "blank", "notBlank"];
    case "number":
      return ["equals", "notEqual", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "inRange", "blank", "notBlank"];
    case "date":
      return ["equals", "notEqual", "greaterThan", "lessThan", "inRange", "blank", "notBlank"];
    default:
      return null;
  }
}

function dateValue(text: string | null | undefined, datetime: boolean): string | null {
  if (!text) return null;
  // AG Grid gives "YYYY-MM-DD hh:mm:ss"; a date column wants the day, a datetime an ISO instant.
  return datetime ? text.replace(" ", "T") : text.slice(0, 10);
}

function condition(column: Column, model: SimpleModel): FilterCondition | null {
  const type = model.type ?? "";
  const operator = OPS[type];
  if (!operator) return null;
  const base = { column_id: column.id, operator };
  if (type === "isTrue") return { ...base, value: true };
  if (type === "isFalse") return { ...base, value: false };
  if (operator === "is_empty" || operator === "is_not_empty") return { ...base, value: null };
  const filter = typeInfo(column.type).filter;
  if (filter === "date") {
    const from = dateValue(model.dateFrom, column.type === "datetime");
    const to = dateValue(model.dateTo, column.type === "datetime");
    if (from === null) return null;
    return operator === "between" ? (to === null ? null : { ...base, value: [from, to] }) : { ...base, value: from };
  }
  const value = model.filter;
  if (value === null || value === undefined || value === "") return null;
  if (operator === "between") {
    if (model.filterTo === null || model.filterTo === undefined || model.filterTo === "") return null;
    return { ...base, value: [value, model.filterTo] };
  }
  return { ...base, value };
}

/** The grid's column filters as the rows API's filter tree: columns AND-ed, each column's two conditions as AG Grid joins them. */
export function toFilterTree(model: FilterModel, columns: Column[]): FilterGroup {
  const byId = new Map(columns.map((c) => [c.id, c]));
  const conditions: FilterGroup["conditions"] = [];
  for (const [colId, entry] of Object.entries(model)) {
    const column = byId.get(colId);
    if (!column) continue;
    if ("conditions" in entry && Array.isArray(entry.conditions)) {
      const parts = entry.conditions.map((c) => condition(column, c)).filter((c): c is FilterCondition => c !== null);
      if (parts.length === 1) conditions.push(parts[0] as FilterCondition);
      else if (parts.length > 1) conditions.push({ conjunction: entry.operator === "OR" ? "or" : "and", conditions: parts });
    } else {
      const c = condition(column, entry as SimpleModel);
      if (c) conditions.push(c);
    }
  }
  return { conjunction: "and", conditions };
}

export function toSortKeys(model: SortModelItem[]): SortKey[] {
  return model.slice(0, 5).map((m) => ({ column_id: m.colId, direction: m.sort }));
}

export function toView(filter: FilterModel, sort: SortModelItem[], q: string, columns: Column[]): RowView {
  const tree = toFilterTree(filter, columns);
  return { filter: tree.conditions?.length ? tree : null, sort: toSortKeys(sort), q: q.trim() || null };
}

/** Tab-separated text as Excel and Google Sheets put it on the clipboard (quoted cells may hold tabs, newlines and "" quotes). */
export function parseTsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let i = 0;
  let quoted = false;
  const src = text.replace(/\r\n?/g, "\n");
  while (i < src.length) {
    const ch = src[i] as string;
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (ch === '"') {
        quoted = false;
        i += 1;
        continue;
      }
      cell += ch;
      i += 1;
      continue;
    }
    if (ch === '"' && cell === "") {
      quoted = true;
    } else if (ch === "\t") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else {
      cell += ch;
    }
    i += 1;
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Cells as TSV; a cell with a tab, newline or quote is quoted the way Excel does. */
export function toTsv(rows: string[][]): string {
  return rows.map((r) => r.map((c) => (/[\t\n"]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join("\t")).join("\n");
}
