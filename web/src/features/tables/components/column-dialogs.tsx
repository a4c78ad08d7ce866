import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Field, Input } from "@/components/ui/form";
import type { Schemas } from "@/lib/api";
import { cn } from "@/lib/cn";
import { formatNumber } from "@/lib/format";

import { useProviderCatalog } from "../api/runs";
import type { Column, ColumnType } from "../api/tables";
import { aiColumnType, aiConfig, aiDraftOf, emptyAiDraft, splitLines, validateAi, type AiDraft } from "../forms/ai";
import { configErrors, unplaced } from "../forms/config-errors";
import { autoMap, emptyDraft, fieldLabel, fromConfig, providersFor, toConfig, typeForField, validateDraft, type EnrichmentDraft } from "../forms/enrichment";
import { addableKinds, type ColumnKind } from "../grid/column-kinds";
import { COLUMN_TYPES, TypeIcon, formatCell } from "../grid/column-types";
import { emptyHttpDraft, httpConfig, httpDraftOf, placeHttpErrors, validateHttp, type HttpDraft } from "../forms/http";
import { emptyLookupDraft, lookupColumnType, lookupConfig, lookupDraftOf, validateLookup, type LookupDraft } from "../forms/lookup";
import { AiForm, EnrichmentForm, FormulaForm, type FormulaDraft } from "./computed-column-forms";
import { HttpForm } from "./http-column-form";
import { LookupForm } from "./lookup-column-form";

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

export interface NewOutputColumn {
  field: string;
  body: Schemas["ColumnCreate"];
}

function KindPicker({ value, onChange }: { value: ColumnKind; onChange(kind: ColumnKind): void }) {
  const kinds = addableKinds();
  return (
    <div role="radiogroup" aria-label="Kind of column" className="grid grid-cols-2 gap-1.5 sm:grid-cols-3">
      {kinds.map(([kind, spec]) => (
        <button
          key={kind}
          type="button"
          role="radio"
          aria-checked={value === kind}
          onClick={() => onChange(kind)}
          className={cn(
            "rounded-md px-2.5 py-1.5 text-left text-sm ring-1 ring-inset",
            value === kind ? "bg-indigo-50 text-indigo-900 ring-indigo-300" : "text-zinc-700 ring-zinc-200 hover:bg-zinc-50",
          )}
        >
          <span className="block font-medium">{spec.label}</span>
          <span className={cn("block text-xs", value === kind ? "text-indigo-800" : "text-zinc-600")}>{spec.hint}</span>
        </button>
      ))}
    </div>
  );
}

interface ColumnDialogProps {
  open: boolean;
  onClose(): void;
  /** `outputs`: data columns to create first (enrichment outputs); `body.config.outputs` holds those that exist */
  onSubmit(body: Schemas["ColumnCreate"], outputs: NewOutputColumn[]): void;
  /** the form changed: a previous server error no longer applies */
  onEdit(): void;
  busy: boolean;
  error: unknown;
  workspaceId: string;
  tableId: string;
  columns: Column[];
}

/**
 * Add a column: plain (a type), or a kind that computes (column-kinds.tsx): enrichment (field,
 * waterfall, inputs, outputs, only-if, auto-run, write policy), formula (expression with a live
 * preview), AI (prompt, model, output schema). Checks what it can before sending; the server's
 * 422 details land next to the fields they name.
 */
export function AddColumnDialog(props: ColumnDialogProps) {
  return <ColumnDialog {...props} />;
}

/**
 * A computed column's settings after it was made (the column menu's "… settings"): the same
 * forms as when adding it, filled from its config. The parent PATCHes the column; the server
 * validates again and answers 409 while a run of the column is in progress.
 */
export function EditColumnDialog({ column, ...props }: Omit<ColumnDialogProps, "open" | "onSubmit"> & { column: Column; onSubmit(body: Schemas["ColumnUpdate"], outputs: NewOutputColumn[]): void }) {
  if (!FORM_KINDS.has(column.kind)) return <JsonSettingsDialog column={column} onClose={props.onClose} onEdit={props.onEdit} busy={props.busy} error={props.error} onSubmit={(config) => props.onSubmit({ config }, [])} />;
  return <ColumnDialog {...props} open editing={column} onSubmit={(body, outputs) => props.onSubmit(editBody(column, body), outputs)} />;
}

/** Kinds with a form of their own; any other (a kind a newer server added) is edited as its JSON config. */
const FORM_KINDS = new Set<ColumnKind>(["enrichment", "formula", "ai", "http", "lookup"]);

/** A kind without a form (or the form's "Edit as JSON"): its stored config as JSON, checked by the server like any other (422 details listed). */
function JsonSettingsDialog({ column, onClose, onEdit, onSubmit, busy, error }: { column: Column; onClose(): void; onEdit(): void; onSubmit(config: Record<string, unknown>): void; busy: boolean; error: unknown }) {
  const [text, setText] = useState(() => JSON.stringify(column.config ?? {}, null, 2));
  const [local, setLocal] = useState<string | null>(null);
  const server = configErrors(error);
  const problems = server.problems.map((p) => `${p.field}: ${p.message}`);
  return (
    <Dialog open onClose={onClose} title={`“${column.name}” settings`} size="xl" description="This kind of column has no form yet: its settings as the API stores them (docs/columns.md).">
      <form
        className="space-y-4"
        noValidate
        data-testid="column-settings-form"
        onSubmit={(e) => {
          e.preventDefault();
          let config: unknown;
          try {
            config = JSON.parse(text);
          } catch {
            return setLocal("This is not valid JSON.");
          }
          if (!config || typeof config !== "object" || Array.isArray(config)) return setLocal("The settings are a JSON object: { ... }.");
          onSubmit(config as Record<string, unknown>);
        }}
      >
        {server.message && (
          <div role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
            <p>{server.message}</p>
            {problems.length > 0 && (
              <ul className="mt-1 list-disc pl-5 text-xs">
                {problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        <Field label="Settings (JSON)" error={local ?? undefined}>
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              rows={16}
              spellCheck={false}
              value={text}
              onChange={(e) => {
                setText(e.target.value);
                setLocal(null);
                onEdit();
              }}
              className="block w-full rounded-md border-0 px-3 py-2 font-mono text-xs shadow-sm ring-1 ring-inset ring-zinc-300 focus:ring-2 focus:ring-indigo-500 focus:outline-none"
            />
          )}
        </Field>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy}>
            Save settings
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

/** What changed, as a PATCH body: the config always (the server re-validates it), the rest only when it changed. */
function editBody(column: Column, body: Schemas["ColumnCreate"]): Schemas["ColumnUpdate"] {
  const out: Schemas["ColumnUpdate"] = { config: body.config ?? {} };
  if (body.name !== column.name) out.name = body.name;
  if (body.type !== column.type) out.type = body.type;
  if (JSON.stringify(body.options ?? {}) !== JSON.stringify(column.options ?? {})) out.options = body.options ?? {};
  return out;
}

function ColumnDialog({
  open,
  onClose,
  onSubmit,
  onEdit,
  busy,
  error,
  workspaceId,
  tableId,
  columns: allColumns,
  editing,
}: ColumnDialogProps & { editing?: Column }) {
  // A column never reads itself: its own cells are not offered as inputs.
  const columns = editing ? allColumns.filter((c) => c.id !== editing.id) : allColumns;
  const config = (editing?.config ?? {}) as Record<string, unknown>;
  const [kind, setKind] = useState<ColumnKind>(editing?.kind ?? "data");
  const [name, setName] = useState(editing?.name ?? "");
  const [named, setNamed] = useState(Boolean(editing));
  const [type, setType] = useState<ColumnType>(editing?.type ?? "text");
  const [choices, setChoices] = useState("");
  const [enrichment, setEnrichment] = useState<EnrichmentDraft>(() => (editing?.kind === "enrichment" ? fromConfig(config, allColumns) : emptyDraft()));
  const [formula, setFormula] = useState<FormulaDraft>(() => (editing?.kind === "formula" ? { expression: String(config.expression ?? ""), type: editing.type } : { expression: "", type: "text" }));
  const [ai, setAi] = useState<AiDraft>(() => (editing?.kind === "ai" ? aiDraftOf(config) : emptyAiDraft()));
  const [http, setHttp] = useState<HttpDraft>(() => (editing?.kind === "http" ? httpDraftOf(config, editing.type) : emptyHttpDraft()));
  const [lookup, setLookup] = useState<LookupDraft>(() => (editing?.kind === "lookup" ? lookupDraftOf(config) : emptyLookupDraft()));
  // The lookup's type follows the other table's returned column: the form reports those columns.
  const [lookupTheirs, setLookupTheirs] = useState<Column[]>([]);
  // Editing: the output columns the enrichment already writes (field -> column id) are kept as they are.
  const existingOutputs = (editing?.kind === "enrichment" ? (config.outputs as Record<string, string> | undefined) : undefined) ?? {};
  const kept = (o: { field: string; name: string }) => {
    const id = existingOutputs[o.field];
    return id !== undefined && allColumns.find((c) => c.id === id)?.name === o.name.trim() ? id : undefined;
  };
  const [local, setLocal] = useState<Record<string, string>>({});
  const providers = useProviderCatalog().data ?? [];
  const server = configErrors(error);
  const errors = { ...(kind === "http" ? placeHttpErrors(http, server.byPath) : server.byPath), ...local };
  const nameError = errors.name;
  const placed = kind === "enrichment" ? ["name", "config.field", "config.waterfall", "config.inputs", "config.outputs", "config.only_if", "config.auto_run", "outputs"] : kind === "formula" ? ["name", "config.expression"] : kind === "ai" ? ["name", "config.prompt", "config.model", "config.output"] : kind === "http" ? ["name", "config.method", "config.url", "config.body", "config.extract", "config.rate_limit_per_second", "config.timeout_s", "config.only_if", "config.auto_run", "auth", "headers"] : kind === "lookup" ? ["name", "config.table_id", "config.match", "config.return_column_id", "config.mode", "config.limit", "config.only_if"] : ["name"];
  const leftover = unplaced(kind === "http" ? placeHttpErrors(http, server.byPath) : server.byPath, placed);
  const general = server.message && (leftover.length || !server.problems.length) ? server.message : null;
  const formulaProblemFromServer = server.code === "invalid_formula" ? (server.problems.find((p) => p.field === "config.expression") ?? null) : null;

  function edited() {
    setLocal({});
    onEdit();
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = name.trim();
    const problems: Record<string, string> = {};
    if (!trimmed) problems.name = "Name the column.";
    if (kind === "data") {
      if (Object.keys(problems).length) return setLocal(problems);
      const options = type === "single_select" || type === "multi_select" ? { choices: splitChoices(choices) } : {};
      onSubmit({ name: trimmed, type, kind: "data", hidden: false, options }, []);
      return;
    }
    if (kind === "enrichment") {
      const keptIds = new Set(enrichment.outputs.map(kept).filter((id) => id !== undefined));
      Object.assign(problems, validateDraft({ ...enrichment, outputs: enrichment.outputs.filter((o) => !kept(o)) }, providers, [...columns.filter((c) => !keptIds.has(c.id)).map((c) => c.name), trimmed]));
      if (Object.keys(problems).length) return setLocal(problems);
      const outputs = enrichment.outputs.filter((o) => !kept(o)).map((o) => ({ field: o.field, body: { name: o.name.trim(), type: typeForField(o.field), kind: "data" as const, hidden: false, options: {} } }));
      const keep = Object.fromEntries(enrichment.outputs.flatMap((o) => (kept(o) ? [[o.field, kept(o) as string]] : [])));
      onSubmit({ name: trimmed, type: editing ? editing.type : typeForField(enrichment.field), kind: "enrichment", hidden: false, options: editing?.options ?? {}, config: toConfig(enrichment, keep) }, outputs);
      return;
    }
    if (kind === "formula") {
      if (!formula.expression.trim()) problems["config.expression"] = "Write the formula.";
      if (Object.keys(problems).length) return setLocal(problems);
      onSubmit({ name: trimmed, type: formula.type, kind: "formula", hidden: false, options: editing?.options ?? {}, config: { expression: formula.expression.trim() } }, []);
      return;
    }
    if (kind === "http") {
      Object.assign(problems, validateHttp(http, columns.map((c) => c.name)));
      if (Object.keys(problems).length) return setLocal(problems);
      onSubmit({ name: trimmed, type: http.type, kind: "http", hidden: false, options: editing?.options ?? {}, config: httpConfig(http) }, []);
      return;
    }
    if (kind === "lookup") {
      Object.assign(problems, validateLookup(lookup));
      if (Object.keys(problems).length) return setLocal(problems);
      // Editing without touching what comes back keeps the column's type (it may be text on purpose).
      const same = editing?.kind === "lookup" && lookup.returnColumnId === lookupDraftOf(config).returnColumnId && lookup.mode === lookupDraftOf(config).mode;
      const lookupType = editing && (same || !lookupTheirs.length) ? editing.type : lookupColumnType(lookup, lookupTheirs);
      onSubmit({ name: trimmed, type: lookupType, kind: "lookup", hidden: false, options: editing?.options ?? {}, config: lookupConfig(lookup) }, []);
      return;
    }
    Object.assign(problems, validateAi(ai, columns.map((c) => c.name)));
    if (Object.keys(problems).length) return setLocal(problems);
    const aiType = aiColumnType(ai.outputType);
    onSubmit({ name: trimmed, type: aiType, kind: "ai", hidden: false, options: ai.outputType === "choice" ? { choices: splitLines(ai.choices) } : {}, config: aiConfig(ai) }, []);
  }

  return (
    <Dialog open={open} onClose={onClose} title={editing ? `“${editing.name}” settings` : "Add a column"} size={kind === "data" ? "lg" : "xl"}>
      <form onSubmit={submit} onChange={edited} className="space-y-5" noValidate data-testid={editing ? "column-settings-form" : "add-column-form"}>
        {general && (
          <div role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
            <p>{general}</p>
            {leftover.length > 0 && (
              <ul className="mt-1 list-disc pl-5 text-xs">
                {leftover.map((l) => (
                  <li key={l}>{l}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        {!editing && (
          <KindPicker
            value={kind}
            onChange={(k) => {
              setKind(k);
              edited();
            }}
          />
        )}
        <Field label="Name" error={nameError}>
          {({ id, describedBy, invalid }) => (
            <Input
              id={id}
              autoFocus
              required
              maxLength={200}
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                setNamed(true);
              }}
              aria-invalid={invalid}
              aria-describedby={describedBy}
              placeholder={kind === "enrichment" ? "e.g. Work email" : kind === "formula" ? "e.g. Email guess" : kind === "ai" ? "e.g. Is B2B" : kind === "http" ? "e.g. Employees" : kind === "lookup" ? "e.g. Company size" : "e.g. Industry"}
            />
          )}
        </Field>
        {kind === "data" && (
          <>
            <div className="space-y-1.5">
              <p className="text-sm font-medium text-zinc-800">Type</p>
              <TypePicker value={type} onChange={setType} />
            </div>
            {(type === "single_select" || type === "multi_select") && <ChoicesField value={choices} onChange={setChoices} />}
          </>
        )}
        {kind === "enrichment" && (
          <EnrichmentForm
            columns={columns}
            draft={enrichment}
            errors={errors}
            onChange={(next) => {
              setEnrichment(next);
              edited();
            }}
            onFieldPicked={(field, catalog) => {
              const base = { ...enrichment, field, outputs: enrichment.outputs.filter((o) => o.field !== field) };
              // The cheapest provider first, as the registry would; the mapping guessed from column names.
              const waterfall = enrichment.waterfall.length ? enrichment.waterfall.filter((s) => providersFor(field, catalog).some((p) => p.slug === s)) : providersFor(field, catalog).map((p) => p.slug);
              const next = { ...base, waterfall };
              setEnrichment({ ...next, inputs: autoMap(next, catalog, columns.filter((c) => c.kind === "data")) });
              if (!named || !name.trim()) setName(fieldLabel(field === "email" ? "work_email" : field));
              edited();
            }}
          />
        )}
        {kind === "formula" && (
          <FormulaForm
            workspaceId={workspaceId}
            tableId={tableId}
            columns={columns}
            draft={formula}
            errors={errors}
            problem={formulaProblemFromServer}
            onChange={(next) => {
              setFormula(next);
              edited();
            }}
          />
        )}
        {kind === "http" && (
          <HttpForm
            workspaceId={workspaceId}
            columns={columns}
            draft={http}
            errors={errors}
            onChange={(next) => {
              setHttp(next);
              edited();
            }}
          />
        )}
        {kind === "lookup" && (
          <LookupForm
            workspaceId={workspaceId}
            tableId={tableId}
            columns={columns}
            draft={lookup}
            errors={errors}
            onTheirColumns={setLookupTheirs}
            onChange={(next) => {
              setLookup(next);
              edited();
            }}
          />
        )}
        {kind === "ai" && (
          <AiForm
            columns={columns}
            draft={ai}
            errors={errors}
            onChange={(next) => {
              setAi(next);
              edited();
            }}
          />
        )}
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
            {editing ? "Save settings" : "Add column"}
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
