import { useMemo, useState } from "react";
import { Link } from "react-router-dom";

import { Button } from "@/components/ui/button";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { SkeletonRows } from "@/components/ui/feedback";
import { IconPlus } from "@/components/ui/icons";
import { toastSuccess } from "@/stores/toasts";

import { useExports } from "../api/crm";
import { ExportForm } from "./export-form";
import { ExportsList } from "./exports-list";

interface TableCrmDialogProps {
  workspaceId: string;
  tableId: string;
  columns: { id: string; name: string }[];
  canEdit: boolean;
  onClose(): void;
}

/** The table menu's "Export to CRM…": this table's exports (run, progress, cancel) and a new one. */
export function TableCrmDialog({ workspaceId, tableId, columns, canEdit, onClose }: TableCrmDialogProps) {
  const exports = useExports(workspaceId, tableId);
  const [creating, setCreating] = useState<boolean | null>(null);
  const columnNames = useMemo(() => new Map(columns.map((c) => [c.id, c.name])), [columns]);
  const items = exports.data ?? [];
  // No export yet: straight to the form (members); once saved, the list with "Run now".
  const showForm = canEdit && (creating ?? (exports.isSuccess && items.length === 0));

  return (
    <Dialog open onClose={onClose} title={showForm ? "Export to CRM" : "CRM exports of this table"} description={showForm ? "Rows become CRM records: created, or updated when the key matches." : undefined} size="xl">
      {showForm ? (
        <ExportForm
          workspaceId={workspaceId}
          tableId={tableId}
          onCancel={() => (items.length ? setCreating(false) : onClose())}
          onSaved={() => {
            toastSuccess("Export saved", "Run it now; the result columns fill as rows are pushed.");
            setCreating(false);
          }}
        />
      ) : (
        <>
          <div className="-mx-5 border-y border-zinc-100">
            {exports.isPending ? <SkeletonRows rows={1} label="Loading exports" /> : <ExportsList workspaceId={workspaceId} exports={items} canRun={canEdit} columnNames={columnNames} />}
          </div>
          <DialogActions>
            <Link to={`/w/${workspaceId}/crm`} className="mr-auto inline-flex h-9 items-center text-sm font-medium text-indigo-700 hover:underline">
              CRM connections
            </Link>
            {canEdit && (
              <Button onClick={() => setCreating(true)}>
                <IconPlus /> New export
              </Button>
            )}
            <Button variant="primary" onClick={onClose}>
              Done
            </Button>
          </DialogActions>
        </>
      )}
    </Dialog>
  );
}
