import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";

import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Badge, EmptyState, SkeletonRows } from "@/components/ui/feedback";
import { Field, Input } from "@/components/ui/form";
import { IconPlus, IconTable, IconTrash, IconUpload } from "@/components/ui/icons";
import { isApiError } from "@/lib/api";
import { formatDate, formatNumber } from "@/lib/format";
import { useWorkspaceId, useWorkspaceRole } from "@/lib/workspace";
import { toastSuccess } from "@/stores/toasts";

import { useCreateTable, useDeleteTable, useRenameTable, useRestoreTable, useTables, type Table } from "../api/tables";
import { ImportWizard } from "./import-wizard";

function NameDialog({
  open,
  title,
  initial,
  submitLabel,
  busy,
  error,
  onSubmit,
  onClose,
}: {
  open: boolean;
  title: string;
  initial: string;
  submitLabel: string;
  busy: boolean;
  error: string | undefined;
  onSubmit(name: string): void;
  onClose(): void;
}) {
  const [name, setName] = useState(initial);
  function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim()) onSubmit(name.trim());
  }
  return (
    <Dialog open={open} onClose={onClose} title={title}>
      <form onSubmit={submit} noValidate>
        <Field label="Table name" error={error}>
          {({ id, describedBy, invalid }) => (
            <Input id={id} autoFocus required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} aria-invalid={invalid} aria-describedby={describedBy} placeholder="e.g. Q3 target accounts" />
          )}
        </Field>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy} disabled={!name.trim()}>
            {submitLabel}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

function TableRow({ table, canEdit, canDelete, onRename, onDelete }: { table: Table; canEdit: boolean; canDelete: boolean; onRename(): void; onDelete(): void }) {
  const ws = useWorkspaceId();
  return (
    <li className="group flex items-center gap-3 px-4 py-3 hover:bg-zinc-50">
      <span className="flex size-8 shrink-0 items-center justify-center rounded-md bg-indigo-50 text-indigo-600">
        <IconTable />
      </span>
      <div className="min-w-0 flex-1">
        <Link to={`/w/${ws}/tables/${table.id}`} className="block truncate text-sm font-medium text-zinc-900 hover:text-indigo-700 focus-visible:underline">
          {table.name}
        </Link>
        <p className="text-xs text-zinc-500">
          {formatNumber(table.row_count)} {table.row_count === 1 ? "row" : "rows"} · updated {formatDate(table.updated_at)}
        </p>
      </div>
      <div className="flex gap-1 opacity-100 sm:opacity-0 sm:group-hover:opacity-100 sm:group-focus-within:opacity-100">
        {canEdit && (
          <Button size="sm" variant="ghost" onClick={onRename} aria-label={`Rename ${table.name}`}>
            Rename
          </Button>
        )}
        {canDelete && (
          <Button size="sm" variant="ghost" onClick={onDelete} aria-label={`Delete ${table.name}`}>
            <IconTrash />
          </Button>
        )}
      </div>
    </li>
  );
}

function Trash({ workspaceId, canRestore }: { workspaceId: string; canRestore: boolean }) {
  const { data, isPending } = useTables(workspaceId, true);
  const restore = useRestoreTable(workspaceId);
  if (isPending) return <SkeletonRows rows={2} label="Loading the trash" />;
  if (!data?.length) return <p className="px-4 py-6 text-center text-sm text-zinc-500">The trash is empty.</p>;
  return (
    <ul className="divide-y divide-zinc-100">
      {data.map((t) => (
        <li key={t.id} className="flex items-center gap-3 px-4 py-3">
          <div className="min-w-0 flex-1">
            <p className="truncate text-sm font-medium text-zinc-700">{t.name}</p>
            <p className="text-xs text-zinc-500">
              {formatNumber(t.row_count)} rows · deleted {formatDate(t.deleted_at)} · purged after {formatDate(t.purge_after)}
            </p>
          </div>
          {canRestore && (
            <Button
              size="sm"
              busy={restore.isPending && restore.variables === t.id}
              onClick={() => restore.mutate(t.id, { onSuccess: () => toastSuccess(`“${t.name}” restored`) })}
            >
              Restore
            </Button>
          )}
        </li>
      ))}
    </ul>
  );
}

export function TablesPage() {
  const workspaceId = useWorkspaceId();
  const { atLeast } = useWorkspaceRole();
  const navigate = useNavigate();
  const { data, isPending } = useTables(workspaceId);
  const create = useCreateTable(workspaceId);
  const rename = useRenameTable(workspaceId);
  const remove = useDeleteTable(workspaceId);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const [renaming, setRenaming] = useState<Table | null>(null);
  const [deleting, setDeleting] = useState<Table | null>(null);
  const [showTrash, setShowTrash] = useState(false);
  const canEdit = atLeast("member");
  const canDelete = atLeast("admin");
  const errorOf = (e: unknown) => (isApiError(e) ? (e.fieldErrors().name ?? e.message) : undefined);

  const actions = canEdit && (
    <div className="flex gap-2">
      <Button onClick={() => setImporting(true)}>
        <IconUpload /> Import CSV or Excel
      </Button>
      <Button variant="primary" onClick={() => setCreating(true)}>
        <IconPlus /> New table
      </Button>
    </div>
  );

  return (
    <div>
      <PageHeader title="Tables" description="Your lists of companies and people. Open one to sort, filter, edit and enrich it." action={actions} />
      <Card>
        {isPending ? (
          <SkeletonRows rows={3} label="Loading tables" />
        ) : !data?.length ? (
          <EmptyState
            icon={<IconTable className="size-5" />}
            title="No tables yet"
            action={actions || undefined}
          >
            {canEdit
              ? "Import a CSV or Excel file of leads to get started, or start from an empty table and paste rows into it."
              : "Nobody has created a table in this workspace yet. Members and admins can import one."}
          </EmptyState>
        ) : (
          <ul className="divide-y divide-zinc-100" aria-label="Tables">
            {data.map((t) => (
              <TableRow key={t.id} table={t} canEdit={canEdit} canDelete={canDelete} onRename={() => setRenaming(t)} onDelete={() => setDeleting(t)} />
            ))}
          </ul>
        )}
      </Card>
      <div className="mt-6">
        <button type="button" className="flex items-center gap-2 text-sm font-medium text-zinc-600 hover:text-zinc-900" aria-expanded={showTrash} onClick={() => setShowTrash((v) => !v)}>
          <IconTrash /> Trash <Badge>30 days</Badge>
        </button>
        {showTrash && (
          <Card className="mt-2">
            <Trash workspaceId={workspaceId} canRestore={canDelete} />
          </Card>
        )}
      </div>

      {creating && (
        <NameDialog
          open
          title="New table"
          initial="Untitled table"
          submitLabel="Create table"
          busy={create.isPending}
          error={errorOf(create.error)}
          onClose={() => {
            create.reset();
            setCreating(false);
          }}
          onSubmit={(name) =>
            create.mutate(
              {
                name,
                auto_run: true,
                columns: [
                  { name: "Name", type: "text", kind: "data", hidden: false },
                  { name: "Company", type: "text", kind: "data", hidden: false },
                  { name: "Email", type: "email", kind: "data", hidden: false },
                ],
              },
              { onSuccess: (t) => navigate(`/w/${workspaceId}/tables/${t.id}`) },
            )
          }
        />
      )}
      {renaming && (
        <NameDialog
          open
          title="Rename table"
          initial={renaming.name}
          submitLabel="Rename"
          busy={rename.isPending}
          error={errorOf(rename.error)}
          onClose={() => {
            rename.reset();
            setRenaming(null);
          }}
          onSubmit={(name) => rename.mutate({ tableId: renaming.id, name }, { onSuccess: () => setRenaming(null) })}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        title="Move this table to the trash?"
        confirmLabel="Move to trash"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() =>
          deleting &&
          remove.mutate(deleting.id, {
            onSuccess: () => {
              toastSuccess(`“${deleting.name}” moved to the trash`, "An admin can restore it for 30 days.");
              setDeleting(null);
            },
          })
        }
      >
        “{deleting?.name}” disappears for everyone; an admin can restore it from the trash for 30 days.
      </ConfirmDialog>
      <ImportWizard workspaceId={workspaceId} open={importing} onClose={() => setImporting(false)} />
    </div>
  );
}
