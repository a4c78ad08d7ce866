import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api, type Schemas } from "@/lib/api";
import { wsKey } from "@/lib/query";

export type SearchResults = Schemas["SearchResults"];
export type SearchHit = Schemas["SearchHit"];
export type FacetValue = Schemas["FacetValue"];
export type Suggestion = Schemas["Suggestion"];
export type FacetName = "company" | "title" | "location" | "industry" | "table" | "provider";
export type SortField = "relevance" | "name" | "company" | "title" | "location" | "industry" | "created_at" | "updated_at";

export interface SearchState {
  q: string;
  filters: Partial<Record<FacetName, string[]>>;
  hasEmail: boolean;
  sort: SortField;
  page: number;
}

export const PAGE_SIZE = 20;

/** The search API's query string for a search state (a facet's name is its filter, `table` is `table_id`). */
function params(state: SearchState) {
  const f = state.filters;
  return {
    q: state.q,
    table_id: f.table,
    company: f.company,
    title: f.title,
    location: f.location,
    industry: f.industry,
    provider: f.provider,
    has_email: state.hasEmail ? true : undefined,
    sort: state.sort,
    order: state.sort === "relevance" || state.sort.endsWith("_at") ? ("desc" as const) : ("asc" as const),
    page: state.page,
    limit: PAGE_SIZE,
  };
}

export function useSearch(workspaceId: string, state: SearchState) {
  return useQuery({
    queryKey: wsKey(workspaceId, "search", state),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/search", { path: { workspace_id: workspaceId }, query: params(state) }),
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}

export function useSuggestions(workspaceId: string, q: string) {
  const text = q.trim();
  return useQuery({
    queryKey: wsKey(workspaceId, "search", "suggest", text),
    queryFn: () => api.get("/api/v1/workspaces/{workspace_id}/search/suggest", { path: { workspace_id: workspaceId }, query: { q: text } }),
    enabled: text.length > 0,
    placeholderData: keepPreviousData,
    staleTime: 5_000,
    meta: { silent: true },
  });
}

/** Where a result opens: its table, scrolled to the row. */
export function rowHref(workspaceId: string, hit: { table_id: string; row_id: number }): string {
  return `/w/${workspaceId}/tables/${hit.table_id}?row=${hit.row_id}`;
}
