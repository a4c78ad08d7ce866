import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useNavigate } from "react-router-dom";

import { Button, Spinner } from "@/components/ui/button";
import { PanelDialog } from "@/components/ui/dialog";
import { Badge, ProgressBar } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";
import { IconAlert, IconDownload, IconUpload } from "@/components/ui/icons";
import { isApiError } from "@/lib/api";
import { formatNumber } from "@/lib/format";
import { wsKey } from "@/lib/query";
import { toastError } from "@/stores/toasts";

import { commitImport, downloadRejects, uploadImport, useImport, type ColumnMapping, type ImportOut } from "../api/io";
import type { Column, ColumnType } from "../api/tables";
import { COLUMN_TYPES } from "../grid/column-types";

interface MapEntry {
  include: boolean;
  name: string;
  type: ColumnType;
  /** existing-table mode: the column it goes into ("" = a new column) */
  columnId: string;
}

function planFrom(imp: ImportOut, columns: Column[] | undefined): MapEntry[] {
  return (imp.preview?.columns ?? []).map((c) => {
    const match = columns?.find((col) => col.name.toLowerCase() === c.name.toLowerCase());
    return { include: true, name: c.name, type: c.type, columnId: match?.id ?? "" };
  });
}

/** Upload, preview with detected types and problems, map columns, progress, rejected rows. */
export function ImportWizard({
  workspaceId,
  open,
  onClose,
  table,
}: {
  workspaceId: string;
  open: boolean;
  onClose(): void;
  /** Import into this table instead of a new one. */
  table?: { id: string; name: string; columns: Column[] };
}) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [uploaded, setUploaded] = useState<ImportOut | null>(null);
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [plan, setPlan] = useState<MapEntry[]>([]);
  const [tableName, setTableName] = useState("");
  const [committing, setCommitting] = useState(false);
  const [runId, setRunId] = useState<string | null>(null);
  const run = useImport(workspaceId, runId);

  const done = run.data?.status === "completed" || run.data?.status === "failed";
  useEffect(() => {
    if (done) void client.invalidateQueries({ queryKey: wsKey(workspaceId) });
  }, [done, client, workspaceId]);

  function reset() {
    setUploaded(null);
    setUploadError(null);
    setPlan([]);
    setRunId(null);
    setCommitting(false);
  }

  function close() {
    if (uploading || committing) return;
    reset();
    onClose();
  }

  async function pick(file: File) {
    setUploading(true);
    setUploadError(null);
    try {
      const imp = await uploadImport(workspaceId, file);
      setUploaded(imp);
      setPlan(planFrom(imp, table?.columns));
      setTableName(file.name.replace(/\.(csv|xlsx|tsv|txt)$/i, ""));
    } catch (e) {
      setUploadError(isApiError(e) ? e.message : "The upload failed.");
    } finally {
      setUploading(false);
    }
  }

  async function commit() {
    if (!uploaded) return;
    setCommitting(true);
    const mapping: ColumnMapping[] = [];
    plan.forEach((p, source) => {
      if (!p.include) return;
      if (table && p.columnId) mapping.push({ source, column_id: p.columnId });
      else mapping.push({ source, name: p.name.trim() || `Column ${source + 1}`, type: p.type });
    });
    try {
      await commitImport(workspaceId, uploaded.id, table ? { mode: "existing_table", table_id: table.id, mapping } : { mode: "new_table", table_name: tableName.trim() || "Imported table", mapping });
      setRunId(uploaded.id);
    } catch (e) {
      toastError(e, "Could not start the import");
    } finally {
      setCommitting(false);
    }
  }

  const preview = uploaded?.preview;
  const progress = run.data?.progress;
  const step = runId ? "progress" : uploaded ? "map" : "upload";

  const footer = (
    <>
      {step === "map" && (
        <>
          <Button onClick={reset}>Choose another file</Button>
          <Button variant="primary" busy={committing} disabled={!plan.some((p) => p.include)} onClick={() => void commit()}>
            Import {plan.filter((p) => p.include).length} columns
          </Button>
        </>
      )}
      {step === "progress" && done && (
        <>
          {(progress?.rows_rejected ?? 0) > 0 && runId && (
            <Button onClick={() => void downloadRejects(workspaceId, runId).catch((e: unknown) => toastError(e, "Could not download the rejected rows"))}>
              <IconDownload /> Download rejected rows
            </Button>
          )}
          {run.data?.table_id && !table ? (
            <Button variant="primary" onClick={() => navigate(`/w/${workspaceId}/tables/${run.data?.table_id ?? ""}`)}>
              Open the table
            </Button>
          ) : (
            <Button variant="primary" onClick={close}>
              Done
            </Button>
          )}
        </>
      )}
      {step === "upload" && <Button onClick={close}>Cancel</Button>}
    </>
  );

  return (
    <PanelDialog
      open={open}
      onClose={close}
      size="4xl"
      title={table ? `Import into “${table.name}”` : "Import a file"}
      subtitle={
        <ol className="mt-1 flex gap-3 text-xs text-zinc-500" aria-label="Steps">
          {(["upload", "map", "progress"] as const).map((s, i) => (
            <li key={s} aria-current={step === s ? "step" : undefined} className={step === s ? "font-medium text-indigo-700" : ""}>
              {i + 1}. {s === "upload" ? "Upload" : s === "map" ? "Check and map columns" : "Import"}
            </li>
          ))}
        </ol>
      }
      footer={footer}
    >
      {step === "upload" && (
        <label className="flex cursor-pointer flex-col items-center justify-center gap-2 rounded-lg border-2 border-dashed border-zinc-300 px-6 py-14 text-center hover:border-indigo-400 hover:bg-indigo-50/40 focus-within:border-indigo-500">
          {uploading ? <Spinner className="size-6 text-indigo-600" /> : <IconUpload className="size-6 text-indigo-600" />}
          <span className="text-sm font-medium">{uploading ? "Uploading…" : "Choose a CSV or Excel file"}</span>
          <span className="text-xs text-zinc-500">Up to 1 GB. The first row is read as column names when it looks like one.</span>
          <input
            type="file"
            accept=".csv,.tsv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            className="sr-only"
            aria-label="File to import"
            disabled={uploading}
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void pick(file);
            }}
          />
          {uploadError && (
            <p role="alert" className="mt-2 text-sm text-red-700">
              {uploadError}
            </p>
          )}
        </label>
      )}

      {step === "map" && preview && (
        <div className="space-y-4">
          <p className="text-sm text-zinc-600">
            {uploaded?.filename}: {preview.format.toUpperCase()}
            {preview.encoding ? `, ${preview.encoding}` : ""}
            {preview.delimiter ? `, separated by “${preview.delimiter === "\t" ? "tab" : preview.delimiter}”` : ""}, {preview.columns.length} columns,{" "}
            {formatNumber(preview.scanned_rows)} rows scanned.
          </p>
          {preview.problems.length > 0 && (
            <ul className="space-y-1 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-inset ring-amber-200" aria-label="Problems found">
              {preview.problems.slice(0, 8).map((p, i) => (
                <li key={i} className="flex gap-2">
                  <IconAlert className="mt-0.5 size-4 shrink-0" />
                  <span>
                    {p.line ? `Line ${p.line}: ` : ""}
                    {p.message}
                  </span>
                </li>
              ))}
              {preview.problems.length > 8 && <li>…and {preview.problems.length - 8} more.</li>}
            </ul>
          )}
          {!table && (
            <Field label="New table name" className="max-w-sm">
              {({ id }) => <Input id={id} value={tableName} maxLength={200} onChange={(e) => setTableName(e.target.value)} />}
            </Field>
          )}
          <div className="overflow-auto rounded-lg ring-1 ring-zinc-200">
            <table className="min-w-full text-left text-xs">
              <thead className="bg-zinc-50 align-top">
                <tr>
                  {plan.map((p, i) => (
                    <th key={i} scope="col" className="min-w-44 border-r border-zinc-200 p-2 font-normal last:border-r-0">
                      <label className="mb-1.5 flex items-center gap-1.5 text-xs font-medium text-zinc-700">
                        <input type="checkbox" checked={p.include} onChange={(e) => setPlan((all) => all.map((x, j) => (j === i ? { ...x, include: e.target.checked } : x)))} />
                        Import
                      </label>
                      {table && (
                        <Select
                          aria-label={`Target column for ${preview.columns[i]?.name ?? i}`}
                          className="mb-1 py-1 text-xs"
                          value={p.columnId}
                          disabled={!p.include}
                          onChange={(e) => setPlan((all) => all.map((x, j) => (j === i ? { ...x, columnId: e.target.value } : x)))}
                        >
                          <option value="">New column…</option>
                          {table.columns.map((c) => (
                            <option key={c.id} value={c.id}>
                              {c.name}
                            </option>
                          ))}
                        </Select>
                      )}
                      {(!table || !p.columnId) && (
                        <>
                          <Input
                            aria-label={`Name of column ${i + 1}`}
                            className="mb-1 py-1 text-xs"
                            value={p.name}
                            disabled={!p.include}
                            onChange={(e) => setPlan((all) => all.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
                          />
                          <Select
                            aria-label={`Type of column ${i + 1}`}
                            className="py-1 text-xs"
                            value={p.type}
                            disabled={!p.include}
                            onChange={(e) => setPlan((all) => all.map((x, j) => (j === i ? { ...x, type: e.target.value as ColumnType } : x)))}
                          >
                            {COLUMN_TYPES.map((t) => (
                              <option key={t.type} value={t.type}>
                                {t.label}
                                {t.type === preview.columns[i]?.type ? " (detected)" : ""}
                              </option>
                            ))}
                          </Select>
                        </>
                      )}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100">
                {preview.sample_rows.slice(0, 8).map((row, r) => (
                  <tr key={r}>
                    {plan.map((p, c) => (
                      <td key={c} className={`max-w-56 truncate border-r border-zinc-100 px-2 py-1.5 last:border-r-0 ${p.include ? "text-zinc-800" : "text-zinc-400"}`}>
                        {row[c] ?? ""}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}

      {step === "progress" && (
        <div className="space-y-4 py-4" aria-live="polite">
          <div className="flex items-center gap-2 text-sm font-medium">
            {!done && <Spinner className="text-indigo-600" />}
            {run.data?.status === "completed" ? "Import finished" : run.data?.status === "failed" ? "The import stopped" : "Importing…"}
            {run.data && <Badge tone={run.data.status === "completed" ? "green" : run.data.status === "failed" ? "red" : "indigo"}>{run.data.status}</Badge>}
          </div>
          <ProgressBar value={run.data?.status === "completed" ? 1 : (progress?.fraction ?? 0)} label="Import progress" />
          {progress && (
            <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
              {(
                [
                  ["Rows read", progress.rows_read],
                  ["Added", progress.rows_inserted],
                  ["Updated", progress.rows_updated],
                  ["Rejected", progress.rows_rejected],
                ] as const
              ).map(([label, value]) => (
                <div key={label} className="rounded-md bg-zinc-50 px-3 py-2 ring-1 ring-inset ring-zinc-200">
                  <dt className="text-xs text-zinc-500">{label}</dt>
                  <dd className="font-semibold tabular-nums" data-testid={`import-${label.toLowerCase().replace(" ", "-")}`}>
                    {formatNumber(value)}
                  </dd>
                </div>
              ))}
            </dl>
          )}
          {run.data?.error && <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">{run.data.error}</p>}
        </div>
      )}
    </PanelDialog>
  );
}
