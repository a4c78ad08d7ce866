import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { ConfirmDeleteDialog } from "@/components/ui/confirm";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Badge, EmptyState, SkeletonRows } from "@/components/ui/feedback";
import { Field, Input } from "@/components/ui/form";
import { IconCopy, IconPlus, IconTrash, IconWebhook } from "@/components/ui/icons";
import { isApiError, type Schemas } from "@/lib/api";
import { formatDate } from "@/lib/format";
import { useWorkspaceId, useWorkspaceRole } from "@/lib/workspace";

import { useCreateWebhook, useDeleteWebhook, useWebhooks, WEBHOOK_EVENTS, type Webhook, type WebhookEvent } from "../api/webhooks";

function SecretOnce({ created, onDone }: { created: Schemas["WebhookCreated"]; onDone(): void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="space-y-4">
      <p className="text-sm text-zinc-600">
        Deliveries to <span className="font-medium text-zinc-900 break-all">{created.url}</span> are signed with this secret. Copy it now:
        it is shown only once.
      </p>
      <div className="flex items-center gap-2 rounded-md bg-zinc-50 p-2 ring-1 ring-inset ring-zinc-200">
        <code className="min-w-0 flex-1 break-all font-mono text-xs text-zinc-900" data-testid="webhook-secret">
          {created.secret}
        </code>
        <Button
          size="sm"
          onClick={() => void navigator.clipboard?.writeText(created.secret).then(() => setCopied(true))}
          aria-label="Copy the signing secret"
        >
          <IconCopy /> {copied ? "Copied" : "Copy"}
        </Button>
      </div>
      <DialogActions>
        <Button variant="primary" onClick={onDone}>
          I have saved it
        </Button>
      </DialogActions>
    </div>
  );
}

function CreateWebhookDialog({ workspaceId, open, onClose }: { workspaceId: string; open: boolean; onClose(): void }) {
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<WebhookEvent[]>(["job.completed", "job.failed"]);
  const create = useCreateWebhook(workspaceId);
  const fields = isApiError(create.error) ? create.error.fieldErrors() : {};
  const general = isApiError(create.error) && !Object.keys(fields).length ? create.error.message : null;

  function close() {
    setUrl("");
    create.reset();
    onClose();
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ url: url.trim(), events });
  }

  const toggle = (value: WebhookEvent, on: boolean) => setEvents((list) => (on ? [...list, value] : list.filter((e) => e !== value)));

  return (
    <Dialog open={open} onClose={close} title={create.data ? "Webhook created" : "Add a webhook"} description={create.data ? undefined : "Morket POSTs a signed JSON message to your URL when a job ends."}>
      {create.data ? (
        <SecretOnce created={create.data} onDone={close} />
      ) : (
        <form onSubmit={submit} className="space-y-4" noValidate>
          {general && (
            <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
              {general}
            </p>
          )}
          <Field label="Endpoint URL" hint="An HTTPS URL on the public internet." error={fields.url}>
            {({ id, describedBy, invalid }) => (
              <Input id={id} type="url" required placeholder="https://example.com/hooks/morket" aria-invalid={invalid} aria-describedby={describedBy} value={url} onChange={(e) => setUrl(e.target.value)} />
            )}
          </Field>
          <fieldset>
            <legend className="text-sm font-medium text-zinc-800">Events</legend>
            <div className="mt-2 space-y-2">
              {WEBHOOK_EVENTS.map((e) => (
                <label key={e.value} className="flex items-center gap-2.5 text-sm">
                  <input type="checkbox" className="size-4 accent-indigo-600" checked={events.includes(e.value)} onChange={(ev) => toggle(e.value, ev.target.checked)} />
                  {e.label} <code className="text-xs text-zinc-500">{e.value}</code>
                </label>
              ))}
            </div>
          </fieldset>
          <DialogActions>
            <Button onClick={close}>Cancel</Button>
            <Button type="submit" variant="primary" busy={create.isPending} disabled={!url.trim() || events.length === 0}>
              Create webhook
            </Button>
          </DialogActions>
        </form>
      )}
    </Dialog>
  );
}

export function WebhooksPage() {
  const workspaceId = useWorkspaceId();
  const { atLeast } = useWorkspaceRole();
  const canEdit = atLeast("admin");
  const webhooks = useWebhooks(workspaceId);
  const remove = useDeleteWebhook(workspaceId);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const items = webhooks.data ?? [];

  const addButton = canEdit && (
    <Button variant="primary" onClick={() => setAdding(true)}>
      <IconPlus /> Add webhook
    </Button>
  );

  return (
    <>
      <PageHeader title="Webhooks" description="Tell your own systems when enrichment jobs finish. Each delivery is signed and retried on failure." action={items.length > 0 && addButton} />
      <Card>
        {webhooks.isPending ? (
          <SkeletonRows rows={2} label="Loading webhooks" />
        ) : items.length === 0 ? (
          <EmptyState icon={<IconWebhook />} title="No webhooks yet" action={addButton}>
            Add an endpoint to hear about completed, failed or cancelled jobs: handy for syncing results into a CRM or alerting a
            channel.
          </EmptyState>
        ) : (
          <ul className="divide-y divide-zinc-100" aria-label="Webhooks">
            {items.map((w) => (
              <li key={w.id} className="flex min-h-16 flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3">
                <div className="min-w-0 flex-1">
                  <p className="truncate font-mono text-xs text-zinc-900">{w.url}</p>
                  <div className="mt-1.5 flex flex-wrap gap-1.5">
                    {w.events.map((e) => (
                      <Badge key={e}>{e}</Badge>
                    ))}
                  </div>
                </div>
                <p className="text-xs text-zinc-500">Added {formatDate(w.created_at)}</p>
                {canEdit && (
                  <Button size="sm" variant="ghost" aria-label={`Delete webhook ${w.url}`} onClick={() => setDeleting(w)}>
                    <IconTrash />
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </Card>
      <CreateWebhookDialog workspaceId={workspaceId} open={adding} onClose={() => setAdding(false)} />
      <ConfirmDeleteDialog item={deleting} noun="webhook" busy={remove.isPending} onClose={() => setDeleting(null)} onDelete={(w, done) => remove.mutate(w.id, { onSuccess: done })}>
        {(w) => (
          <>
            No more deliveries will go to <span className="break-all">{w.url}</span>.
          </>
        )}
      </ConfirmDeleteDialog>
    </>
  );
}
