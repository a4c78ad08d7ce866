import { useQuery } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";

import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";
import { IconCheck, IconPlus, IconX } from "@/components/ui/icons";
import { cn } from "@/lib/cn";
import { wsKey } from "@/lib/query";

import { useProviderCatalog } from "../api/runs";
import type { Column, ColumnType } from "../api/tables";
import { AI_MODELS, type AiDraft, type AiOutputType } from "../forms/ai";
import { errorAt } from "../forms/config-errors";
import {
  addProvider,
  alternativesOf,
  catalogFields,
  fieldLabel,
  inputKeys,
  moveProvider,
  outputChoices,
  providersFor,
  removeProvider,
  satisfied,
  type EnrichmentDraft,
  type Provider,
} from "../forms/enrichment";
import { formulaRef, insertAt, offsetOf, pointAt, previewFormula, promptRef } from "../forms/formula";
import { formatCell } from "../grid/column-types";
import { ConditionBuilder } from "./condition-builder";

export const textarea =
  "block w-full rounded-md border-0 px-3 py-2 font-mono text-sm shadow-sm ring-1 ring-inset ring-zinc-300 focus:ring-2 focus:ring-indigo-500 focus:outline-none aria-[invalid=true]:ring-red-400";

export function Section({ title, children, hint }: { title: string; children: React.ReactNode; hint?: React.ReactNode }) {
  return (
    <section className="space-y-2">
      <div>
        <h3 className="text-sm font-medium text-zinc-800">{title}</h3>
        {hint && <p className="text-xs text-zinc-500">{hint}</p>}
      </div>
      {children}
    </section>
  );
}

export function ErrorText({ children }: { children: React.ReactNode }) {
  return (
    <p className="text-xs text-red-700" role="alert">
      {children}
    </p>
  );
}

/** A labelled pick of one column (with an empty first choice when `placeholder` is given). */
export function ColumnSelect({ label, value, columns, onChange, error, placeholder, hint }: { label: string; value: string; columns: Column[]; onChange(id: string): void; error?: string; placeholder?: string; hint?: string }) {
  return (
    <Field label={label} error={error} hint={hint}>
      {({ id, describedBy, invalid }) => (
        <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={value} onChange={(e) => onChange(e.target.value)}>
          {placeholder !== undefined && <option value="">{placeholder}</option>}
          {columns.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </Select>
      )}
    </Field>
  );
}

export function Switch({ checked, onChange, label, hint }: { checked: boolean; onChange(v: boolean): void; label: string; hint?: string }) {
  const id = useId();
  return (
    <div className="flex items-start gap-3">
      <button
        id={id}
        type="button"
        role="switch"
        aria-checked={checked}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onClick={() => onChange(!checked)}
        className={cn("relative mt-0.5 inline-flex h-5 w-9 shrink-0 rounded-full transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600", checked ? "bg-indigo-600" : "bg-zinc-300")}
      >
        <span className={cn("absolute top-0.5 size-4 rounded-full bg-white shadow transition-transform", checked ? "translate-x-4" : "translate-x-0.5")} />
        <span className="sr-only">{label}</span>
      </button>
      <label htmlFor={id} className="text-sm">
        <span className="font-medium text-zinc-800">{label}</span>
        {hint && (
          <span id={`${id}-hint`} className="block text-xs text-zinc-500">
            {hint}
          </span>
        )}
      </label>
    </div>
  );
}

export function WritePolicyField({ value, onChange }: { value: "fill_empty" | "overwrite"; onChange(v: "fill_empty" | "overwrite"): void }) {
  return (
    <fieldset className="space-y-1.5">
      <legend className="text-sm font-medium text-zinc-800">When a cell already has a value</legend>
      {(
        [
          ["fill_empty", "Keep it (fill empty cells only)"],
          ["overwrite", "Replace it (the history keeps the old value)"],
        ] as const
      ).map(([v, label]) => (
        <label key={v} className="flex items-center gap-2 text-sm text-zinc-700">
          <input type="radio" name="write-policy" value={v} checked={value === v} onChange={() => onChange(v)} className="size-4 accent-indigo-600" />
          {label}
        </label>
      ))}
    </fieldset>
  );
}

// ---- enrichment ------------------------------------------------------------------------------

function needsText(alternatives: string[][]): string {
  return alternatives.map((alt) => alt.map((k) => k.replace(/_/g, " ")).join(" + ")).join(", or ");
}

function WaterfallBuilder({ draft, providers, onChange, error }: { draft: EnrichmentDraft; providers: Provider[]; onChange(waterfall: string[]): void; error?: string }) {
  const bySlug = new Map(providers.map((p) => [p.slug, p]));
  const offered = providersFor(draft.field, providers).filter((p) => !draft.waterfall.includes(p.slug));
  const [pick, setPick] = useState("");
  return (
    <Section title="Providers, in order" hint="Each row asks the first provider; when it finds nothing, the next one. You pay only for what is found.">
      <ol className="space-y-1.5" aria-label="Waterfall" data-testid="waterfall">
        {draft.waterfall.map((slug, i) => {
          const p = bySlug.get(slug);
          const alts = alternativesOf(p, draft.field);
          const ok = satisfied(alts, draft.inputs);
          return (
            <li key={slug} className="flex items-center gap-2 rounded-md bg-zinc-50 px-2.5 py-2 ring-1 ring-inset ring-zinc-200">
              <span className="flex size-5 shrink-0 items-center justify-center rounded-full bg-indigo-100 text-xs font-semibold text-indigo-700">{i + 1}</span>
              <div className="min-w-0 flex-1">
                <p className="flex flex-wrap items-center gap-1.5 text-sm font-medium">
                  {p?.name ?? slug}
                  <span className="text-xs font-normal text-zinc-500">{p ? `${p.credit_cost} ${p.credit_cost === 1 ? "credit" : "credits"} per found value` : ""}</span>
                </p>
                <p className={cn("flex items-center gap-1 text-xs", ok ? "text-emerald-700" : "text-zinc-600")}>
                  {ok && <IconCheck className="size-3 shrink-0" />}
                  {ok ? `uses ${needsText(alts.filter((a) => satisfied([a], draft.inputs)).slice(0, 1))}` : `needs ${alts.length ? needsText(alts) : "nothing"}`}
                </p>
              </div>
              <button type="button" aria-label={`Move ${p?.name ?? slug} up`} disabled={i === 0} onClick={() => onChange(moveProvider(draft.waterfall, i, -1))} className="rounded p-1 text-zinc-500 hover:bg-zinc-200 disabled:opacity-30">
                ↑
              </button>
              <button type="button" aria-label={`Move ${p?.name ?? slug} down`} disabled={i === draft.waterfall.length - 1} onClick={() => onChange(moveProvider(draft.waterfall, i, 1))} className="rounded p-1 text-zinc-500 hover:bg-zinc-200 disabled:opacity-30">
                ↓
              </button>
              <button type="button" aria-label={`Remove ${p?.name ?? slug}`} onClick={() => onChange(removeProvider(draft.waterfall, i))} className="rounded p-1 text-zinc-500 hover:bg-zinc-200">
                <IconX className="size-3.5" />
              </button>
            </li>
          );
        })}
      </ol>
      {offered.length > 0 && (
        <div className="flex gap-2">
          <Select aria-label="Provider to add" value={pick} onChange={(e) => setPick(e.target.value)} className="flex-1">
            <option value="">Add a provider…</option>
            {offered.map((p) => (
              <option key={p.slug} value={p.slug}>
                {p.name} ({p.credit_cost} {p.credit_cost === 1 ? "credit" : "credits"})
              </option>
            ))}
          </Select>
          <Button
            disabled={!pick}
            onClick={() => {
              onChange(addProvider(draft.waterfall, pick));
              setPick("");
            }}
          >
            <IconPlus /> Add
          </Button>
        </div>
      )}
      {!draft.waterfall.length && !offered.length && <p className="text-xs text-zinc-500">No provider supplies this field.</p>}
      {error && <ErrorText>{error}</ErrorText>}
    </Section>
  );
}

export function EnrichmentForm({
  columns,
  draft,
  onChange,
  errors,
  onFieldPicked,
}: {
  columns: Column[];
  draft: EnrichmentDraft;
  onChange(next: EnrichmentDraft): void;
  errors: Record<string, string>;
  /** the field changed: the dialog may name the column after it */
  onFieldPicked(field: string, providers: Provider[]): void;
}) {
  const catalog = useProviderCatalog();
  const providers = catalog.data ?? [];
  const fields = catalogFields(providers);
  const keys = inputKeys(draft, providers);
  const dataColumns = columns.filter((c) => c.kind === "data");
  const outputs = outputChoices(draft, providers);

  if (catalog.isPending) return <Skeleton className="h-40 w-full" />;
  if (catalog.isError) return <ErrorText>The provider catalog could not be loaded. Close the dialog and try again.</ErrorText>;

  return (
    <div className="space-y-5">
      <Field label="Find" hint={draft.field ? undefined : "What this column holds: a person's work email, a company's industry…"} error={errors["config.field"]}>
        {({ id, describedBy, invalid }) => (
          <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={draft.field} onChange={(e) => onFieldPicked(e.target.value, providers)}>
            <option value="">Choose a field…</option>
            {fields.map((f) => (
              <option key={f} value={f}>
                {fieldLabel(f)}
              </option>
            ))}
          </Select>
        )}
      </Field>

      {draft.field && (
        <>
          <WaterfallBuilder draft={draft} providers={providers} error={errorAt(errors, "config.waterfall")} onChange={(waterfall) => onChange({ ...draft, waterfall })} />

          {keys.length > 0 && (
            <Section title="Inputs from your columns" hint="What the providers read from each row. Map what you have; one provider's needs are enough.">
              <div className="grid gap-x-3 gap-y-2 sm:grid-cols-2" data-testid="inputs">
                {keys.map((key) => (
                  <Field key={key} label={fieldLabel(key)} error={errors[`config.inputs.${key}`]}>
                    {({ id, describedBy, invalid }) => (
                      <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={draft.inputs[key] ?? ""} onChange={(e) => onChange({ ...draft, inputs: { ...draft.inputs, [key]: e.target.value } })}>
                        <option value="">Not mapped</option>
                        {dataColumns.map((c) => (
                          <option key={c.id} value={c.id}>
                            {c.name}
                          </option>
                        ))}
                      </Select>
                    )}
                  </Field>
                ))}
              </div>
              {errors["config.inputs"] && <ErrorText>{errors["config.inputs"]}</ErrorText>}
            </Section>
          )}

          <Section title="Also fill from the same call" hint="More fields the provider returns anyway, each into a new column, at no extra lookup.">
            {draft.outputs.map((o, i) => (
              <div key={i} className="space-y-1">
                <div className="flex gap-2">
                  <Select aria-label={`Output ${i + 1}: field`} className="flex-1" value={o.field} onChange={(e) => onChange({ ...draft, outputs: draft.outputs.map((x, j) => (j === i ? { field: e.target.value, name: x.name || fieldLabel(e.target.value) } : x)) })}>
                    <option value="">Field…</option>
                    {[...new Set([o.field, ...outputs].filter(Boolean))].map((f) => (
                      <option key={f} value={f}>
                        {fieldLabel(f)}
                      </option>
                    ))}
                  </Select>
                  <Input aria-label={`Output ${i + 1}: new column name`} className="flex-1" value={o.name} onChange={(e) => onChange({ ...draft, outputs: draft.outputs.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })} />
                  <button type="button" aria-label={`Remove output ${i + 1}`} onClick={() => onChange({ ...draft, outputs: draft.outputs.filter((_, j) => j !== i) })} className="shrink-0 rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100">
                    <IconX />
                  </button>
                </div>
                {(errors[`outputs.${i}`] ?? errorAt(errors, `config.outputs.${o.field}`)) && <ErrorText>{errors[`outputs.${i}`] ?? errorAt(errors, `config.outputs.${o.field}`)}</ErrorText>}
              </div>
            ))}
            <Button size="sm" variant="ghost" disabled={!outputs.length} onClick={() => onChange({ ...draft, outputs: [...draft.outputs, { field: "", name: "" }] })}>
              <IconPlus /> Add an output
            </Button>
          </Section>

          <ConditionBuilder columns={dataColumns} value={draft.onlyIf} onChange={(onlyIf) => onChange({ ...draft, onlyIf })} errors={errors} />

          <Switch checked={draft.autoRun} onChange={(autoRun) => onChange({ ...draft, autoRun })} label="Run automatically" hint="On new rows, and on rows whose inputs change. Uses credits without asking each time." />
          {errors["config.auto_run"] && <ErrorText>{errors["config.auto_run"]}</ErrorText>}
          <WritePolicyField value={draft.writePolicy} onChange={(writePolicy) => onChange({ ...draft, writePolicy })} />
        </>
      )}
    </div>
  );
}

// ---- formula ---------------------------------------------------------------------------------

function useDebounced<T>(value: T, ms: number): T {
  const [out, setOut] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setOut(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return out;
}

export function ColumnChips({ columns, onPick, label }: { columns: Column[]; onPick(c: Column): void; label: string }) {
  return (
    <div role="group" aria-label={label} className="flex max-h-24 flex-wrap gap-1 overflow-auto">
      {columns.map((c) => (
        <button key={c.id} type="button" onClick={() => onPick(c)} className="rounded-full bg-zinc-100 px-2 py-0.5 text-xs text-zinc-700 ring-1 ring-inset ring-zinc-200 hover:bg-indigo-50 hover:text-indigo-800">
          {c.name}
        </button>
      ))}
    </div>
  );
}

/** Insert at the caret of a textarea and put the caret after the insertion. */
export function useInserter(ref: React.RefObject<HTMLTextAreaElement | HTMLInputElement | null>, value: string, onChange: (v: string) => void) {
  return (snippet: string) => {
    const el = ref.current;
    const start = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? value.length;
    const next = insertAt(value, start, end, snippet);
    onChange(next.text);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(next.caret, next.caret);
    });
  };
}

export interface FormulaDraft {
  expression: string;
  type: ColumnType;
}

export const FORMULA_TYPES: ColumnType[] = ["text", "number", "checkbox", "date", "url", "email"];

export function FormulaForm({
  workspaceId,
  tableId,
  columns,
  draft,
  onChange,
  errors,
  problem,
}: {
  workspaceId: string;
  tableId: string;
  columns: Column[];
  draft: FormulaDraft;
  onChange(next: FormulaDraft): void;
  errors: Record<string, string>;
  /** the save's 422 on the expression, with its position */
  problem: { message: string; line?: number; column?: number; offset?: number } | null;
}) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const insert = useInserter(ref, draft.expression, (expression) => onChange({ ...draft, expression }));
  const expression = useDebounced(draft.expression.trim(), 400);
  const preview = useQuery({
    queryKey: wsKey(workspaceId, "formula-preview", tableId, expression),
    enabled: expression.length > 0,
    queryFn: ({ signal }) => previewFormula(workspaceId, tableId, expression, 5, signal),
    retry: false,
    meta: { silent: true },
  });
  const readable = columns.filter((c) => c.kind === "data");
  const previewProblem = preview.data?.status === "invalid" ? problemOf(preview.data.error) : null;
  const shown = problem ?? previewProblem;
  const offset = shown ? (shown.offset ?? offsetOf(draft.expression, shown.line, shown.column)) : null;
  const pointer = shown && (problem ? true : expression === draft.expression.trim()) ? pointAt(draft.expression, offset) : null;
  const error = errors["config.expression"];

  return (
    <div className="space-y-4">
      <Field label="Formula" hint="Refer to columns as {Column name}. Functions: IF, AND, OR, CONCAT, LOWER, UPPER, TRIM, LEFT, RIGHT, SPLIT, DOMAIN, ROUND, DAYS_BETWEEN…" error={shown ? undefined : error}>
        {({ id, describedBy }) => (
          <textarea
            ref={ref}
            id={id}
            aria-describedby={describedBy}
            aria-invalid={Boolean(shown || error)}
            rows={3}
            spellCheck={false}
            value={draft.expression}
            onChange={(e) => onChange({ ...draft, expression: e.target.value })}
            placeholder='LOWER({First name}) & "@" & DOMAIN({Domain})'
            className={textarea}
          />
        )}
      </Field>
      {shown && (
        <div className="rounded-md bg-red-50 px-3 py-2 text-xs text-red-800 ring-1 ring-inset ring-red-200" role="alert" data-testid="formula-error">
          <p>
            {shown.message}
            {shown.line && shown.column ? ` (line ${shown.line}, column ${shown.column})` : ""}
          </p>
          {pointer && (
            <pre className="mt-1 overflow-x-auto font-mono leading-tight">
              {pointer.line}
              {"\n"}
              {pointer.marker}
            </pre>
          )}
        </div>
      )}
      <ColumnChips columns={readable} label="Insert a column" onPick={(c) => insert(formulaRef(c.name))} />
      <Field label="Result type">
        {({ id }) => (
          <Select id={id} value={draft.type} onChange={(e) => onChange({ ...draft, type: e.target.value as ColumnType })}>
            {FORMULA_TYPES.map((t) => (
              <option key={t} value={t}>
                {fieldLabel(t)}
              </option>
            ))}
          </Select>
        )}
      </Field>
      <Section title="Preview: the first rows">
        <div aria-live="polite" data-testid="formula-preview">
          {!expression ? (
            <p className="text-xs text-zinc-500">Type a formula to see what it gives on the first rows.</p>
          ) : preview.isPending ? (
            <Skeleton className="h-16 w-full" />
          ) : preview.isError ? (
            <p className="text-xs text-red-700">The preview failed: {preview.error instanceof Error ? preview.error.message : "unknown error"}.</p>
          ) : preview.data.status === "unavailable" ? (
            <p className="text-xs text-zinc-500">This server has no formula preview yet: save the column to see its values in the grid.</p>
          ) : preview.data.status === "invalid" ? (
            <p className="text-xs text-zinc-500">Fix the formula to see the preview.</p>
          ) : !preview.data.rows.length ? (
            <p className="text-xs text-zinc-500">The table has no rows yet.</p>
          ) : (
            <table className="w-full text-left text-xs">
              <thead className="text-zinc-500">
                <tr>
                  <th className="w-16 py-1 font-medium">Row</th>
                  <th className="py-1 font-medium">Value</th>
                </tr>
              </thead>
              <tbody>
                {preview.data.rows.map((r) => (
                  <tr key={r.row_id} className="border-t border-zinc-100">
                    <td className="py-1 tabular-nums text-zinc-500">{r.row_id}</td>
                    <td className={cn("py-1 break-all", r.error && "text-red-700")}>{r.error ? `Error: ${r.error}` : formatCell(draft.type, r.value) || <span className="text-zinc-500">(empty)</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </Section>
    </div>
  );
}

function problemOf(error: unknown): { message: string; line?: number; column?: number; offset?: number } | null {
  const details = (error as { details?: unknown } | null)?.details;
  if (!Array.isArray(details) || !details.length) return error instanceof Error ? { message: error.message } : null;
  const first = details[0] as { message?: string; line?: number; column?: number; offset?: number };
  return { message: first.message ?? "The formula is not valid.", line: first.line, column: first.column, offset: first.offset };
}

export { problemOf as formulaProblem };

// ---- AI ----------------------------------------------------------------------------------------

const OUTPUT_TYPES: [AiOutputType, string][] = [
  ["text", "Text"],
  ["number", "Number"],
  ["boolean", "Yes / no"],
  ["choice", "One of a list"],
  ["json", "Several fields (JSON)"],
];

export function AiForm({ columns, draft, onChange, errors }: { columns: Column[]; draft: AiDraft; onChange(next: AiDraft): void; errors: Record<string, string> }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const insert = useInserter(ref, draft.prompt, (prompt) => onChange({ ...draft, prompt }));
  const dataColumns = columns.filter((c) => c.kind === "data");
  return (
    <div className="space-y-4">
      <Field label="Prompt" hint="Refer to a row's columns as {{Column name}}." error={errorAt(errors, "config.prompt")}>
        {({ id, describedBy, invalid }) => (
          <textarea ref={ref} id={id} aria-describedby={describedBy} aria-invalid={invalid} rows={4} value={draft.prompt} onChange={(e) => onChange({ ...draft, prompt: e.target.value })} placeholder="Is {{Company}} a B2B software company? Answer yes or no." className={cn(textarea, "font-sans")} />
        )}
      </Field>
      <ColumnChips columns={dataColumns} label="Insert a column into the prompt" onPick={(c) => insert(promptRef(c.name))} />
      <Field label="Model" error={errorAt(errors, "config.model")}>
        {({ id, describedBy, invalid }) => (
          <>
            <Input id={id} list={`${id}-models`} aria-describedby={describedBy} aria-invalid={invalid} value={draft.model} onChange={(e) => onChange({ ...draft, model: e.target.value })} />
            <datalist id={`${id}-models`}>
              {AI_MODELS.map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          </>
        )}
      </Field>
      <fieldset className="space-y-1.5">
        <legend className="text-sm font-medium text-zinc-800">Answer</legend>
        <div className="flex flex-wrap gap-x-4 gap-y-1.5">
          {OUTPUT_TYPES.map(([t, label]) => (
            <label key={t} className="flex items-center gap-2 text-sm text-zinc-700">
              <input type="radio" name="ai-output" value={t} checked={draft.outputType === t} onChange={() => onChange({ ...draft, outputType: t })} className="size-4 accent-indigo-600" />
              {label}
            </label>
          ))}
        </div>
        {errorAt(errors, "config.output.type") && <ErrorText>{errorAt(errors, "config.output.type")}</ErrorText>}
      </fieldset>
      {draft.outputType === "choice" && (
        <Field label="Choices" hint="One per line; the answer is always one of them." error={errorAt(errors, "config.output.choices")}>
          {({ id, describedBy, invalid }) => <textarea id={id} aria-describedby={describedBy} aria-invalid={invalid} rows={4} value={draft.choices} onChange={(e) => onChange({ ...draft, choices: e.target.value })} className={cn(textarea, "font-sans")} />}
        </Field>
      )}
      {draft.outputType === "json" && (
        <Section title="Fields" hint="Each field of the answer goes to a column of the table.">
          {draft.fields.map((f, i) => (
            <div key={i} className="space-y-1">
              <div className="flex gap-2">
                <Input aria-label={`Field ${i + 1}: name`} className="flex-1" value={f.name} onChange={(e) => onChange({ ...draft, fields: draft.fields.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })} placeholder="e.g. industry" />
                <Select aria-label={`Field ${i + 1}: column`} className="flex-1" value={f.columnId} onChange={(e) => onChange({ ...draft, fields: draft.fields.map((x, j) => (j === i ? { ...x, columnId: e.target.value } : x)) })}>
                  <option value="">Column…</option>
                  {dataColumns.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                    </option>
                  ))}
                </Select>
                <button type="button" aria-label={`Remove field ${i + 1}`} onClick={() => onChange({ ...draft, fields: draft.fields.filter((_, j) => j !== i) })} className="shrink-0 rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100">
                  <IconX />
                </button>
              </div>
              {errorAt(errors, `config.output.fields.${i}`) && <ErrorText>{errorAt(errors, `config.output.fields.${i}`)}</ErrorText>}
            </div>
          ))}
          <Button size="sm" variant="ghost" onClick={() => onChange({ ...draft, fields: [...draft.fields, { name: "", columnId: "" }] })}>
            <IconPlus /> Add a field
          </Button>
          {errors["config.output.fields"] && <ErrorText>{errors["config.output.fields"]}</ErrorText>}
        </Section>
      )}
      <Switch checked={draft.autoRun} onChange={(autoRun) => onChange({ ...draft, autoRun })} label="Run automatically" hint="On new rows, and on rows whose referenced columns change." />
      <WritePolicyField value={draft.writePolicy} onChange={(writePolicy) => onChange({ ...draft, writePolicy })} />
      <p className="text-xs text-zinc-600">Each row is one call to the model, paid in credits like an enrichment: run the column to see the cost first.</p>
    </div>
  );
}
