import { useMemo, useState } from "react";

import { Button } from "@/components/ui/button";
import { Card, CardHeader, PageHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm";
import { Dialog } from "@/components/ui/dialog";
import { Badge, EmptyState, SkeletonRows } from "@/components/ui/feedback";
import { IconPlug, IconPlus } from "@/components/ui/icons";
import { formatDateTime } from "@/lib/format";
import { useWorkspaceId, useWorkspaceRole } from "@/lib/workspace";
import { toastSuccess } from "@/stores/toasts";

import { rememberPendingConnect, useConnections, useDisconnect, useExports, useMemberNames, useStartConnect, useTableList, type Connection } from "../api/crm";
import { CRM_LABEL, type Crm } from "../mapping";
import { ExportForm } from "./export-form";
import { ExportsList } from "./exports-list";

const CRMS: { crm: Crm; blurb: string }[] = [
  { crm: "hubspot", blurb: "Contacts and companies, upserted on email and domain." },
  { crm: "salesforce", blurb: "Leads, contacts and accounts, upserted on an External ID field." },
];

function account(connection: Connection): string {
  if (connection.instance_url) return connection.instance_url.replace(/^https?:\/\//, "");
  return connection.crm === "hubspot" ? "HubSpot portal" : "Salesforce org";
}

function ConnectionsCard({ workspaceId, canManage }: { workspaceId: string; canManage: boolean }) {
  const connections = useConnections(workspaceId);
  const members = useMemberNames(workspaceId);
  const start = useStartConnect(workspaceId);
  const disconnect = useDisconnect(workspaceId);
  const [removing, setRemoving] = useState<Connection | null>(null);

  function connect(crm: Crm) {
    start.mutate(crm, {
      onSuccess: (out) => {
        rememberPendingConnect(out.state, workspaceId, crm);
        window.location.assign(out.authorize_url);
      },
    });
  }

  return (
    <Card className="mb-6">
      <CardHeader title="Connections" description={canManage ? "One connection per CRM; its tokens are kept encrypted in the vault." : "Admins connect and disconnect CRMs."} />
      {connections.isPending ? (
        <SkeletonRows rows={2} label="Loading connections" />
      ) : (
        <ul className="divide-y divide-zinc-100" aria-label="CRM connections">
          {CRMS.map(({ crm, blurb }) => {
            const c = connections.data?.find((x) => x.crm === crm);
            const busy = start.isPending && start.variables === crm;
            return (
              <li key={crm} className="flex min-h-16 flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3" data-testid={`connection-${crm}`}>
                <div className="min-w-0 flex-1">
                  <p className="flex flex-wrap items-center gap-2 font-medium text-zinc-900">
                    {CRM_LABEL[crm]}
                    {c ? <Badge tone={c.connected ? "green" : "amber"}>{c.connected ? "Connected" : "Reconnect needed"}</Badge> : <Badge>Not connected</Badge>}
                  </p>
                  {c ? (
                    <p className="mt-0.5 text-xs text-zinc-500">
                      <span className={c.instance_url ? "font-mono text-zinc-700" : "text-zinc-700"}>{account(c)}</span> · connected by {(c.created_by && members.data?.get(c.created_by)) || "a former member"} on{" "}
                      {formatDateTime(c.created_at)}
                      {c.refreshed_at && <> · tokens renewed {formatDateTime(c.refreshed_at)}</>}
                    </p>
                  ) : (
                    <p className="mt-0.5 text-xs text-zinc-500">{blurb}</p>
                  )}
                </div>
                {canManage && (
                  <div className="flex shrink-0 gap-2">
                    {(!c || !c.connected) && (
                      <Button size="sm" variant="primary" busy={busy} disabled={start.isPending} onClick={() => connect(crm)}>
                        Connect {CRM_LABEL[crm]}
                      </Button>
                    )}
                    {c && (
                      <Button size="sm" variant="danger" onClick={() => setRemoving(c)}>
                        Disconnect
                      </Button>
                    )}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={removing ? `Disconnect ${CRM_LABEL[removing.crm]}?` : "Disconnect?"}
        confirmLabel="Disconnect"
        busy={disconnect.isPending}
        onClose={() => setRemoving(null)}
        onConfirm={() =>
          removing &&
          disconnect.mutate(removing.id, {
            onSuccess: () => {
              toastSuccess(`${CRM_LABEL[removing.crm]} disconnected`);
              setRemoving(null);
            },
          })
        }
      >
        The tokens are deleted and the exports through this connection with them; runs in progress stop at their next batch. The
        tables keep their result columns.
      </ConfirmDialog>
    </Card>
  );
}

export function CrmPage() {
  const workspaceId = useWorkspaceId();
  const { atLeast } = useWorkspaceRole();
  const exports = useExports(workspaceId);
  const connections = useConnections(workspaceId);
  const tables = useTableList(workspaceId);
  const [creating, setCreating] = useState(false);
  const canRun = atLeast("member");
  const tableNames = useMemo(() => new Map((tables.data ?? []).map((t) => [t.id, t.name])), [tables.data]);
  const hasConnection = (connections.data ?? []).some((c) => c.connected);
  const items = exports.data ?? [];

  const newButton = canRun && hasConnection && (
    <Button size="sm" variant="primary" onClick={() => setCreating(true)}>
      <IconPlus /> New export
    </Button>
  );

  return (
    <>
      <PageHeader title="CRM" description="Push table rows to HubSpot or Salesforce as upserts; each row’s outcome is written back into the table." />
      <ConnectionsCard workspaceId={workspaceId} canManage={atLeast("admin")} />
      <Card>
        <CardHeader title="Exports" description="A table’s columns mapped to a CRM object. Runs push only the rows that changed since the last push." action={items.length > 0 && newButton} />
        {exports.isPending ? (
          <SkeletonRows rows={2} label="Loading exports" />
        ) : items.length === 0 ? (
          <EmptyState icon={<IconPlug />} title="No exports yet" action={newButton}>
            {hasConnection
              ? "Map a table’s columns to CRM properties, here or from a table’s Export menu."
              : "Connect a CRM above, then map a table’s columns to its properties."}
          </EmptyState>
        ) : (
          <ExportsList workspaceId={workspaceId} exports={items} canRun={canRun} tableNames={tableNames} />
        )}
      </Card>
      <Dialog open={creating} onClose={() => setCreating(false)} title="New CRM export" description="Rows become CRM records: created, or updated when the key matches." size="xl">
        {creating && (
          <ExportForm
            workspaceId={workspaceId}
            onCancel={() => setCreating(false)}
            onSaved={() => {
              toastSuccess("Export saved", "Run it now, or later from this page or the table.");
              setCreating(false);
            }}
          />
        )}
      </Dialog>
    </>
  );
}
