import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { ConfirmDeleteDialog } from "@/components/ui/confirm";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { EmptyState, SkeletonRows } from "@/components/ui/feedback";
import { Field, Input, Select } from "@/components/ui/form";
import { IconKey, IconPlus, IconTrash } from "@/components/ui/icons";
import { isApiError } from "@/lib/api";
import { formatDate } from "@/lib/format";
import { useWorkspaceId, useWorkspaceRole } from "@/lib/workspace";
import { toastSuccess } from "@/stores/toasts";

import { useAddCredential, useCredentials, useDeleteCredential, type Credential } from "../api/credentials";

// Providers the vault accepts keys for (the API validates the same list).
const PROVIDERS = [
  { slug: "apollo", name: "Apollo" },
  { slug: "clearbit", name: "Clearbit" },
  { slug: "hunter", name: "Hunter" },
  { slug: "openai", name: "OpenAI" },
  { slug: "hubspot", name: "HubSpot" },
  { slug: "salesforce", name: "Salesforce" },
];
const providerName = (slug: string) => PROVIDERS.find((p) => p.slug === slug)?.name ?? slug;

function AddCredentialDialog({ workspaceId, open, onClose }: { workspaceId: string; open: boolean; onClose(): void }) {
  const [provider, setProvider] = useState("apollo");
  const [name, setName] = useState("");
  const [apiKey, setApiKey] = useState("");
  const add = useAddCredential(workspaceId);
  const fields = isApiError(add.error) ? add.error.fieldErrors() : {};
  const general = isApiError(add.error) && !Object.keys(fields).length ? add.error.message : null;

  function close() {
    setApiKey("");
    setName("");
    add.reset();
    onClose();
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    add.mutate(
      { provider, name: name.trim() || null, api_key: apiKey.trim() },
      {
        onSuccess: () => {
          toastSuccess("Credential saved", `${providerName(provider)} calls in this workspace use it from now on.`);
          close();
        },
      },
    );
  }

  return (
    <Dialog open={open} onClose={close} title="Add a credential" description="Keys are encrypted at rest and never shown again in full.">
      <form onSubmit={submit} className="space-y-4" noValidate>
        {general && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
            {general}
          </p>
        )}
        <Field label="Provider" error={fields.provider}>
          {({ id }) => (
            <Select id={id} value={provider} onChange={(e) => setProvider(e.target.value)}>
              {PROVIDERS.map((p) => (
                <option key={p.slug} value={p.slug}>
                  {p.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Name" hint="Optional, e.g. “Production key”." error={fields.name}>
          {({ id, describedBy }) => <Input id={id} aria-describedby={describedBy} value={name} maxLength={120} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="API key" error={fields.api_key}>
          {({ id, describedBy, invalid }) => (
            <Input id={id} type="password" autoComplete="off" spellCheck={false} required aria-invalid={invalid} aria-describedby={describedBy} value={apiKey} onChange={(e) => setApiKey(e.target.value)} />
          )}
        </Field>
        <DialogActions>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" variant="primary" busy={add.isPending} disabled={!apiKey.trim()}>
            Save credential
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

export function CredentialsPage() {
  const workspaceId = useWorkspaceId();
  const { atLeast } = useWorkspaceRole();
  const credentials = useCredentials(workspaceId);
  const remove = useDeleteCredential(workspaceId);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<Credential | null>(null);
  const canEdit = atLeast("admin");
  const items = credentials.data ?? [];

  const addButton = canEdit && (
    <Button variant="primary" onClick={() => setAdding(true)}>
      <IconPlus /> Add credential
    </Button>
  );

  return (
    <>
      <PageHeader title="Credentials" description="Provider API keys for this workspace, encrypted at rest. Enrichment calls to a provider use the key stored for it." action={items.length > 0 && addButton} />
      <Card>
        {credentials.isPending ? (
          <SkeletonRows rows={3} label="Loading credentials" />
        ) : items.length === 0 ? (
          <EmptyState icon={<IconKey />} title="No credentials yet" action={addButton}>
            Add an API key for Apollo, Hunter, Clearbit or OpenAI and enrichment calls to that provider run on your own account
            and plan.
          </EmptyState>
        ) : (
          <ul className="divide-y divide-zinc-100" aria-label="Credentials">
            {items.map((c) => (
              <li key={c.id} className="flex min-h-16 flex-wrap items-center gap-x-4 gap-y-1 px-4 py-3">
                <div className="min-w-0 flex-1">
                  <p className="font-medium text-zinc-900">
                    {providerName(c.provider)}
                    <span className="font-normal text-zinc-500"> · {c.name}</span>
                  </p>
                  <p className="mt-0.5 font-mono text-xs text-zinc-500">{c.masked_key}</p>
                </div>
                <p className="text-xs text-zinc-500">Added {formatDate(c.created_at)}</p>
                {canEdit && (
                  <Button size="sm" variant="ghost" aria-label={`Delete ${providerName(c.provider)} credential ${c.name}`} onClick={() => setDeleting(c)}>
                    <IconTrash />
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </Card>
      <AddCredentialDialog workspaceId={workspaceId} open={adding} onClose={() => setAdding(false)} />
      <ConfirmDeleteDialog item={deleting} noun="credential" busy={remove.isPending} onClose={() => setDeleting(null)} onDelete={(c, done) => remove.mutate(c.id, { onSuccess: done })}>
        {(c) => `${providerName(c.provider)} · ${c.name} (${c.masked_key}). New enrichment calls to this provider will no longer use it.`}
      </ConfirmDeleteDialog>
    </>
  );
}
