import { create } from "zustand";

export type ToastTone = "error" | "success" | "info";

export interface Toast {
  id: number;
  tone: ToastTone;
  title: string;
  message?: string;
  requestId?: string | null;
}

interface ToastState {
  toasts: Toast[];
  push(toast: Omit<Toast, "id">): number;
  dismiss(id: number): void;
}

const MAX_TOASTS = 4;
let nextId = 1;

export const useToasts = create<ToastState>()((set) => ({
  toasts: [],
  push: (toast) => {
    const id = nextId++;
    // The same failure from several queries at once shows once.
    set((s) => {
      const duplicate = s.toasts.some((t) => t.title === toast.title && t.message === toast.message);
      if (duplicate) return s;
      return { toasts: [...s.toasts, { ...toast, id }].slice(-MAX_TOASTS) };
    });
    return id;
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}));

/** Shorthand used by mutations and the query cache. */
export function toastError(error: unknown, title = "Something went wrong") {
  const e = error as { message?: string; requestId?: string | null };
  useToasts.getState().push({ tone: "error", title, message: e?.message ?? String(error), requestId: e?.requestId ?? null });
}

export function toastSuccess(title: string, message?: string) {
  useToasts.getState().push({ tone: "success", title, message });
}
