"""`/api/v1/workspaces/{id}/search`: search and typeahead (any member), boosts (admins)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ValidationError

from morket.core.envelope import Envelope, PageMeta, ok
from morket.core.errors import Unprocessable
from morket.core.text import text_problem
from morket.search.deps import SearchServiceDep
from morket.search.schemas import (
    MAX_QUERY_CHARS,
    DateField,
    SearchQuery,
    SearchResults,
    SearchSettings,
    SearchSettingsUpdate,
    SortField,
    SortOrder,
    Suggestion,
)
from morket.workspaces.deps import AdminAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/search", tags=["search"])


def _column_filters(values: list[str]) -> list[dict[str, str]]:
    filters = []
    for raw in values:
        column_id, sep, value = raw.partition(":")
        try:
            uuid.UUID(column_id)
        except ValueError:
            sep = ""
        if not sep or not value:
            raise Unprocessable(
                "A column filter is `<column id>:<value>`.",
                code="invalid_filter",
                details=[{"field": "column", "message": f"not <column id>:<value>: {raw[:80]!r}"}],
            )
        filters.append({"column_id": column_id, "value": value})
    return filters


@router.get("")
async def search(
    access: ViewerAccess,
    service: SearchServiceDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description='words, "a phrase", prefix*')] = "",
    table_id: Annotated[list[uuid.UUID] | None, Query(description="only these tables")] = None,
    column: Annotated[list[str] | None, Query(description="`<column id>:<value>`: the cell equals the value")] = None,
    company: Annotated[list[str] | None, Query()] = None,
    title: Annotated[list[str] | None, Query()] = None,
    location: Annotated[list[str] | None, Query()] = None,
    industry: Annotated[list[str] | None, Query()] = None,
    provider: Annotated[list[str] | None, Query(description="a provider found one of the row's values")] = None,
    has_email: bool | None = None,
    date_field: DateField = DateField.CREATED_AT,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: SortField = SortField.RELEVANCE,
    order: SortOrder = SortOrder.DESC,
    page: Annotated[int, Query(ge=1, le=1_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    facets: bool = True,
) -> Envelope[SearchResults]:
    """Rows of every table matching the query (typos, phrases and prefixes), with facets and highlights."""
    try:
        query = SearchQuery.model_validate(
            {
                "q": q,
                "table_ids": table_id or [],
                "columns": _column_filters(column or []),
                "company": company or [],
                "title": title or [],
                "location": location or [],
                "industry": industry or [],
                "provider": provider or [],
                "has_email": has_email,
                "date_field": date_field,
                "date_from": date_from,
                "date_to": date_to,
                "sort": sort,
                "order": order,
                "page": page,
                "limit": limit,
                "facets": facets,
            }
        )
    except ValidationError as exc:
        raise Unprocessable(
            "Invalid search.",
            code="invalid_search",
            details=[{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()],
        ) from None
    results = await service.search(access.workspace_id, query)
    return ok(results, PageMeta(page=page, limit=limit, total=results.total))


@router.get("/suggest")
async def suggest(
    access: ViewerAccess,
    service: SearchServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=10)] = 10,
) -> Envelope[list[Suggestion]]:
    """Typeahead: up to 10 rows whose name (or company, email) starts with or is close to `q`."""
    if problem := text_problem(q):
        raise Unprocessable(f"q {problem}.", code="invalid_search", details=[{"field": "q", "message": problem}])
    return ok(await service.suggest(access.workspace_id, q, limit))


@router.get("/settings")
async def get_settings(access: ViewerAccess, service: SearchServiceDep) -> Envelope[SearchSettings]:
    """The workspace's relevance boosts."""
    return ok(await service.settings(access.workspace_id))


@router.put("/settings")
async def put_settings(
    access: AdminAccess, service: SearchServiceDep, body: SearchSettingsUpdate
) -> Envelope[SearchSettings]:
    """Set the workspace's relevance boosts (admins)."""
    return ok(await service.update_settings(access.workspace_id, body.boosts))
