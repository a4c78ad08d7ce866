import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";

import { Button } from "@/components/ui/button";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Field, Input } from "@/components/ui/form";
import { IconLogout } from "@/components/ui/icons";
import { logout } from "@/features/auth/api/session";
import { isApiError } from "@/lib/api";
import { useSession } from "@/stores/session";

import { useCreateWorkspace } from "../api/workspaces";
import { useLastWorkspace } from "../stores/last-workspace";

function CreateWorkspaceForm({ onDone, onCancel }: { onDone?: () => void; onCancel?: () => void }) {
  const [name, setName] = useState("");
  const create = useCreateWorkspace();
  const navigate = useNavigate();
  const remember = useLastWorkspace((s) => s.remember);
  const error = isApiError(create.error) ? (create.error.fieldErrors().name ?? create.error.message) : undefined;

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(name.trim(), {
      onSuccess: (workspace) => {
        remember(workspace.id);
        onDone?.();
        navigate(`/w/${workspace.id}`);
      },
    });
  }

  return (
    <form onSubmit={submit} noValidate>
      <Field label="Workspace name" hint="Usually your company or team." error={error}>
        {({ id, describedBy, invalid }) => (
          <Input id={id} autoFocus required maxLength={120} aria-invalid={invalid} aria-describedby={describedBy} value={name} onChange={(e) => setName(e.target.value)} placeholder="Acme growth team" />
        )}
      </Field>
      <DialogActions>
        {onCancel && (
          <Button onClick={onCancel} disabled={create.isPending}>
            Cancel
          </Button>
        )}
        <Button type="submit" variant="primary" busy={create.isPending} disabled={!name.trim()}>
          Create workspace
        </Button>
      </DialogActions>
    </form>
  );
}

export function CreateWorkspaceDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  return (
    <Dialog open={open} onClose={onClose} title="Create a workspace" description="A workspace holds tables, credits, credentials and members.">
      <CreateWorkspaceForm onDone={onClose} onCancel={onClose} />
    </Dialog>
  );
}

/** First run: a signed-in user with no workspace yet. */
export function FirstWorkspace() {
  const email = useSession((s) => s.user?.email);
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center px-4">
      <div className="fixed right-4 top-3 flex items-center gap-2 text-xs text-zinc-600">
        <span className="hidden sm:inline">{email}</span>
        <Button size="sm" variant="ghost" onClick={() => void logout()}>
          <IconLogout /> Log out
        </Button>
      </div>
      <div className="w-full max-w-md rounded-xl bg-white p-6 shadow-sm ring-1 ring-zinc-200">
        <h1 className="text-lg font-semibold">Create your first workspace</h1>
        <p className="mt-1 mb-5 text-sm text-zinc-600">
          Everything in Morket lives in a workspace: your tables, the credits that pay for enrichment, provider keys and the
          people you work with. You can invite teammates later.
        </p>
        <CreateWorkspaceForm />
      </div>
    </main>
  );
}
