import { useEffect } from "react";

import { Skeleton } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";

import { useTable, useTables, type Column } from "../api/tables";
import { guessMatch, lookupColumnType, matchableColumns, pickTable, type LookupDraft, type LookupMode } from "../forms/lookup";
import { typeInfo } from "../grid/column-types";
import { ColumnSelect, ErrorText, Section } from "./computed-column-forms";
import { ConditionBuilder } from "./condition-builder";

/**
 * A lookup column: for each row, the value of a column of another table whose key matches this
 * row's key (the first non-empty one, or a list). Free and always up to date: recomputed when
 * either table changes. Rules and 422 paths: forms/lookup.ts.
 */
export function LookupForm({
  workspaceId,
  tableId,
  columns,
  draft,
  onChange,
  onTheirColumns,
  errors,
}: {
  workspaceId: string;
  tableId: string;
  columns: Column[];
  draft: LookupDraft;
  onChange(next: LookupDraft): void;
  /** the other table's columns, once loaded (the dialog types the column after the returned one) */
  onTheirColumns(columns: Column[]): void;
  errors: Record<string, string>;
}) {
  const tables = useTables(workspaceId);
  const others = (tables.data ?? []).filter((t) => t.id !== tableId);
  const other = useTable(workspaceId, draft.tableId, Boolean(draft.tableId));
  const theirs = draft.tableId ? (other.data?.columns ?? []) : [];
  const returned = theirs.find((c) => c.id === draft.returnColumnId);

  // The other table's columns arrive after it is picked: then guess the key by name, once.
  useEffect(() => {
    onTheirColumns(theirs);
    const guessed = guessMatch(draft, columns, theirs);
    if (guessed !== draft) onChange(guessed);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when the other table's columns arrive
  }, [other.data]);

  if (tables.isPending) return <Skeleton className="h-40 w-full" />;

  return (
    <div className="space-y-5" data-testid="lookup-form">
      <Field label="Look in" hint={others.length ? undefined : "There is no other table in this workspace yet: create or import one first."} error={errors["config.table_id"]}>
        {({ id, describedBy, invalid }) => (
          <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={draft.tableId} onChange={(e) => onChange(pickTable(draft, e.target.value))}>
            <option value="">Choose a table…</option>
            {others.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
            {draft.tableId && !others.some((t) => t.id === draft.tableId) && <option value={draft.tableId}>(a table that is gone)</option>}
          </Select>
        )}
      </Field>

      <Section title="Match rows" hint="A row here takes the value from the rows there whose key is equal (exact, case-sensitive).">
        <div className="grid gap-3 sm:grid-cols-2">
          <ColumnSelect label="This table's column" value={draft.matchColumnId} columns={matchableColumns(columns)} onChange={(matchColumnId) => onChange({ ...draft, matchColumnId })} error={errors["config.match.column_id"]} placeholder="Column…" />
          {draft.tableId && other.isPending ? (
            <Skeleton className="mt-6 h-9 w-full" />
          ) : (
            <ColumnSelect label="equals, in the other table" value={draft.targetColumnId} columns={theirs} onChange={(targetColumnId) => onChange({ ...draft, targetColumnId })} error={errors["config.match.target_column_id"]} placeholder={draft.tableId ? "Column…" : "Pick the table first"} />
          )}
        </div>
      </Section>

      <Section title="Bring back">
        <div className="grid gap-3 sm:grid-cols-2">
          <ColumnSelect
            label="Value of"
            value={draft.returnColumnId}
            columns={theirs}
            onChange={(returnColumnId) => onChange({ ...draft, returnColumnId })}
            error={errors["config.return_column_id"]}
            placeholder={draft.tableId ? "Column…" : "Pick the table first"}
            hint={returned ? `This column will be ${typeInfo(lookupColumnType(draft, theirs)).label.toLowerCase()}.` : undefined}
          />
          <fieldset className="space-y-1.5">
            <legend className="text-sm font-medium text-zinc-800">When several rows match</legend>
            {(
              [
                ["first", "The first value (oldest row first)"],
                ["list", "A list of the values (JSON)"],
              ] as [LookupMode, string][]
            ).map(([mode, label]) => (
              <label key={mode} className="flex items-center gap-2 text-sm text-zinc-700">
                <input type="radio" name="lookup-mode" value={mode} checked={draft.mode === mode} onChange={() => onChange({ ...draft, mode })} className="size-4 accent-indigo-600" />
                {label}
              </label>
            ))}
            {errors["config.mode"] && <ErrorText>{errors["config.mode"]}</ErrorText>}
          </fieldset>
        </div>
        {draft.mode === "list" && (
          <Field label="At most" hint="Values per row, 1 to 100." error={errors["config.limit"]} className="sm:w-1/2">
            {({ id, describedBy, invalid }) => <Input id={id} type="number" min={1} max={100} step={1} aria-describedby={describedBy} aria-invalid={invalid} value={draft.limit} onChange={(e) => onChange({ ...draft, limit: e.target.value })} />}
          </Field>
        )}
      </Section>

      <ConditionBuilder columns={columns.filter((c) => c.kind === "data")} value={draft.onlyIf} onChange={(onlyIf) => onChange({ ...draft, onlyIf })} errors={errors} />
      <p className="text-xs text-zinc-600">Free, and kept up to date: new rows, edited keys and changes in the other table recompute it by themselves.</p>
    </div>
  );
}
