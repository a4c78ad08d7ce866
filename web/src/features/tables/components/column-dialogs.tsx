import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Field, Input } from "@/components/ui/form";
import { isApiError, type Schemas } from "@/lib/api";
import { cn } from "@/lib/cn";
import { formatNumber } from "@/lib/format";

import type { Column, ColumnType } from "../api/tables";
import { addableKinds } from "../grid/column-kinds";
import { COLUMN_TYPES, TypeIcon, formatCell } from "../grid/column-types";

function TypePicker({ value, onChange }: { value: ColumnType; onChange(t: ColumnType): void }) {
  return (
    <div role="radiogroup" aria-label="Column type" className="grid grid-cols-2 gap-1.5 sm:grid-cols-3">
      {COLUMN_TYPES.map((t) => (
        <button
          key={t.type}
          type="button"
          role="radio"
          aria-checked={value === t.type}
          onClick={() => onChange(t.type)}
          className={cn(
            "flex items-center gap-2 rounded-md px-2.5 py-1.5 text-left text-sm ring-1 ring-inset",
            value === t.type ? "bg-indigo-50 font-medium text-indigo-800 ring-indigo-300" : "text-zinc-700 ring-zinc-200 hover:bg-zinc-50",
          )}
        >
          <TypeIcon type={t.type} className="size-3.5 shrink-0" />
          {t.label}
        </button>
      ))}
    </div>
  );
}

function ChoicesField({ value, onChange }: { value: string; onChange(v: string): void }) {
  return (
    <Field label="Options" hint="One per line. Cells offer these in a drop-down.">
      {({ id, describedBy }) => (
        <textarea
          id={id}
          aria-describedby={describedBy}
          rows={4}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          className="block w-full rounded-md border-0 px-3 py-2 text-sm shadow-sm ring-1 ring-inset ring-zinc-300 focus:ring-2 focus:ring-indigo-500 focus:outline-none"
        />
      )}
    </Field>
  );
}

const splitChoices = (text: string) => [...new Set(text.split("\n").map((s) => s.trim()).filter(Boolean))];

/**
 * Add a column. Plain types are here; computed kinds (enrichment, formula, AI) register in
 * grid/column-kinds.ts and bring their own forms with issue 10.
 */
export function AddColumnDialog({
  open,
  onClose,
  onSubmit,
  busy,
  error,
}: {
  open: boolean;
  onClose(): void;
  onSubmit(body: Schemas["ColumnCreate"]): void;
  busy: boolean;
  error: unknown;
}) {
  const [name, setName] = useState("");
  const [type, setType] = useState<ColumnType>("text");
  const [choices, setChoices] = useState("");
  const fields = isApiError(error) ? error.fieldErrors() : {};
  const general = isApiError(error) && !fields.name ? error.message : undefined;
  const kinds = addableKinds();

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return;
    const options = type === "single_select" || type === "multi_select" ? { choices: splitChoices(choices) } : {};
    onSubmit({ name: name.trim(), type, kind: "data", hidden: false, options });
  }

  return (
    <Dialog open={open} onClose={onClose} title="Add a column" description={kinds.length > 1 ? undefined : "A column of values you type, paste or import."}>
      <form onSubmit={submit} className="space-y-4" noValidate>
        {general && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
            {general}
          </p>
        )}
        <Field label="Name" error={fields.name}>
          {({ id, describedBy, invalid }) => <Input id={id} autoFocus required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} aria-invalid={invalid} aria-describedby={describedBy} placeholder="e.g. Industry" />}
        </Field>
        <div className="space-y-1.5">
          <p className="text-sm font-medium text-zinc-800">Type</p>
          <TypePicker value={type} onChange={setType} />
        </div>
        {(type === "single_select" || type === "multi_select") && <ChoicesField value={choices} onChange={setChoices} />}
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
            Add column
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

export function RenameColumnDialog({ column, onClose, onSubmit, busy }: { column: Column; onClose(): void; onSubmit(name: string): void; busy: boolean }) {
  const [name, setName] = useState(column.name);
  return (
    <Dialog open onClose={onClose} title="Rename column">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) onSubmit(name.trim());
        }}
      >
        <Field label="Name">{({ id }) => <Input id={id} autoFocus maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy} disabled={!name.trim() || name.trim() === column.name}>
            Rename
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

export interface TypeChangeReport {
  not_converted?: number;
  samples?: { row_id?: number; value?: string; text?: string }[];
  [key: string]: unknown;
}

/** Change a column's type; the API converts every cell and reports those it could not (kept as their original text). */
export function ChangeTypeDialog({
  column,
  onClose,
  onSubmit,
  busy,
  report,
}: {
  column: Column;
  onClose(): void;
  onSubmit(type: ColumnType, options?: Record<string, unknown>): void;
  busy: boolean;
  report: TypeChangeReport | null;
}) {
  const [type, setType] = useState<ColumnType>(column.type);
  const [choices, setChoices] = useState("");
  if (report) {
    const failed = report.not_converted ?? 0;
    return (
      <Dialog open onClose={onClose} title="Type changed">
        <div className="space-y-3 text-sm" data-testid="type-change-report">
          {failed === 0 ? (
            <p className="text-zinc-700">Every cell of “{column.name}” converted.</p>
          ) : (
            <>
              <p className="text-zinc-700">
                {formatNumber(failed)} {failed === 1 ? "cell" : "cells"} did not convert. They are empty now and keep their original text, shown in red in the grid, until someone writes them again.
              </p>
              {report.samples && report.samples.length > 0 && (
                <ul className="max-h-40 overflow-auto rounded-md bg-zinc-50 p-2 font-mono text-xs ring-1 ring-inset ring-zinc-200">
                  {report.samples.map((s, i) => (
                    <li key={i}>
                      {s.row_id !== undefined ? `row ${s.row_id}: ` : ""}
                      {s.text ?? s.value ?? JSON.stringify(s)}
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
          <DialogActions>
            <Button variant="primary" onClick={onClose}>
              Done
            </Button>
          </DialogActions>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog open onClose={onClose} title={`Change the type of “${column.name}”`} description="Cells that do not fit the new type are emptied and keep their original text, so nothing is lost. You get a report.">
      <div className="space-y-4">
        <TypePicker value={type} onChange={setType} />
        {(type === "single_select" || type === "multi_select") && <ChoicesField value={choices} onChange={setChoices} />}
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" busy={busy} disabled={type === column.type} onClick={() => onSubmit(type, type === "single_select" || type === "multi_select" ? { ...column.options, choices: splitChoices(choices) } : undefined)}>
            Change type
          </Button>
        </DialogActions>
      </div>
    </Dialog>
  );
}

/** A 409 on a cell: someone wrote it since this user read it. Show theirs and mine; the user picks. */
export function ConflictDialog({ column, mine, theirs, onKeepTheirs, onUseMine, busy }: { column: Column; mine: unknown; theirs: unknown; onKeepTheirs(): void; onUseMine(): void; busy: boolean }) {
  const show = (v: unknown) => formatCell(column.type, v) || "(empty)";
  return (
    <Dialog open onClose={onKeepTheirs} title="Someone else changed this cell" description={`“${column.name}” was updated after you started editing it.`}>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
        <dt className="text-zinc-500">Now in the table</dt>
        <dd className="break-all font-medium" data-testid="conflict-theirs">
          {show(theirs)}
        </dd>
        <dt className="text-zinc-500">Your value</dt>
        <dd className="break-all font-medium" data-testid="conflict-mine">
          {show(mine)}
        </dd>
      </dl>
      <DialogActions>
        <Button onClick={onKeepTheirs}>Keep theirs</Button>
        <Button variant="primary" busy={busy} onClick={onUseMine}>
          Use mine
        </Button>
      </DialogActions>
    </Dialog>
  );
}
