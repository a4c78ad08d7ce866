import { useId, useMemo, useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { DialogActions } from "@/components/ui/dialog";
import { Field, Input, Select } from "@/components/ui/form";
import { IconPlus, IconTrash } from "@/components/ui/icons";
import { cn } from "@/lib/cn";

import { useConnections, useCreateExport, useTableColumns, useTableList, type CrmExport } from "../api/crm";
import { autoMap, CRM_LABEL, CRM_OBJECTS, exportBody, formErrors, isResultColumn, objectOf, validateDraft, type Crm, type ExportDraft, type MappingRow } from "../mapping";

interface ExportFormProps {
  workspaceId: string;
  /** fixed when opened from a table's menu */
  tableId?: string;
  onSaved(created: CrmExport): void;
  onCancel(): void;
}

function ErrorList({ messages }: { messages: string[] }) {
  if (!messages.length) return null;
  return (
    <div role="alert" data-testid="export-error" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
      {messages.map((m, i) => (
        <p key={i} className={i > 0 ? "mt-1 text-xs" : undefined}>
          {m}
        </p>
      ))}
    </div>
  );
}

/** Pick a connection, a table, an object; map columns to CRM properties (auto-mapped, editable); save. */
export function ExportForm({ workspaceId, tableId: fixedTable, onSaved, onCancel }: ExportFormProps) {
  const connections = useConnections(workspaceId);
  const tables = useTableList(workspaceId);
  const connected = useMemo(() => (connections.data ?? []).filter((c) => c.connected), [connections.data]);
  // Choices the user made; until then the defaults: the first connection, its first object, the first table.
  const [chosenConnection, setConnectionId] = useState("");
  const [chosenTable, setTableId] = useState(fixedTable ?? "");
  const [chosenObject, setObjectType] = useState("");
  const connectionId = chosenConnection || connected[0]?.id || "";
  const tableId = chosenTable || tables.data?.[0]?.id || "";
  const columnsQuery = useTableColumns(workspaceId, tableId);
  const columns = useMemo(() => (columnsQuery.data ?? []).filter((c) => !isResultColumn(c.name)), [columnsQuery.data]);
  const create = useCreateExport(workspaceId);
  const listId = useId();
  const [touched, setTouched] = useState(false);

  const connection = connected.find((c) => c.id === connectionId);
  const crm = connection?.crm as Crm | undefined;
  const objectType = crm && objectOf(crm, chosenObject) ? chosenObject : crm ? (CRM_OBJECTS[crm][0]?.name ?? "") : "";
  const object = crm ? objectOf(crm, objectType) : undefined;

  // The mapping is the automatic one for this object and table until the user edits it; another
  // object or table maps again from the column names and types.
  const basis = `${crm ?? ""}|${objectType}|${tableId}`;
  const [edited, setEdited] = useState<{ basis: string; mapping: MappingRow[]; keyProperty: string } | null>(null);
  const automatic = object && columnsQuery.data ? autoMap(object, columnsQuery.data) : [];
  const current = edited?.basis === basis ? edited : { basis, mapping: automatic, keyProperty: object?.key ?? "" };
  const { mapping, keyProperty } = current;
  const setMapping = (next: (rows: MappingRow[]) => MappingRow[]) => {
    create.reset();
    setEdited({ ...current, mapping: next(current.mapping) });
  };
  const setKeyProperty = (key: string) => {
    create.reset();
    setEdited({ ...current, keyProperty: key });
  };

  const draft: ExportDraft = { connectionId, tableId, objectType, keyProperty, mapping };
  const local = validateDraft(draft, crm, columns);
  const shown = (path: string) =>
    ["connection_id", "table_id", "object_type", "key_property", "mapping"].includes(path) || /^mapping\.\d+\.(column_id|property)$/.test(path);
  const server = formErrors(create.error, shown);
  const error = (path: string) => server.byPath[path] ?? (touched ? local[path] : undefined);

  function update(index: number, patch: Partial<MappingRow>) {
    setMapping((rows) => rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(local).length) return;
    create.mutate(exportBody(draft), { onSuccess: onSaved });
  }

  if (connections.isSuccess && connected.length === 0) {
    return (
      <div className="space-y-4">
        <p className="text-sm text-zinc-600">Connect HubSpot or Salesforce on the CRM page first: an export pushes rows through a connection.</p>
        <DialogActions>
          <Button onClick={onCancel}>Close</Button>
        </DialogActions>
      </div>
    );
  }

  const mappedProps = mapping.map((m) => m.property.trim()).filter(Boolean);
  const keyChoices = Array.from(new Set([...(object ? [object.key] : []), ...mappedProps]));
  const resultPrefix = crm && objectType ? `${CRM_LABEL[crm]} ${objectType}` : null;

  return (
    <form onSubmit={submit} className="space-y-4" noValidate aria-label="CRM export">
      <ErrorList messages={server.general} />
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Connection" error={error("connection_id")}>
          {({ id, describedBy, invalid }) => (
            <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={connectionId} onChange={(e) => (create.reset(), setConnectionId(e.target.value))}>
              {connected.map((c) => (
                <option key={c.id} value={c.id}>
                  {CRM_LABEL[c.crm]}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Object" error={error("object_type")}>
          {({ id, describedBy, invalid }) => (
            <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={objectType} onChange={(e) => (create.reset(), setObjectType(e.target.value))}>
              {(crm ? CRM_OBJECTS[crm] : []).map((o) => (
                <option key={o.name} value={o.name}>
                  {o.label} ({o.name})
                </option>
              ))}
            </Select>
          )}
        </Field>
        {!fixedTable && (
          <Field label="Table" error={error("table_id")} className="sm:col-span-2">
            {({ id, describedBy, invalid }) => (
              <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={tableId} onChange={(e) => (create.reset(), setTableId(e.target.value))}>
                {(tables.data ?? []).map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        )}
      </div>

      <fieldset>
        <legend className="text-sm font-medium text-zinc-800">Columns → {crm ? CRM_LABEL[crm] : "CRM"} properties</legend>
        <p className="mt-0.5 text-xs text-zinc-500">Mapped from the column names and types; change any. Empty cells are not sent: an export never blanks a CRM field.</p>
        <datalist id={listId}>
          {object?.properties.map((p) => (
            <option key={p.name} value={p.name}>
              {p.label}
            </option>
          ))}
        </datalist>
        <ul className="mt-2 space-y-2" aria-label="Mapping" data-testid="mapping">
          {mapping.map((row, index) => {
            const colError = error(`mapping.${index}.column_id`);
            const propError = error(`mapping.${index}.property`);
            const column = columns.find((c) => c.id === row.columnId);
            return (
              <li key={index} className="rounded-md bg-zinc-50 p-2 ring-1 ring-inset ring-zinc-200">
                <div className="grid grid-cols-[1fr_auto] items-start gap-2 sm:grid-cols-[1fr_1.5rem_1fr_auto]">
                  <div>
                    <Select
                      aria-label={`Column of mapping ${index + 1}`}
                      aria-invalid={Boolean(colError)}
                      value={row.columnId}
                      onChange={(e) => update(index, { columnId: e.target.value })}
                    >
                      <option value="">Pick a column</option>
                      {columns.map((c) => (
                        <option key={c.id} value={c.id}>
                          {c.name}
                        </option>
                      ))}
                    </Select>
                    {colError && <p className="mt-1 text-xs text-red-700">{colError}</p>}
                  </div>
                  <span aria-hidden="true" className="hidden h-9 items-center justify-center text-zinc-400 sm:flex">
                    →
                  </span>
                  <div className="col-start-1 row-start-2 sm:col-start-3 sm:row-start-1">
                    <Input
                      aria-label={`${crm ? CRM_LABEL[crm] : "CRM"} property for ${column?.name ?? `mapping ${index + 1}`}`}
                      aria-invalid={Boolean(propError)}
                      list={listId}
                      spellCheck={false}
                      autoComplete="off"
                      placeholder="property"
                      className="font-mono"
                      value={row.property}
                      onChange={(e) => update(index, { property: e.target.value })}
                    />
                    {propError && <p className="mt-1 text-xs text-red-700">{propError}</p>}
                  </div>
                  <Button size="sm" variant="ghost" className="mt-0.5" aria-label={`Remove mapping ${index + 1}`} onClick={() => setMapping((rows) => rows.filter((_, i) => i !== index))}>
                    <IconTrash />
                  </Button>
                </div>
              </li>
            );
          })}
        </ul>
        {error("mapping") && <p className="mt-1 text-xs text-red-700">{error("mapping")}</p>}
        <Button size="sm" className="mt-2" onClick={() => setMapping((rows) => [...rows, { columnId: "", property: "" }])}>
          <IconPlus /> Map a column
        </Button>
      </fieldset>

      <Field
        label="Match records on"
        hint={object ? `The upsert key: a record with the same ${keyProperty || object.key} is updated, others are created.` : undefined}
        error={error("key_property")}
      >
        {({ id, describedBy, invalid }) => (
          <Select id={id} aria-describedby={describedBy} aria-invalid={invalid} value={keyProperty} onChange={(e) => setKeyProperty(e.target.value)}>
            {keyChoices.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </Select>
        )}
      </Field>
      {resultPrefix && (
        <p className={cn("rounded-md bg-indigo-50 px-3 py-2 text-xs text-indigo-900 ring-1 ring-inset ring-indigo-100")}>
          Each row’s outcome is written back into three columns: “{resultPrefix} id”, “… status” and “… error” (added if the table does not have them).
        </p>
      )}
      <DialogActions>
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={create.isPending} disabled={!crm || !tableId}>
          Save export
        </Button>
      </DialogActions>
    </form>
  );
}
