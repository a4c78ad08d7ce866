import { useState } from "react";
import { useNavigate } from "react-router-dom";

import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm";
import { Badge, SkeletonRows } from "@/components/ui/feedback";
import { Select } from "@/components/ui/form";
import { formatDate } from "@/lib/format";
import { useWorkspaceId, useWorkspaceRole, type Role } from "@/lib/workspace";
import { useSession } from "@/stores/session";
import { toastSuccess } from "@/stores/toasts";

import { useChangeRole, useMembers, useRemoveMember, type Member } from "../api/members";
import { Invitations } from "./invitations";

const ROLES: { value: Role; label: string; hint: string }[] = [
  { value: "owner", label: "Owner", hint: "Everything, including billing and deleting the workspace." },
  { value: "admin", label: "Admin", hint: "Manages members, credentials and webhooks." },
  { value: "member", label: "Member", hint: "Builds tables and runs enrichment." },
  { value: "viewer", label: "Viewer", hint: "Sees tables and results, changes nothing." },
];

export function MembersPage() {
  const workspaceId = useWorkspaceId();
  const { atLeast } = useWorkspaceRole();
  const me = useSession((s) => s.user);
  const members = useMembers(workspaceId);
  const changeRole = useChangeRole(workspaceId);
  const remove = useRemoveMember(workspaceId);
  const navigate = useNavigate();
  const [removing, setRemoving] = useState<Member | null>(null);
  const canManage = atLeast("admin");
  const isOwner = atLeast("owner");
  const leaving = removing?.user_id === me?.id;

  return (
    <>
      <PageHeader title="Members" description="Who can use this workspace and what they may do." />
      <Card>
        {members.isPending ? (
          <SkeletonRows rows={3} label="Loading members" />
        ) : (
          <ul className="divide-y divide-zinc-100" aria-label="Members">
            {members.data?.map((m) => {
              const self = m.user_id === me?.id;
              // Only an owner may grant or take away ownership; nobody changes their own role here.
              const editable = canManage && !self && (isOwner || m.role !== "owner");
              return (
                <li key={m.user_id} className="flex min-h-16 flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3">
                  <span className="flex size-8 shrink-0 items-center justify-center rounded-full bg-indigo-100 text-xs font-semibold text-indigo-700" aria-hidden="true">
                    {(m.name || m.email).slice(0, 1).toUpperCase()}
                  </span>
                  <div className="min-w-0 flex-1 basis-48">
                    <p className="truncate font-medium text-zinc-900">
                      {m.name || m.email} {self && <Badge>You</Badge>}
                    </p>
                    <p className="truncate text-xs text-zinc-500">
                      {m.email} · joined {formatDate(m.joined_at)}
                    </p>
                  </div>
                  {editable ? (
                    <Select
                      aria-label={`Role of ${m.email}`}
                      className="w-32"
                      value={m.role}
                      disabled={changeRole.isPending}
                      onChange={(e) =>
                        changeRole.mutate(
                          { userId: m.user_id, role: e.target.value as Role },
                          { onSuccess: () => toastSuccess("Role changed", `${m.email} is now ${e.target.value}.`) },
                        )
                      }
                    >
                      {ROLES.filter((r) => isOwner || r.value !== "owner").map((r) => (
                        <option key={r.value} value={r.value}>
                          {r.label}
                        </option>
                      ))}
                    </Select>
                  ) : (
                    <span className="w-32 text-sm capitalize text-zinc-600">{m.role}</span>
                  )}
                  {(editable || self) && (
                    <Button size="sm" variant="ghost" onClick={() => setRemoving(m)} aria-label={self ? "Leave this workspace" : `Remove ${m.email}`}>
                      {self ? "Leave" : "Remove"}
                    </Button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </Card>
      {canManage && <Invitations workspaceId={workspaceId} canInviteAdmins={isOwner} />}
      <Card className="mt-6">
        <dl className="grid gap-4 p-4 sm:grid-cols-2">
          {ROLES.map((r) => (
            <div key={r.value}>
              <dt className="text-sm font-medium text-zinc-900">{r.label}</dt>
              <dd className="text-xs text-zinc-500">{r.hint}</dd>
            </div>
          ))}
        </dl>
      </Card>
      <ConfirmDialog
        open={removing !== null}
        title={leaving ? "Leave this workspace?" : "Remove this member?"}
        confirmLabel={leaving ? "Leave workspace" : "Remove member"}
        busy={remove.isPending}
        onClose={() => setRemoving(null)}
        onConfirm={() =>
          removing &&
          remove.mutate(removing.user_id, {
            onSuccess: () => {
              setRemoving(null);
              if (leaving) navigate("/");
              else toastSuccess("Member removed");
            },
          })
        }
      >
        {leaving ? "You lose access to its tables and results until someone adds you again." : `${removing?.email} loses access to this workspace.`}
      </ConfirmDialog>
    </>
  );
}
