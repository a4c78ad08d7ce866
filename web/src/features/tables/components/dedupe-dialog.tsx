import { useState } from "react";

import { Button } from "@/components/ui/button";
import { PanelDialog } from "@/components/ui/dialog";
import { Badge, EmptyState } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";
import { IconMerge } from "@/components/ui/icons";
import { formatNumber } from "@/lib/format";
import { toastSuccess } from "@/stores/toasts";

import { useDedupe } from "../api/io";
import type { Column } from "../api/tables";
import { formatCell } from "../grid/column-types";

type Normalization = "auto" | "exact" | "text" | "email" | "domain" | "phone";

/** Pick key columns, see the duplicate groups (the kept row first), merge. */
export function DedupeDialog({ workspaceId, tableId, columns, open, onClose, onMerged }: { workspaceId: string; tableId: string; columns: Column[]; open: boolean; onClose(): void; onMerged(): void }) {
  const [keys, setKeys] = useState<string[]>(() => {
    const guess = columns.find((c) => c.type === "email") ?? columns.find((c) => c.type === "url") ?? columns[0];
    return guess ? [guess.id] : [];
  });
  const [normalization, setNormalization] = useState<Normalization>("auto");
  const [fuzzy, setFuzzy] = useState("");
  const [threshold, setThreshold] = useState("90");
  const { preview, merge } = useDedupe(workspaceId, tableId);
  const rule = {
    key_column_ids: keys,
    normalization,
    fuzzy_column_id: fuzzy || null,
    threshold: Math.min(100, Math.max(50, Number(threshold) || 90)),
  };
  const shown = columns.filter((c) => !c.hidden).slice(0, 6);

  function close() {
    preview.reset();
    merge.reset();
    onClose();
  }

  const footer = (
    <>
      <Button onClick={close}>Cancel</Button>
      <Button
        variant="primary"
        disabled={!preview.data?.group_count}
        busy={merge.isPending}
        onClick={() =>
          merge.mutate(rule, {
            onSuccess: (r) => {
              toastSuccess(`Merged ${formatNumber(r.rows_merged)} rows`, `${formatNumber(r.groups_merged)} groups`);
              onMerged();
              close();
            },
          })
        }
      >
        <IconMerge /> Merge duplicates
      </Button>
    </>
  );

  return (
    <PanelDialog open={open} onClose={close} title="Find and merge duplicates" footer={footer}>
      <fieldset>
        <legend className="text-sm font-medium text-zinc-800">Rows are duplicates when these columns match</legend>
        <div className="mt-2 flex flex-wrap gap-2">
          {columns.map((c) => (
            <label key={c.id} className="flex items-center gap-1.5 rounded-md px-2 py-1 text-sm ring-1 ring-inset ring-zinc-200 has-[:checked]:bg-indigo-50 has-[:checked]:ring-indigo-300">
              <input type="checkbox" checked={keys.includes(c.id)} onChange={(e) => setKeys((k) => (e.target.checked ? [...k, c.id] : k.filter((x) => x !== c.id)))} />
              {c.name}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="grid gap-3 sm:grid-cols-3">
        <Field label="Compare" hint="Auto: emails lowercased, URLs by domain, phones by digits, text ignoring case and spaces.">
          {({ id, describedBy }) => (
            <Select id={id} aria-describedby={describedBy} value={normalization} onChange={(e) => setNormalization(e.target.value as Normalization)}>
              <option value="auto">Auto (by type)</option>
              <option value="exact">Exactly</option>
              <option value="text">As text, ignoring case</option>
              <option value="email">As emails</option>
              <option value="domain">By domain</option>
              <option value="phone">By phone digits</option>
            </Select>
          )}
        </Field>
        <Field label="Similar names in (optional)">
          {({ id }) => (
            <Select id={id} value={fuzzy} onChange={(e) => setFuzzy(e.target.value)}>
              <option value="">No fuzzy match</option>
              {columns
                .filter((c) => c.type === "text")
                .map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
            </Select>
          )}
        </Field>
        {fuzzy && <Field label="Similarity (50-100)">{({ id }) => <Input id={id} type="number" min={50} max={100} step={1} value={threshold} onChange={(e) => setThreshold(e.target.value)} />}</Field>}
      </div>
      <Button variant="secondary" disabled={!keys.length} busy={preview.isPending} onClick={() => preview.mutate({ ...rule, groups_limit: 20 })}>
        Preview duplicates
      </Button>

      {preview.data && preview.data.group_count === 0 && <EmptyState title="No duplicates">No two rows share these values.</EmptyState>}
      {preview.data && preview.data.group_count > 0 && (
        <div className="space-y-3" data-testid="dedupe-groups">
          <p className="text-sm text-zinc-700">
            <strong>{formatNumber(preview.data.group_count)}</strong> groups, <strong>{formatNumber(preview.data.duplicate_rows)}</strong> rows would be merged into the first row of their group (its blank cells are filled from the others).
          </p>
          {preview.data.groups.map((g, i) => (
            <div key={i} className="overflow-auto rounded-lg ring-1 ring-zinc-200">
              <table className="min-w-full text-xs">
                <thead className="bg-zinc-50 text-left text-zinc-600">
                  <tr>
                    <th scope="col" className="px-2 py-1.5 font-medium">
                      Row
                    </th>
                    {shown.map((c) => (
                      <th key={c.id} scope="col" className="px-2 py-1.5 font-medium">
                        {c.name}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody className="divide-y divide-zinc-100">
                  {g.rows.map((r) => (
                    <tr key={r.id} className={r.id === g.keep_id ? "bg-emerald-50/60" : ""}>
                      <td className="whitespace-nowrap px-2 py-1.5">{r.id === g.keep_id ? <Badge tone="green">kept</Badge> : <span className="text-zinc-500">#{r.id}</span>}</td>
                      {shown.map((c) => (
                        <td key={c.id} className="max-w-48 truncate px-2 py-1.5">
                          {formatCell(c.type, r.cells[c.id])}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </div>
      )}
    </PanelDialog>
  );
}
