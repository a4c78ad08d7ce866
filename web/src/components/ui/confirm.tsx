import type { ReactNode } from "react";

import { toastSuccess } from "@/stores/toasts";

import { Button } from "./button";
import { Dialog, DialogActions } from "./dialog";

interface ConfirmProps {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  onConfirm(): void;
  onClose(): void;
}

export function ConfirmDialog({ open, title, children, confirmLabel, busy, onConfirm, onClose }: ConfirmProps) {
  return (
    <Dialog open={open} onClose={onClose} title={title} description={children}>
      <DialogActions>
        <Button onClick={onClose} disabled={busy}>
          Cancel
        </Button>
        <Button variant="danger" onClick={onConfirm} busy={busy}>
          {confirmLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/**
 * Confirm deleting one thing (a credential, a webhook): "Delete this <noun>?", what it is and what
 * happens (`children`), then `onDelete(item, done)`; `done` toasts "<Noun> deleted" and closes.
 * A failure is the mutation's own toast; the dialog stays open.
 */
export function ConfirmDeleteDialog<T>({ item, noun, busy, onClose, onDelete, children }: { item: T | null; noun: string; busy: boolean; onClose(): void; onDelete(item: T, done: () => void): void; children(item: T): ReactNode }) {
  const done = () => {
    toastSuccess(`${noun.charAt(0).toUpperCase()}${noun.slice(1)} deleted`);
    onClose();
  };
  return (
    <ConfirmDialog open={item !== null} title={`Delete this ${noun}?`} confirmLabel={`Delete ${noun}`} busy={busy} onClose={onClose} onConfirm={() => item !== null && onDelete(item, done)}>
      {item !== null && children(item)}
    </ConfirmDialog>
  );
}
