import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { Card, CardHeader, PageHeader } from "@/components/ui/card";
import { Dialog, DialogActions } from "@/components/ui/dialog";
import { Badge, EmptyState, Skeleton, SkeletonRows } from "@/components/ui/feedback";
import { Field, Input } from "@/components/ui/form";
import { IconBilling, IconPlus } from "@/components/ui/icons";
import { Pager } from "@/components/ui/pager";
import { formatDateTime, formatNumber } from "@/lib/format";
import { newIdempotencyKey } from "@/lib/id";
import { toastSuccess } from "@/stores/toasts";
import { useWorkspaceId, useWorkspaceRole } from "@/lib/workspace";

import {
  TX_PAGE_SIZE,
  type AutoRechargeSettings, useAccount, useAddCredits, useTransactions, useUpdateAutoRecharge, type Transaction } from "../api/billing";

function Stat({ label, value, hint }: { label: string; value: number | undefined; hint: string }) {
  return (
    <div className="rounded-xl bg-white p-4 shadow-sm ring-1 ring-zinc-200">
      <p className="text-xs font-medium text-zinc-500">{label}</p>
      {value === undefined ? <Skeleton className="mt-2 h-7 w-24" /> : <p className="mt-1 text-2xl font-semibold tabular-nums tracking-tight">{formatNumber(value)}</p>}
      <p className="mt-1 text-xs text-zinc-500">{hint}</p>
    </div>
  );
}

const TX_LABEL: Record<Transaction["type"], { label: string; tone: "neutral" | "green" | "red" | "amber" | "blue" | "indigo" }> = {
  purchase: { label: "Purchase", tone: "green" },
  debit: { label: "Enrichment", tone: "neutral" },
  refund: { label: "Refund", tone: "blue" },
  reservation: { label: "Reserved", tone: "amber" },
  release: { label: "Released", tone: "neutral" },
  auto_recharge: { label: "Auto-recharge", tone: "green" },
  adjustment: { label: "Adjustment", tone: "indigo" },
};

function Transactions({ workspaceId }: { workspaceId: string }) {
  const [page, setPage] = useState(1);
  const tx = useTransactions(workspaceId, page);
  const items = tx.data?.data ?? [];
  return (
    <Card>
      <CardHeader title="Transactions" description="Every change to the balance, newest first. Reservations hold credits while a job runs." />
      {tx.isPending ? (
        <SkeletonRows rows={5} label="Loading transactions" />
      ) : items.length === 0 ? (
        <EmptyState icon={<IconBilling />} title="No transactions yet">
          Credits you add and the credits enrichment jobs spend are listed here.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Transactions table">
          <table className="w-full text-left text-sm">
            <thead className="text-xs text-zinc-500">
              <tr className="border-b border-zinc-100">
                <th scope="col" className="px-4 py-2 font-medium">When</th>
                <th scope="col" className="px-4 py-2 font-medium">Type</th>
                <th scope="col" className="px-4 py-2 font-medium">Description</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Amount</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Balance</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100">
              {items.map((t) => {
                const kind = TX_LABEL[t.type];
                const amount = t.amount !== 0 ? t.amount : t.reserved_delta;
                return (
                  <tr key={t.id} className="h-12">
                    <td className="whitespace-nowrap px-4 text-zinc-600">{formatDateTime(t.created_at)}</td>
                    <td className="px-4"><Badge tone={kind.tone}>{kind.label}</Badge></td>
                    <td className="max-w-xs truncate px-4 text-zinc-700">{t.description ?? "—"}</td>
                    <td className={`whitespace-nowrap px-4 text-right tabular-nums ${amount > 0 ? "text-emerald-700" : "text-zinc-900"}`}>
                      {amount > 0 ? "+" : ""}
                      {formatNumber(amount)}
                      {t.amount === 0 && t.reserved_delta !== 0 && <span className="text-xs text-zinc-500"> reserved</span>}
                    </td>
                    <td className="whitespace-nowrap px-4 text-right tabular-nums text-zinc-600">{formatNumber(t.balance_after)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {tx.data?.meta && <Pager label="Transaction pages" page={page} limit={TX_PAGE_SIZE} total={tx.data.meta.total} onPage={setPage} />}
    </Card>
  );
}

function AutoRecharge({ workspaceId, canEdit }: { workspaceId: string; canEdit: boolean }) {
  const saved = useAccount(workspaceId).data?.auto_recharge;
  return (
    <Card>
      <CardHeader title="Auto-recharge" description="When spending (a debit) takes the balance below the threshold, the amount is added once. Credits held for a running job do not count as spent, so reserving or cancelling never triggers a recharge." />
      {/* Keyed by the saved values: the form starts over from what the server holds after each save. */}
      <AutoRechargeForm key={saved ? `${saved.enabled}:${saved.threshold}:${saved.amount}` : "loading"} workspaceId={workspaceId} saved={saved} canEdit={canEdit} />
    </Card>
  );
}

function AutoRechargeForm({ workspaceId, saved, canEdit }: { workspaceId: string; saved: AutoRechargeSettings | undefined; canEdit: boolean }) {
  const update = useUpdateAutoRecharge(workspaceId);
  const [enabled, setEnabled] = useState(saved?.enabled ?? false);
  const [threshold, setThreshold] = useState(saved ? String(saved.threshold) : "");
  const [amount, setAmount] = useState(saved ? String(saved.amount) : "");
  const dirty = saved && (enabled !== saved.enabled || threshold !== String(saved.threshold) || amount !== String(saved.amount));

  function submit(event: FormEvent) {
    event.preventDefault();
    update.mutate(
      { enabled, threshold: Number(threshold), amount: Number(amount) },
      { onSuccess: () => toastSuccess("Auto-recharge saved") },
    );
  }

  return (
    <form onSubmit={submit} className="space-y-4 p-4">
      <label className="flex items-center gap-3 text-sm">
        <input type="checkbox" className="size-4 rounded border-zinc-300 accent-indigo-600" checked={enabled} disabled={!canEdit || !saved} onChange={(e) => setEnabled(e.target.checked)} />
        <span className="font-medium">Recharge automatically</span>
      </label>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="When a debit takes the balance below">
          {({ id }) => <Input id={id} type="number" min={0} inputMode="numeric" value={threshold} disabled={!canEdit || !enabled} onChange={(e) => setThreshold(e.target.value)} />}
        </Field>
        <Field label="Add this many credits">
          {({ id }) => <Input id={id} type="number" min={1} inputMode="numeric" value={amount} disabled={!canEdit || !enabled} onChange={(e) => setAmount(e.target.value)} />}
        </Field>
      </div>
      <div className="flex items-center justify-between gap-3">
        <p className="text-xs text-zinc-500">{canEdit ? "" : "Only the workspace owner can change billing."}</p>
        <Button type="submit" variant="primary" disabled={!canEdit || !dirty} busy={update.isPending}>
          Save
        </Button>
      </div>
    </form>
  );
}

function AddCreditsDialog({ workspaceId, open, onClose }: { workspaceId: string; open: boolean; onClose(): void }) {
  return (
    <Dialog open={open} onClose={onClose} title="Add credits" description="Credits pay for provider calls; a call that finds nothing is refunded.">
      <AddCreditsForm workspaceId={workspaceId} onClose={onClose} />
    </Dialog>
  );
}

function AddCreditsForm({ workspaceId, onClose }: { workspaceId: string; onClose(): void }) {
  const [amount, setAmount] = useState("1000");
  const [description, setDescription] = useState("Manual top-up");
  // The form mounts with each opening of the dialog: one key per opening, so a double click or a
  // retry adds the credits once.
  const [key] = useState(newIdempotencyKey);
  const add = useAddCredits(workspaceId);

  function submit(event: FormEvent) {
    event.preventDefault();
    add.mutate(
      { amount: Number(amount), description: description.trim(), idempotencyKey: key },
      {
        onSuccess: () => {
          toastSuccess("Credits added", `${formatNumber(Number(amount))} credits are available now.`);
          onClose();
        },
      },
    );
  }

  return (
    <form onSubmit={submit} className="space-y-4">
      <Field label="Amount">
        {({ id }) => <Input id={id} type="number" min={1} required value={amount} onChange={(e) => setAmount(e.target.value)} />}
      </Field>
      <Field label="Description" hint="Shown in the transaction list.">
        {({ id, describedBy }) => <Input id={id} required aria-describedby={describedBy} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="primary" busy={add.isPending} disabled={!(Number(amount) > 0) || !description.trim()}>
          Add credits
        </Button>
      </DialogActions>
    </form>
  );
}

export function BillingPage() {
  const workspaceId = useWorkspaceId();
  const { atLeast } = useWorkspaceRole();
  const account = useAccount(workspaceId).data;
  const [adding, setAdding] = useState(false);
  const isOwner = atLeast("owner");

  return (
    <>
      <PageHeader
        title="Billing"
        description="Your credit balance and where it went."
        action={
          isOwner && (
            <Button variant="primary" onClick={() => setAdding(true)}>
              <IconPlus /> Add credits
            </Button>
          )
        }
      />
      <div className="space-y-6">
        <div className="grid gap-4 sm:grid-cols-3">
          <Stat label="Available" value={account?.available} hint="What new jobs can spend." />
          <Stat label="Balance" value={account?.balance} hint="All credits in the workspace." />
          <Stat label="Reserved" value={account?.reserved} hint="Held for jobs that are running." />
        </div>
        <AutoRecharge workspaceId={workspaceId} canEdit={isOwner} />
        <Transactions workspaceId={workspaceId} />
      </div>
      <AddCreditsDialog workspaceId={workspaceId} open={adding} onClose={() => setAdding(false)} />
    </>
  );
}
