import { useEffect, useRef } from "react";

/** Opens and closes a native <dialog> (modal: focus trap, Escape, top layer) from a boolean. */
export function useDialog(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) el.showModal();
    if (!open && el.open) el.close();
  }, [open]);
  return ref;
}
