import { useEffect, useState } from "react";

import { cn } from "@/lib/cn";
import { useToasts, type Toast } from "@/stores/toasts";

import { IconAlert, IconCheck, IconCopy, IconX } from "./icons";

const LIFETIME_MS = { error: 10_000, success: 4_000, info: 6_000 } as const;

function ToastItem({ toast }: { toast: Toast }) {
  const dismiss = useToasts((s) => s.dismiss);
  const [copied, setCopied] = useState(false);
  const [hovered, setHovered] = useState(false);

  useEffect(() => {
    if (hovered) return;
    const timer = window.setTimeout(() => dismiss(toast.id), LIFETIME_MS[toast.tone]);
    return () => window.clearTimeout(timer);
  }, [dismiss, hovered, toast.id, toast.tone]);

  return (
    <div
      role={toast.tone === "error" ? "alert" : "status"}
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
      className="pointer-events-auto flex w-full gap-3 rounded-lg bg-white p-3.5 shadow-lg ring-1 ring-zinc-200"
    >
      <span className={cn("mt-0.5", toast.tone === "error" ? "text-red-600" : "text-emerald-600")}>
        {toast.tone === "error" ? <IconAlert /> : <IconCheck />}
      </span>
      <div className="min-w-0 flex-1">
        <p className="text-sm font-medium text-zinc-900">{toast.title}</p>
        {toast.message && <p className="mt-0.5 break-words text-sm text-zinc-600">{toast.message}</p>}
        {toast.requestId && (
          <button
            type="button"
            onClick={() => {
              void navigator.clipboard?.writeText(toast.requestId ?? "").then(() => setCopied(true));
            }}
            className="mt-1.5 inline-flex max-w-full items-center gap-1 rounded text-xs text-zinc-500 hover:text-zinc-800"
            title="Copy the request id for support"
          >
            <IconCopy className="size-3" />
            <span className="truncate font-mono">Request {toast.requestId}</span>
            {copied && <span className="text-emerald-700">copied</span>}
          </button>
        )}
      </div>
      <button type="button" onClick={() => dismiss(toast.id)} aria-label="Dismiss notification" className="h-fit rounded p-0.5 text-zinc-400 hover:text-zinc-700">
        <IconX />
      </button>
    </div>
  );
}

export function Toaster() {
  const toasts = useToasts((s) => s.toasts);
  return (
    <div aria-live="polite" className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex flex-col items-end gap-2 p-4 sm:inset-x-auto sm:right-0 sm:w-96">
      {toasts.map((t) => (
        <ToastItem key={t.id} toast={t} />
      ))}
    </div>
  );
}
