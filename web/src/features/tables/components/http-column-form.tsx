import { useRef } from "react";

import { Button } from "@/components/ui/button";
import { Field, Input, Select } from "@/components/ui/form";
import { IconPlus, IconX } from "@/components/ui/icons";

import { useHttpSecrets } from "../api/secrets";
import type { Column, ColumnType } from "../api/tables";
import { errorAt } from "../forms/config-errors";
import { promptRef } from "../forms/formula";
import { HTTP_METHODS, HTTP_TYPES, type HttpAuthKind, type HttpDraft, type HttpMethod } from "../forms/http";
import { typeInfo } from "../grid/column-types";
import { ColumnChips, ErrorText, Section, Switch, WritePolicyField, textarea, useInserter } from "./computed-column-forms";
import { ConditionBuilder } from "./condition-builder";

const AUTH_CHOICES: [HttpAuthKind, string][] = [
  ["none", "None"],
  ["bearer", "Bearer token"],
  ["header", "API key in a header"],
];

/**
 * An HTTP API column: one request per row. `{{Column}}` in the URL, the header values and the
 * body are the row's cells (chips insert them at the caret); the secret comes from the vault
 * (credentials of provider `http`), never typed into the column; the extract path picks the value
 * out of the JSON answer. Rules and 422 paths: forms/http.ts.
 */
export function HttpForm({ workspaceId, columns, draft, onChange, errors }: { workspaceId: string; columns: Column[]; draft: HttpDraft; onChange(next: HttpDraft): void; errors: Record<string, string> }) {
  const urlRef = useRef<HTMLInputElement>(null);
  const bodyRef = useRef<HTMLTextAreaElement>(null);
  const insertUrl = useInserter(urlRef, draft.url, (url) => onChange({ ...draft, url }));
  const insertBody = useInserter(bodyRef, draft.body, (body) => onChange({ ...draft, body }));
  const secrets = useHttpSecrets(workspaceId);
  const names = secrets.data ?? [];
  const setAuth = (auth: Partial<HttpDraft["auth"]>) => onChange({ ...draft, auth: { ...draft.auth, ...auth } });

  return (
    <div className="space-y-5" data-testid="http-form">
      <div className="grid gap-3 sm:grid-cols-[8rem_1fr]">
        <Field label="Method" error={errors["config.method"]}>
          {({ id, describedBy, invalid }) => (
            <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={draft.method} onChange={(e) => onChange({ ...draft, method: e.target.value as HttpMethod })}>
              {HTTP_METHODS.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="URL" hint="Refer to a row's cells as {{Column name}}: they are URL-encoded." error={errorAt(errors, "config.url")}>
          {({ id, describedBy, invalid }) => (
            <Input ref={urlRef} id={id} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} className="font-mono" value={draft.url} onChange={(e) => onChange({ ...draft, url: e.target.value })} placeholder="https://api.example.com/companies/{{Domain}}" />
          )}
        </Field>
      </div>
      <ColumnChips columns={columns} label="Insert a column into the URL" onPick={(c) => insertUrl(promptRef(c.name))} />

      <Section title="Authentication" hint="The secret is a credential of the vault (provider “http”): the column stores its name, never the secret.">
        <div className="grid gap-3 sm:grid-cols-3">
          <Field label="Kind">
            {({ id }) => (
              <Select id={id} value={draft.auth.kind} onChange={(e) => setAuth({ kind: e.target.value as HttpAuthKind })}>
                {AUTH_CHOICES.map(([k, label]) => (
                  <option key={k} value={k}>
                    {label}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          {draft.auth.kind === "header" && (
            <Field label="Header">
              {({ id }) => <Input id={id} spellCheck={false} value={draft.auth.header} onChange={(e) => setAuth({ header: e.target.value })} placeholder="X-Api-Key" />}
            </Field>
          )}
          {draft.auth.kind !== "none" && (
            <Field label="Credential" className={draft.auth.kind === "bearer" ? "sm:col-span-2" : undefined}>
              {({ id }) => (
                <Select id={id} value={draft.auth.secret} onChange={(e) => setAuth({ secret: e.target.value })}>
                  <option value="">{names.length ? "Choose a credential…" : "No “http” credential yet"}</option>
                  {[...new Set([draft.auth.secret, ...names].filter(Boolean))].map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          )}
        </div>
        {draft.auth.kind !== "none" && !secrets.isPending && !names.length && <p className="text-xs text-zinc-600">An admin adds one on the Credentials page: provider “http”, a name, the key.</p>}
        {errors.auth && <ErrorText>{errors.auth}</ErrorText>}
      </Section>

      <Section title="Headers" hint="Values may use {{Column name}}. Headers that carry credentials go through Authentication above.">
        {draft.headers.map((h, i) => (
          <div key={i} className="space-y-1">
            <div className="flex gap-2">
              <Input aria-label={`Header ${i + 1}: name`} className="w-2/5 font-mono" spellCheck={false} value={h.name} onChange={(e) => onChange({ ...draft, headers: draft.headers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })} placeholder="Accept" />
              <Input aria-label={`Header ${i + 1}: value`} className="flex-1 font-mono" spellCheck={false} value={h.value} onChange={(e) => onChange({ ...draft, headers: draft.headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)) })} placeholder="application/json" />
              <button type="button" aria-label={`Remove header ${i + 1}`} onClick={() => onChange({ ...draft, headers: draft.headers.filter((_, j) => j !== i) })} className="shrink-0 rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100">
                <IconX />
              </button>
            </div>
            {errors[`headers.${i}`] && <ErrorText>{errors[`headers.${i}`]}</ErrorText>}
          </div>
        ))}
        <Button size="sm" variant="ghost" onClick={() => onChange({ ...draft, headers: [...draft.headers, { name: "", value: "" }] })}>
          <IconPlus /> Add a header
        </Button>
      </Section>

      {draft.method !== "GET" && (
        <>
          <Field label="Body (JSON)" hint={"A string that is exactly \"{{Column}}\" sends the cell with its type; inside other text, as text. Empty: no body."} error={errorAt(errors, "config.body")}>
            {({ id, describedBy, invalid }) => (
              <textarea ref={bodyRef} id={id} aria-describedby={describedBy} aria-invalid={invalid} rows={4} spellCheck={false} value={draft.body} onChange={(e) => onChange({ ...draft, body: e.target.value })} placeholder={'{"domain": "{{Domain}}"}'} className={textarea} />
            )}
          </Field>
          <ColumnChips columns={columns} label="Insert a column into the body" onPick={(c) => insertBody(promptRef(c.name))} />
        </>
      )}

      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="Value from the answer" hint="A JSON path: $ is the whole answer; $.data.employees, $.items[0].name, $.tags[*]." error={errorAt(errors, "config.extract")}>
          {({ id, describedBy, invalid }) => <Input id={id} aria-describedby={describedBy} aria-invalid={invalid} spellCheck={false} className="font-mono" value={draft.extract} onChange={(e) => onChange({ ...draft, extract: e.target.value })} placeholder="$.data.employees" />}
        </Field>
        <Field label="Column type" hint="An object or a list into a text column arrives as JSON text.">
          {({ id, describedBy }) => (
            <Select id={id} aria-describedby={describedBy} value={draft.type} onChange={(e) => onChange({ ...draft, type: e.target.value as ColumnType })}>
              {HTTP_TYPES.map((t) => (
                <option key={t} value={t}>
                  {typeInfo(t).label}
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>

      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="Requests per second" error={errors["config.rate_limit_per_second"]}>
          {({ id, describedBy, invalid }) => <Input id={id} type="number" min={1} max={50} step={1} aria-describedby={describedBy} aria-invalid={invalid} value={draft.rateLimit} onChange={(e) => onChange({ ...draft, rateLimit: e.target.value })} />}
        </Field>
        <Field label="Timeout (seconds)" error={errors["config.timeout_s"]}>
          {({ id, describedBy, invalid }) => <Input id={id} type="number" min={0.5} max={60} step={0.5} aria-describedby={describedBy} aria-invalid={invalid} value={draft.timeout} onChange={(e) => onChange({ ...draft, timeout: e.target.value })} />}
        </Field>
      </div>

      <ConditionBuilder columns={columns.filter((c) => c.kind === "data")} value={draft.onlyIf} onChange={(onlyIf) => onChange({ ...draft, onlyIf })} errors={errors} />
      <Switch checked={draft.autoRun} onChange={(autoRun) => onChange({ ...draft, autoRun })} label="Run automatically" hint="On new rows, and on rows whose cells in the URL, headers or body change." />
      {errors["config.auto_run"] && <ErrorText>{errors["config.auto_run"]}</ErrorText>}
      <WritePolicyField value={draft.writePolicy} onChange={(writePolicy) => onChange({ ...draft, writePolicy })} />
      <p className="text-xs text-zinc-600">Free: HTTP columns use no credits. Requests go to public addresses only; redirects are not followed.</p>
    </div>
  );
}
