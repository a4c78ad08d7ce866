import { Button } from "@/components/ui/button";
import { IconPlus, IconX } from "@/components/ui/icons";
import { Select } from "@/components/ui/form";

import type { Column, FilterCondition, FilterGroup, FilterOperator } from "../api/tables";
import { operatorsFor, typeInfo } from "../grid/column-types";

const OPERATOR_LABEL: Record<FilterOperator, string> = {
  eq: "is",
  neq: "is not",
  contains: "contains",
  not_contains: "does not contain",
  starts_with: "starts with",
  is_empty: "is empty",
  is_not_empty: "is not empty",
  gt: "is greater than",
  gte: "is at least",
  lt: "is less than",
  lte: "is at most",
  between: "is between",
  in: "is one of",
};

/** One value or none: the builder leaves `between` and `in` to the API (and the grid's own filters). */
const SIMPLE = (op: FilterOperator) => op !== "between" && op !== "in";
const NO_VALUE = (op: FilterOperator) => op === "is_empty" || op === "is_not_empty";

function valueFor(column: Column | undefined, text: string): unknown {
  if (!column) return text;
  if (column.type === "checkbox") return text === "true";
  if (typeInfo(column.type).filter === "number" && text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
  return text;
}

/**
 * An only-if condition as a filter tree of the rows API (one level: conditions joined by AND or
 * OR). The grid's column filters are AG Grid's own popups, tied to a grid column, so they cannot
 * be reused in a form; this builder offers the same operators per type (grid/column-types.ts).
 */
export function ConditionBuilder({
  columns,
  value,
  onChange,
  errors,
  label = "Only run on rows where",
}: {
  columns: Column[];
  value: FilterGroup | null;
  onChange(next: FilterGroup | null): void;
  errors: Record<string, string>;
  label?: string;
}) {
  const group: FilterGroup = value ?? { conjunction: "and", conditions: [] };
  const conditions = (group.conditions ?? []) as FilterCondition[];
  const byId = new Map(columns.map((c) => [c.id, c]));
  const set = (next: FilterCondition[]) => onChange(next.length ? { conjunction: group.conjunction ?? "and", conditions: next } : null);
  const update = (i: number, patch: Partial<FilterCondition>) => set(conditions.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  return (
    <fieldset className="space-y-2" data-testid="only-if">
      <legend className="text-sm font-medium text-zinc-800">{label}</legend>
      {conditions.length === 0 && <p className="text-xs text-zinc-500">Every row (add a condition to skip rows, e.g. those without a domain).</p>}
      {conditions.map((c, i) => {
        const column = byId.get(c.column_id);
        const ops = (column ? operatorsFor(column.type) : ["is_not_empty" as FilterOperator]).filter(SIMPLE);
        const error = errors[`config.only_if.conditions.${i}`] ?? Object.entries(errors).find(([k]) => k.startsWith(`config.only_if.conditions.${i}.`))?.[1];
        return (
          <div key={i} className="space-y-1">
            <div className="flex flex-wrap items-center gap-1.5 sm:flex-nowrap">
              {i > 0 ? (
                i === 1 ? (
                  <Select aria-label="Join conditions with" className="w-20 shrink-0" value={group.conjunction ?? "and"} onChange={(e) => onChange({ ...group, conjunction: e.target.value as "and" | "or" })}>
                    <option value="and">and</option>
                    <option value="or">or</option>
                  </Select>
                ) : (
                  <span className="w-20 shrink-0 px-3 text-sm text-zinc-500">{group.conjunction ?? "and"}</span>
                )
              ) : (
                <span className="w-20 shrink-0 px-3 text-sm text-zinc-500">where</span>
              )}
              <Select aria-label={`Condition ${i + 1}: column`} className="min-w-0 flex-1" value={c.column_id} onChange={(e) => update(i, { column_id: e.target.value, operator: "is_not_empty", value: null })}>
                {columns.map((col) => (
                  <option key={col.id} value={col.id}>
                    {col.name}
                  </option>
                ))}
              </Select>
              <Select aria-label={`Condition ${i + 1}: operator`} className="min-w-0 flex-1" value={c.operator} onChange={(e) => update(i, { operator: e.target.value as FilterOperator, value: NO_VALUE(e.target.value as FilterOperator) ? null : (c.value ?? "") })}>
                {ops.map((op) => (
                  <option key={op} value={op}>
                    {OPERATOR_LABEL[op]}
                  </option>
                ))}
              </Select>
              {!NO_VALUE(c.operator) &&
                (column?.type === "checkbox" ? (
                  <Select aria-label={`Condition ${i + 1}: value`} className="w-28 shrink-0" value={String(c.value === true)} onChange={(e) => update(i, { value: e.target.value === "true" })}>
                    <option value="true">ticked</option>
                    <option value="false">not ticked</option>
                  </Select>
                ) : (
                  <input
                    aria-label={`Condition ${i + 1}: value`}
                    className="block w-32 min-w-0 shrink rounded-md border-0 px-2.5 py-2 text-sm shadow-sm ring-1 ring-inset ring-zinc-300 focus:ring-2 focus:ring-indigo-500 focus:outline-none"
                    value={c.value === null || c.value === undefined ? "" : String(c.value)}
                    onChange={(e) => update(i, { value: valueFor(column, e.target.value) })}
                  />
                ))}
              <button type="button" aria-label={`Remove condition ${i + 1}`} onClick={() => set(conditions.filter((_, j) => j !== i))} className="shrink-0 rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100">
                <IconX />
              </button>
            </div>
            {error && <p className="pl-[5.75rem] text-xs text-red-700">{error}</p>}
          </div>
        );
      })}
      <Button size="sm" variant="ghost" disabled={!columns.length} onClick={() => set([...conditions, { column_id: columns[0]?.id ?? "", operator: "is_not_empty", value: null }])}>
        <IconPlus /> Add a condition
      </Button>
      {errors["config.only_if"] && <p className="text-xs text-red-700">{errors["config.only_if"]}</p>}
    </fieldset>
  );
}
