import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";

import { PageHeader } from "@/components/ui/card";
import { EmptyState, SkeletonRows } from "@/components/ui/feedback";
import { Input, Select } from "@/components/ui/form";
import { IconSearch } from "@/components/ui/icons";
import { Pager } from "@/components/ui/pager";
import { cn } from "@/lib/cn";
import { formatNumber } from "@/lib/format";
import { useWorkspaceId } from "@/lib/workspace";

import { type FacetName, type FacetValue, PAGE_SIZE, type SearchHit, type SearchState, type SortField, rowHref, useSearch } from "../api/search";
import { Highlighted } from "./highlighted";

const FACETS: { name: FacetName; label: string }[] = [
  { name: "company", label: "Company" },
  { name: "title", label: "Title" },
  { name: "location", label: "Location" },
  { name: "industry", label: "Industry" },
  { name: "table", label: "Table" },
  { name: "provider", label: "Found by" },
];

const SORTS: { value: SortField; label: string }[] = [
  { value: "relevance", label: "Best match" },
  { value: "name", label: "Name (A-Z)" },
  { value: "company", label: "Company (A-Z)" },
  { value: "title", label: "Title (A-Z)" },
  { value: "updated_at", label: "Recently updated" },
  { value: "created_at", label: "Recently added" },
];

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

function FacetGroup({
  label,
  values,
  selected,
  onToggle,
}: {
  label: string;
  values: FacetValue[];
  selected: string[];
  onToggle(value: string): void;
}) {
  if (values.length === 0 && selected.length === 0) return null;
  return (
    <fieldset className="space-y-1">
      <legend className="pb-1 text-xs font-medium text-zinc-600">{label}</legend>
      {values.map((v) => (
        <label key={v.value} className="flex cursor-pointer items-center gap-2 rounded px-1 py-0.5 text-sm text-zinc-800 hover:bg-zinc-100">
          <input type="checkbox" className="size-3.5 accent-indigo-600" checked={selected.includes(v.value)} onChange={() => onToggle(v.value)} />
          <span className="min-w-0 flex-1 truncate" title={v.label}>
            {v.label}
          </span>
          <span className="tabular-nums text-xs text-zinc-500">{formatNumber(v.count)}</span>
        </label>
      ))}
    </fieldset>
  );
}

function Hit({ workspaceId, hit }: { workspaceId: string; hit: SearchHit }) {
  const h = hit.highlights ?? {};
  const role = [hit.title, hit.company].filter(Boolean);
  return (
    <li>
      <Link to={rowHref(workspaceId, hit)} className="block rounded-lg px-4 py-3 hover:bg-zinc-50 focus:bg-zinc-50 focus:outline-none">
        <div className="flex items-baseline justify-between gap-3">
          <p className="truncate font-medium text-zinc-900">
            <Highlighted html={h.name} fallback={hit.name ?? hit.email ?? hit.company ?? `Row ${hit.row_id}`} />
          </p>
          <span className="shrink-0 rounded bg-zinc-100 px-1.5 py-0.5 text-xs text-zinc-600">
            <Highlighted html={h.table_name} fallback={hit.table_name} />
          </span>
        </div>
        {role.length > 0 && (
          <p className="truncate text-sm text-zinc-700">
            <Highlighted html={h.title} fallback={hit.title} />
            {hit.title && hit.company ? " · " : ""}
            <Highlighted html={h.company} fallback={hit.company} />
          </p>
        )}
        <p className="truncate text-xs text-zinc-500">
          {[hit.email, hit.location, hit.industry].filter(Boolean).join(" · ")}
        </p>
        {h.other && (
          <p className="mt-1 line-clamp-2 text-xs text-zinc-600">
            <Highlighted html={h.other} />
          </p>
        )}
      </Link>
    </li>
  );
}

export function SearchPage() {
  const workspaceId = useWorkspaceId();
  const [params, setParams] = useSearchParams();
  const [text, setText] = useState(params.get("q") ?? "");
  const q = useDebounced(text, 250);
  const [filters, setFilters] = useState<SearchState["filters"]>({});
  const [hasEmail, setHasEmail] = useState(false);
  const [sort, setSort] = useState<SortField>("relevance");
  const [page, setPage] = useState(1);
  const state: SearchState = { q, filters, hasEmail, sort, page };
  const search = useSearch(workspaceId, state);
  const data = search.data;

  useEffect(() => {
    setParams(q ? { q } : {}, { replace: true });
  }, [q, setParams]);

  const toggle = (facet: FacetName, value: string) => {
    setPage(1);
    setFilters((current) => {
      const values = current[facet] ?? [];
      const next = values.includes(value) ? values.filter((v) => v !== value) : [...values, value];
      return { ...current, [facet]: next.length ? next : undefined };
    });
  };
  const active = Object.values(filters).some((v) => v && v.length) || hasEmail;

  return (
    <div className="space-y-5">
      <PageHeader title="Search" description="Every row of every table in this workspace. Typos, “exact phrases” and prefix* work." />
      <div className="flex flex-wrap items-center gap-3">
        <div className="relative min-w-64 flex-1">
          <IconSearch className="pointer-events-none absolute left-3 top-1/2 size-4 -translate-y-1/2 text-zinc-400" />
          <Input
            type="search"
            aria-label="Search rows"
            placeholder="stripe cfo, “jane doe”, acme*"
            value={text}
            autoFocus
            onChange={(e) => {
              setText(e.target.value);
              setPage(1);
            }}
            className="pl-9"
          />
        </div>
        <label className="flex items-center gap-2 text-sm text-zinc-700">
          <input type="checkbox" className="size-3.5 accent-indigo-600" checked={hasEmail} onChange={(e) => {
              setHasEmail(e.target.checked);
              setPage(1);
            }} />
          Has email
        </label>
        <div className="w-48">
        <Select aria-label="Sort results" value={sort} onChange={(e) => {
            setSort(e.target.value as SortField);
            setPage(1);
          }} >
          {SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </Select>
        </div>
      </div>

      <div className="grid gap-5 md:grid-cols-[14rem_1fr]">
        <aside aria-label="Filters" className="space-y-4">
          {active && (
            <button type="button" className="text-xs font-medium text-indigo-700 hover:underline" onClick={() => {
              setFilters({});
              setHasEmail(false);
              setPage(1);
            }}>
              Clear filters
            </button>
          )}
          {FACETS.map(({ name, label }) => (
            <FacetGroup key={name} label={label} values={data?.facets?.[name] ?? []} selected={filters[name] ?? []} onToggle={(v) => toggle(name, v)} />
          ))}
        </aside>

        <section aria-label="Results" className={cn("min-w-0 rounded-xl bg-white shadow-sm ring-1 ring-zinc-200", search.isFetching && "opacity-80")}>
          {search.isPending ? (
            <div className="p-4">
              <SkeletonRows rows={5} label="Searching" />
            </div>
          ) : !data || data.hits.length === 0 ? (
            <EmptyState icon={<IconSearch />} title={q ? "No rows match" : "Nothing indexed yet"}>
              {q ? "Try fewer words, or remove a filter." : "Rows appear here seconds after they are added to a table."}
            </EmptyState>
          ) : (
            <>
              <p className="border-b border-zinc-100 px-4 py-2.5 text-xs text-zinc-600" aria-live="polite">
                {formatNumber(data.total)}
                {data.total_exact === false ? "+" : ""} {data.total === 1 ? "row" : "rows"}
                {data.ranked_all !== false ? "" : " (best matches of the first " + formatNumber(data.total) + ")"}
              </p>
              <ul className="divide-y divide-zinc-100">
                {data.hits.map((hit) => (
                  <Hit key={`${hit.table_id}:${hit.row_id}`} workspaceId={workspaceId} hit={hit} />
                ))}
              </ul>
              <Pager page={page} limit={PAGE_SIZE} total={data.total} onPage={setPage} label="Result pages" />
            </>
          )}
        </section>
      </div>
    </div>
  );
}
