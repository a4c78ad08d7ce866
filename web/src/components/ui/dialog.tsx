import { useEffect, useId, useRef, type ReactNode } from "react";

import { IconX } from "./icons";

interface DialogProps {
  open: boolean;
  onClose(): void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  /** md (the default) for short forms, lg/xl for forms with several sections */
  size?: "md" | "lg" | "xl";
}

/** Opens and closes a native <dialog> as a modal (focus trap, Escape, top layer) from a boolean. */
function useModal(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) el.showModal();
    if (!open && el.open) el.close();
  }, [open]);
  return ref;
}

const widths = { md: "max-w-md", lg: "max-w-xl", xl: "max-w-2xl" } as const;

/** A modal on the native <dialog>: focus trap, Escape and the top layer come from the browser. */
export function Dialog({ open, onClose, title, description, children, size = "md" }: DialogProps) {
  const ref = useModal(open);
  const titleId = useId();
  const descId = useId();

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onClose={onClose}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        if (event.target === ref.current) onClose();
      }}
      className={`m-auto max-h-[calc(100dvh-2rem)] w-[calc(100%-2rem)] ${widths[size]} overflow-y-auto rounded-xl bg-white p-0 text-zinc-900 shadow-xl ring-1 ring-zinc-200`}
    >
      {open && (
        <div className="p-5">
          <h2 id={titleId} className="text-base font-semibold">
            {title}
          </h2>
          {description && (
            <div id={descId} className="mt-1 text-sm text-zinc-600">
              {description}
            </div>
          )}
          <div className="mt-4">{children}</div>
        </div>
      )}
    </dialog>
  );
}

export function DialogActions({ children }: { children: ReactNode }) {
  return <div className="mt-5 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">{children}</div>;
}

const panelWidths = { "3xl": "max-w-3xl", "4xl": "max-w-4xl" } as const;

/**
 * A tall modal for multi-step work (import, dedupe): a header with the title, anything under it
 * (steps) and a close button; a body that scrolls on its own; a footer that stays in view. Closing
 * (Escape, the X) goes through `onClose`, so the caller can reset its state first.
 */
export function PanelDialog({ open, onClose, title, subtitle, footer, children, size = "3xl" }: { open: boolean; onClose(): void; title: ReactNode; subtitle?: ReactNode; footer: ReactNode; children: ReactNode; size?: keyof typeof panelWidths }) {
  const ref = useModal(open);
  const titleId = useId();

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className={`m-auto w-[calc(100%-2rem)] ${panelWidths[size]} rounded-xl bg-white p-0 text-zinc-900 shadow-xl ring-1 ring-zinc-200`}
    >
      {open && (
        <div className="flex max-h-[85dvh] flex-col">
          <div className="flex items-center justify-between border-b border-zinc-100 px-5 py-3.5">
            <div>
              <h2 id={titleId} className="text-base font-semibold">
                {title}
              </h2>
              {subtitle}
            </div>
            <button type="button" onClick={onClose} aria-label="Close" className="rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100">
              <IconX />
            </button>
          </div>
          <div className="min-h-0 flex-1 space-y-4 overflow-auto px-5 py-4">{children}</div>
          <div className="border-t border-zinc-100 px-5 py-3">
            <DialogActions>{footer}</DialogActions>
          </div>
        </div>
      )}
    </dialog>
  );
}
