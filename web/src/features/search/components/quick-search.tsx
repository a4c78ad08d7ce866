import { useEffect, useId, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";

import { IconSearch } from "@/components/ui/icons";
import { cn } from "@/lib/cn";

import { rowHref, useSuggestions } from "../api/search";

/**
 * The global quick search: Ctrl-K (Cmd-K) opens it anywhere in a workspace; typing shows up to
 * ten rows (typeahead, typos tolerated); Enter or a click opens the row in its table. Enter with
 * nothing picked opens the full search page.
 */
export function QuickSearch({ workspaceId }: { workspaceId: string }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const dialog = useRef<HTMLDialogElement>(null);
  const listId = useId();
  const navigate = useNavigate();
  const suggestions = useSuggestions(workspaceId, open ? text : "");
  const items = text.trim() ? (suggestions.data ?? []) : [];

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        setOpen(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (open && !el.open) el.showModal();
    if (!open && el.open) el.close();
  }, [open]);

  const close = () => {
    setOpen(false);
    setText("");
  };
  const go = (index: number) => {
    const item = items[index];
    close();
    if (item) navigate(rowHref(workspaceId, item));
    else if (text.trim()) navigate(`/w/${workspaceId}/search?q=${encodeURIComponent(text.trim())}`);
  };

  return (
    <>
      <button
        type="button"
        onClick={() => setOpen(true)}
        className="inline-flex h-8 items-center gap-2 rounded-md px-2 text-sm text-zinc-600 ring-1 ring-zinc-200 hover:bg-zinc-50"
        aria-keyshortcuts="Control+K"
      >
        <IconSearch className="size-4" />
        <span className="sr-only sm:not-sr-only">Search</span>
        <kbd aria-hidden="true" className="hidden rounded bg-zinc-100 px-1 text-[11px] text-zinc-600 sm:inline">
          Ctrl K
        </kbd>
      </button>
      <dialog
        ref={dialog}
        aria-label="Quick search"
        onClose={close}
        onCancel={(e) => {
          e.preventDefault();
          close();
        }}
        onClick={(e) => {
          if (e.target === dialog.current) close();
        }}
        className="mx-auto mt-[12vh] w-[calc(100%-2rem)] max-w-lg rounded-xl bg-white p-0 text-zinc-900 shadow-2xl ring-1 ring-zinc-200"
      >
        {open && (
          <div>
            <div className="flex items-center gap-2 border-b border-zinc-100 px-4">
              <IconSearch className="size-4 text-zinc-400" />
              <input
                autoFocus
                role="combobox"
                aria-label="Find a row"
                aria-expanded={items.length > 0}
                aria-controls={listId}
                aria-activedescendant={items.length ? `${listId}-${active}` : undefined}
                placeholder="Find a person or company…"
                className="h-12 flex-1 bg-transparent text-sm outline-none placeholder:text-zinc-400"
                value={text}
                onChange={(e) => {
                  setText(e.target.value);
                  setActive(0);
                }}
                onKeyDown={(e) => {
                  if (e.key === "ArrowDown") {
                    e.preventDefault();
                    setActive((a) => Math.min(a + 1, items.length - 1));
                  } else if (e.key === "ArrowUp") {
                    e.preventDefault();
                    setActive((a) => Math.max(a - 1, 0));
                  } else if (e.key === "Enter") {
                    e.preventDefault();
                    go(items.length ? active : -1);
                  }
                }}
              />
            </div>
            <ul id={listId} role="listbox" aria-label="Rows" className="max-h-80 overflow-y-auto py-1">
              {items.map((item, i) => (
                <li
                  key={`${item.table_id}:${item.row_id}`}
                  id={`${listId}-${i}`}
                  role="option"
                  aria-selected={i === active}
                  onMouseEnter={() => setActive(i)}
                  onClick={() => go(i)}
                  className={cn("cursor-pointer px-4 py-2", i === active && "bg-indigo-50")}
                >
                  <p className="truncate text-sm font-medium">{item.label}</p>
                  <p className="truncate text-xs text-zinc-600">{[item.detail, item.table_name].filter(Boolean).join(" · ")}</p>
                </li>
              ))}
              {text.trim() && items.length === 0 && !suggestions.isFetching && <li className="px-4 py-3 text-sm text-zinc-600">No rows found. Press Enter for full search.</li>}
            </ul>
          </div>
        )}
      </dialog>
    </>
  );
}
