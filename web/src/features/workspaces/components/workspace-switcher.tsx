import { useEffect, useRef, useState } from "react";
import { useLocation, useNavigate } from "react-router-dom";

import { IconCheck, IconChevrons, IconPlus } from "@/components/ui/icons";
import { Skeleton } from "@/components/ui/feedback";
import { cn } from "@/lib/cn";

import { useWorkspaces } from "../api/workspaces";
import { useLastWorkspace } from "../stores/last-workspace";
import { CreateWorkspaceDialog } from "./create-workspace";

function initials(name: string) {
  return name.trim().slice(0, 1).toUpperCase() || "?";
}

export function WorkspaceSwitcher({ workspaceId }: { workspaceId: string }) {
  const { data: workspaces } = useWorkspaces();
  const [open, setOpen] = useState(false);
  const [creating, setCreating] = useState(false);
  const navigate = useNavigate();
  const location = useLocation();
  const remember = useLastWorkspace((s) => s.remember);
  const root = useRef<HTMLDivElement>(null);
  const current = workspaces?.find((w) => w.id === workspaceId);

  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  function choose(id: string) {
    setOpen(false);
    remember(id);
    // Stay on the same screen in the other workspace.
    const section = location.pathname.split("/").slice(3).join("/");
    navigate(`/w/${id}/${section}`);
  }

  return (
    <div ref={root} className="relative" onKeyDown={(e) => e.key === "Escape" && setOpen(false)}>
      <button
        type="button"
        aria-haspopup="true"
        aria-expanded={open}
        onClick={() => setOpen((v) => !v)}
        className="flex h-9 w-full max-w-64 items-center gap-2 rounded-md px-2 text-left hover:bg-zinc-100"
      >
        <span aria-hidden="true" className="flex size-6 shrink-0 items-center justify-center rounded-md bg-zinc-900 text-xs font-semibold text-white">
          {current ? initials(current.name) : ""}
        </span>
        {current ? <span className="truncate text-sm font-medium">{current.name}</span> : <Skeleton className="h-4 w-28" />}
        <span className="sr-only">, switch workspace</span>
        <IconChevrons className="ml-auto size-4 shrink-0 text-zinc-400" />
      </button>
      {open && (
        <div className="absolute left-0 z-40 mt-1 w-72 rounded-lg bg-white p-1 shadow-lg ring-1 ring-zinc-200">
          <p className="px-2 py-1.5 text-xs font-medium text-zinc-500">Workspaces</p>
          <ul className="max-h-72 overflow-auto">
            {workspaces?.map((w) => (
              <li key={w.id}>
                <button
                  type="button"
                  onClick={() => choose(w.id)}
                  aria-current={w.id === workspaceId ? "true" : undefined}
                  className={cn("flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-left text-sm hover:bg-zinc-100", w.id === workspaceId && "font-medium")}
                >
                  <span aria-hidden="true" className="flex size-5 items-center justify-center rounded bg-zinc-200 text-[10px] font-semibold text-zinc-700">{initials(w.name)}</span>
                  <span className="truncate">{w.name}</span>
                  <span className="ml-auto text-xs text-zinc-500">{w.role}</span>
                  {w.id === workspaceId && <IconCheck className="size-4 text-indigo-600" />}
                </button>
              </li>
            ))}
          </ul>
          <div className="mt-1 border-t border-zinc-100 pt-1">
            <button
              type="button"
              onClick={() => {
                setOpen(false);
                setCreating(true);
              }}
              className="flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-sm text-zinc-700 hover:bg-zinc-100"
            >
              <IconPlus /> New workspace
            </button>
          </div>
        </div>
      )}
      <CreateWorkspaceDialog open={creating} onClose={() => setCreating(false)} />
    </div>
  );
}
