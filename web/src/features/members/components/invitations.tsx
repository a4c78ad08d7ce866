import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";

import { Button, Spinner } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Badge, EmptyState } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";
import { IconCopy, IconMail, IconPlus } from "@/components/ui/icons";
import { isApiError, type Schemas } from "@/lib/api";
import { formatDate } from "@/lib/format";
import { workspacesKey } from "@/lib/workspace";

import { acceptInvitation, useInvitations, useInvite, useRevokeInvitation, type InvitationCreated } from "../api/members";

function InviteDialog({ workspaceId, open, onClose, canInviteAdmins }: { workspaceId: string; open: boolean; onClose(): void; canInviteAdmins: boolean }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Schemas["Role"]>("member");
  const [copied, setCopied] = useState(false);
  const invite = useInvite(workspaceId);
  const created: InvitationCreated | undefined = invite.data;
  const fields = isApiError(invite.error) ? invite.error.fieldErrors() : {};
  const link = created ? `${window.location.origin}${created.accept_path}` : "";

  function close() {
    invite.reset();
    setEmail("");
    setCopied(false);
    onClose();
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    invite.mutate({ email: email.trim(), role });
  }

  return (
    <Dialog open={open} onClose={close} title={created ? "Invitation created" : "Invite someone"} description={created ? undefined : "They get a link to join this workspace with the role you choose."}>
      {created ? (
        <div className="space-y-3">
          <p className="text-sm text-zinc-600">
            Send this link to <span className="font-medium text-zinc-900">{created.email}</span>. It works once, until {formatDate(created.expires_at)}, and is shown only now.
          </p>
          <div className="flex items-center gap-2 rounded-md bg-zinc-50 p-2 ring-1 ring-inset ring-zinc-200">
            <code className="min-w-0 flex-1 break-all font-mono text-xs" data-testid="invite-link">
              {link}
            </code>
            <Button size="sm" aria-label="Copy the invitation link" onClick={() => void navigator.clipboard?.writeText(link).then(() => setCopied(true))}>
              <IconCopy /> {copied ? "Copied" : "Copy"}
            </Button>
          </div>
          <DialogActions>
            <Button variant="primary" onClick={close}>
              Done
            </Button>
          </DialogActions>
        </div>
      ) : (
        <form onSubmit={submit} className="space-y-4" noValidate>
          {isApiError(invite.error) && !fields.email && (
            <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
              {invite.error.message}
            </p>
          )}
          <Field label="Email" error={fields.email}>
            {({ id, describedBy, invalid }) => <Input id={id} type="email" autoFocus required value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={invalid} aria-describedby={describedBy} placeholder="teammate@company.com" />}
          </Field>
          <Field label="Role">
            {({ id }) => (
              <Select id={id} value={role} onChange={(e) => setRole(e.target.value as Schemas["Role"])}>
                {canInviteAdmins && <option value="admin">Admin</option>}
                <option value="member">Member</option>
                <option value="viewer">Viewer</option>
              </Select>
            )}
          </Field>
          <DialogActions>
            <Button onClick={close}>Cancel</Button>
            <Button type="submit" variant="primary" busy={invite.isPending} disabled={!email.trim()}>
              Create invitation
            </Button>
          </DialogActions>
        </form>
      )}
    </Dialog>
  );
}

const STATUS_TONE = { pending: "indigo", accepted: "green", revoked: "neutral", expired: "amber" } as const;

/** Pending and past invitations of the workspace (admins): invite, copy the link once, revoke. */
export function Invitations({ workspaceId, canInviteAdmins }: { workspaceId: string; canInviteAdmins: boolean }) {
  const invitations = useInvitations(workspaceId, true);
  const revoke = useRevokeInvitation(workspaceId);
  const [open, setOpen] = useState(false);
  return (
    <Card className="mt-6">
      <CardHeader
        title="Invitations"
        description="People invited by email join with the role chosen here."
        action={
          <Button size="sm" variant="primary" onClick={() => setOpen(true)}>
            <IconPlus /> Invite
          </Button>
        }
      />
      {invitations.isPending ? (
        <div className="p-4 text-sm text-zinc-500">Loading…</div>
      ) : !invitations.data?.length ? (
        <EmptyState icon={<IconMail className="size-5" />} title="No invitations yet">
          Invite a teammate by email: they get a link to join.
        </EmptyState>
      ) : (
        <ul className="divide-y divide-zinc-100" aria-label="Invitations">
          {invitations.data.map((inv) => (
            <li key={inv.id} className="flex items-center gap-3 px-4 py-2.5 text-sm">
              <div className="min-w-0 flex-1">
                <p className="truncate font-medium">{inv.email}</p>
                <p className="text-xs text-zinc-500">
                  {inv.role} · expires {formatDate(inv.expires_at)}
                </p>
              </div>
              <Badge tone={STATUS_TONE[inv.status]}>{inv.status}</Badge>
              {inv.status === "pending" && (
                <Button size="sm" variant="ghost" busy={revoke.isPending && revoke.variables === inv.id} onClick={() => revoke.mutate(inv.id)} aria-label={`Revoke the invitation of ${inv.email}`}>
                  Revoke
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      <InviteDialog workspaceId={workspaceId} open={open} onClose={() => setOpen(false)} canInviteAdmins={canInviteAdmins} />
    </Card>
  );
}

/** `/invitations/accept#token=...`: the token stays in the fragment (never sent in a URL to a server log). */
export function AcceptInvitationPage() {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [token] = useState(() => new URLSearchParams(window.location.hash.slice(1)).get("token"));
  const [error, setError] = useState<string | null>(token ? null : "This link has no invitation in it. Ask for a new one.");
  const started = useRef(false);
  useEffect(() => {
    if (started.current || !token) return;
    started.current = true;
    acceptInvitation(token).then(
      (ws) => {
        void client.invalidateQueries({ queryKey: workspacesKey });
        navigate(`/w/${ws.id}/tables`, { replace: true });
      },
      (e: unknown) => setError(isApiError(e) ? e.message : "The invitation could not be accepted."),
    );
  }, [client, navigate, token]);
  return (
    <main className="flex min-h-dvh items-center justify-center px-4">
      {error ? (
        <EmptyState title="Invitation not accepted" action={<Link to="/" className="font-medium text-indigo-600">Go to your workspaces</Link>}>
          {error}
        </EmptyState>
      ) : (
        <div role="status" className="flex items-center gap-2 text-sm text-zinc-600">
          <Spinner /> Joining the workspace…
        </div>
      )}
    </main>
  );
}
