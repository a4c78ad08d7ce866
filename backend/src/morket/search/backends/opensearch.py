"""The OpenSearch engine (`OPENSEARCH_URL`): for deployments whose corpus outgrows PostgreSQL.

One shared index for every workspace (behind the alias `OPENSEARCH_INDEX`, physical index
`<alias>-v1`); every query filters by workspace id and the workspace's active generation,
which lives in PostgreSQL (`search_generations`, as for the PostgreSQL engine), so both engines
reindex the same way: a new generation is filled while searches read the old one, the swap is
one PostgreSQL transaction, then the old generation's documents are deleted by query. A mapping
change goes to a new physical index (`-v2`) and the alias moves to it in one `_aliases` call.

Analyzers: `text` (standard tokenizer, lower case, ASCII folding) for matching, `edge`
(edge n-grams of 2-20 characters) on `*.edge` sub-fields for typeahead, `fuzziness: AUTO` for
typos (the same 0/1/2 edits rule as the PostgreSQL engine), `*.keyword` for facets and filters,
`*.sort` (a lower-case normaliser) for sorting. Documents carry their row version as an external
version (`external_gte`): a replayed or older write never replaces a newer document.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from opensearchpy import AsyncOpenSearch, NotFoundError
from opensearchpy.helpers import async_bulk
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import TableColumn
from morket.search.backends.base import MAX_SUGGESTIONS
from morket.search.documents import FieldPlan, SearchDocument
from morket.search.query import parse
from morket.search.repository import SearchRepository
from morket.search.schemas import (
    FACET_SIZE,
    Boosts,
    FacetName,
    FacetValue,
    SearchHit,
    SearchQuery,
    SearchResults,
    SortField,
    SortOrder,
    Suggestion,
)

MAPPING_VERSION = 1
_PRIMARY = ("name", "email_terms", "company", "domain_terms")
_SECONDARY = ("title", "industry", "location", "table_name")
_KEYWORD_FACETS = ("company", "title", "location", "industry")
_HIGHLIGHTED = ("name", "email", "company", "domain", "title", "location", "industry", "table_name", "other")


def _text(*, keyword: bool = False, edge: bool = False, sort: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if keyword:
        fields["keyword"] = {"type": "keyword", "ignore_above": 500}
    if edge:
        fields["edge"] = {"type": "text", "analyzer": "edge", "search_analyzer": "text"}
    if sort:
        fields["sort"] = {"type": "keyword", "normalizer": "lower", "ignore_above": 200}
    spec: dict[str, Any] = {"type": "text", "analyzer": "text"}
    if fields:
        spec["fields"] = fields
    return spec


INDEX_BODY: dict[str, Any] = {
    "settings": {
        "index": {"refresh_interval": "1s", "number_of_replicas": 0},
        "analysis": {
            "filter": {"edge_2_20": {"type": "edge_ngram", "min_gram": 2, "max_gram": 20}},
            "analyzer": {
                "text": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
                "edge": {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["lowercase", "asciifolding", "edge_2_20"],
                },
            },
            "normalizer": {"lower": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
        },
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "workspace_id": {"type": "keyword"},
            "generation": {"type": "integer"},
            "table_id": {"type": "keyword"},
            "row_id": {"type": "long"},
            "table_name": _text(keyword=True),
            "name": _text(edge=True, sort=True),
            "email": {"type": "keyword", "ignore_above": 500},
            "email_terms": _text(edge=True),
            "company": _text(keyword=True, edge=True, sort=True),
            "domain": {"type": "keyword", "ignore_above": 500},
            "domain_terms": _text(edge=True),
            "title": _text(keyword=True, sort=True),
            "location": _text(keyword=True, sort=True),
            "industry": _text(keyword=True, sort=True),
            "other": _text(),
            "label": {"type": "keyword", "normalizer": "lower", "ignore_above": 200},
            "label_text": {"type": "keyword", "index": False},
            "providers": {"type": "keyword"},
            "cells": {"type": "flat_object"},
            "row_created_at": {"type": "date"},
            "row_updated_at": {"type": "date"},
        },
    },
}


def client_for(url: str) -> AsyncOpenSearch:
    return AsyncOpenSearch(hosts=[url], timeout=10)


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _doc_id(workspace_id: uuid.UUID, generation: int, table_id: uuid.UUID, row_id: int) -> str:
    return f"{workspace_id}:{generation}:{table_id}:{row_id}"


class OpenSearchBackend:
    _ready: set[str] = set()  # aliases known to exist in this process

    def __init__(self, session: AsyncSession, client: AsyncOpenSearch, alias: str) -> None:
        self.repo = SearchRepository(session)
        self.client = client
        self.alias = alias

    async def ensure_index(self) -> None:
        if self.alias in self._ready:
            return
        if not await self.client.indices.exists_alias(name=self.alias):
            physical = f"{self.alias}-v{MAPPING_VERSION}"
            if not await self.client.indices.exists(index=physical):
                await self.client.indices.create(index=physical, body=INDEX_BODY)
            await self.client.indices.update_aliases(
                body={"actions": [{"add": {"index": physical, "alias": self.alias}}]}
            )
        self._ready.add(self.alias)

    async def refresh(self) -> None:
        """Make every write searchable now (tests and the reindex swap; live writes wait <= 1 s)."""
        await self.client.indices.refresh(index=self.alias)

    # -- writes ------------------------------------------------------------------------------

    async def index_from_table(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        table_name: str,
        plan: FieldPlan,
        columns: Sequence[TableColumn],
        *,
        row_ids: Sequence[int] | None = None,
        after: int = 0,
        limit: int = 5_000,
        generation: int | None = None,
    ) -> tuple[int, int | None] | None:
        return None  # documents are built in Python and sent with `index`

    async def index(self, docs: Sequence[SearchDocument], *, generation: int | None = None) -> int:
        if not docs:
            return 0
        await self.ensure_index()
        workspaces = sorted({d.workspace_id for d in docs})
        if generation is not None:
            targets = {ws: [generation] for ws in workspaces}
        else:
            targets = await self.repo.ensure_live_generations(workspaces)
        actions = [
            {
                "_op_type": "index",
                "_index": self.alias,
                "_id": _doc_id(doc.workspace_id, g, doc.table_id, doc.row_id),
                "version": doc.version,
                "version_type": "external_gte",
                "_source": self._source(doc, g),
            }
            for doc in docs
            for g in targets.get(doc.workspace_id, [])
        ]
        # A version conflict means a newer document is already there: nothing to do.
        await async_bulk(self.client, actions, raise_on_error=False, raise_on_exception=True)
        return len(actions)

    @staticmethod
    def _source(doc: SearchDocument, generation: int) -> dict[str, Any]:
        return {
            "workspace_id": str(doc.workspace_id),
            "generation": generation,
            "table_id": str(doc.table_id),
            "row_id": doc.row_id,
            "table_name": doc.table_name,
            "name": doc.name,
            "email": doc.email,
            "email_terms": doc.email_terms,
            "company": doc.company,
            "domain": doc.domain,
            "domain_terms": doc.domain_terms,
            "title": doc.title,
            "location": doc.location,
            "industry": doc.industry,
            "other": doc.other,
            "label": doc.label,
            "label_text": doc.label,
            "providers": doc.providers,
            "cells": {k: v.lower() for k, v in doc.cells.items()},
            "row_created_at": doc.row_created_at.isoformat(),
            "row_updated_at": doc.row_updated_at.isoformat(),
        }

    async def delete(self, workspace_id: uuid.UUID, table_id: uuid.UUID, row_ids: Sequence[int] | None) -> None:
        await self.ensure_index()
        await self.repo.delete_documents(workspace_id, table_id, row_ids)  # tombstones (no PG documents)
        must: list[dict[str, Any]] = [
            {"term": {"workspace_id": str(workspace_id)}},
            {"term": {"table_id": str(table_id)}},
        ]
        if row_ids is not None:
            must.append({"terms": {"row_id": list(row_ids)}})
        await self.client.delete_by_query(
            index=self.alias, body={"query": {"bool": {"filter": must}}}, refresh=True, conflicts="proceed"
        )

    async def begin_reindex(self, workspace_id: uuid.UUID) -> int:
        return await self.repo.open_generation(workspace_id)

    async def finish_reindex(self, workspace_id: uuid.UUID, generation: int) -> None:
        await self.ensure_index()
        await self.refresh()
        tombstones = await self.repo.tombstones(workspace_id)
        for table_id, row_id in tombstones:
            must: list[dict[str, Any]] = [
                {"term": {"workspace_id": str(workspace_id)}},
                {"term": {"generation": generation}},
                {"term": {"table_id": str(table_id)}},
            ]
            if row_id:
                must.append({"term": {"row_id": row_id}})
            await self.client.delete_by_query(
                index=self.alias, body={"query": {"bool": {"filter": must}}}, conflicts="proceed"
            )
        await self.repo.swap_generation(workspace_id, generation)
        await self.repo.drop_retired(workspace_id)
        await self.client.delete_by_query(
            index=self.alias,
            body={
                "query": {
                    "bool": {
                        "filter": [{"term": {"workspace_id": str(workspace_id)}}],
                        "must_not": [{"term": {"generation": generation}}],
                    }
                }
            },
            conflicts="proceed",
            refresh=True,
        )

    # -- reads -------------------------------------------------------------------------------

    def _scope(self, workspace_id: uuid.UUID, generation: int) -> list[dict[str, Any]]:
        return [{"term": {"workspace_id": str(workspace_id)}}, {"term": {"generation": generation}}]

    async def search(self, workspace_id: uuid.UUID, query: SearchQuery, boosts: Boosts) -> SearchResults:
        generation = await self.repo.active_generation(workspace_id)
        if generation is None:
            return SearchResults(hits=[], total=0, facets={f: [] for f in FacetName} if query.facets else {})
        await self.ensure_index()
        fields = (
            [f"{f}^{boosts.primary}" for f in _PRIMARY]
            + [f"{f}^{boosts.secondary}" for f in _SECONDARY]
            + [f"other^{boosts.other}"]
        )
        parsed = parse(query.q)
        must: list[dict[str, Any]] = []
        for i, term in enumerate(parsed.terms):
            if term.prefix:
                must.append({"multi_match": {"query": term.text, "type": "phrase_prefix", "fields": fields}})
                continue
            should: list[dict[str, Any]] = [{"multi_match": {"query": term.text, "fields": fields, "boost": 2.0}}]
            if i == len(parsed.terms) - 1:  # the last word may be unfinished (query.tsquery_text)
                should.append(
                    {"multi_match": {"query": term.text, "type": "phrase_prefix", "fields": fields, "boost": 0.5}}
                )
            if term.edits:
                should.append(
                    {
                        "multi_match": {
                            "query": term.text,
                            "fields": fields,
                            "fuzziness": term.edits,
                            "prefix_length": 0,
                            "boost": 0.5,
                        }
                    }
                )
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        for phrase in parsed.phrases:
            must.append({"multi_match": {"query": " ".join(phrase), "type": "phrase", "fields": fields}})
        body: dict[str, Any] = {
            "query": {"bool": {"filter": self._scope(workspace_id, generation) + self._filters(query), "must": must}},
            "from": (query.page - 1) * query.limit,
            "size": query.limit,
            "track_total_hits": True,
            "sort": self._sort(query),
        }
        if must:
            body["highlight"] = {
                "encoder": "html",
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "fields": {f: {"number_of_fragments": 2 if f == "other" else 0} for f in _HIGHLIGHTED},
                "require_field_match": False,
            }
        if query.facets:
            body["aggs"] = self._aggs()
        answer = await self.client.search(index=self.alias, body=body)
        hits = [self._hit(h) for h in answer["hits"]["hits"]]
        facets = self._facets(answer.get("aggregations", {})) if query.facets else {}
        return SearchResults(hits=hits, total=int(answer["hits"]["total"]["value"]), facets=facets)

    @staticmethod
    def _filters(query: SearchQuery) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if query.table_ids:
            found.append({"terms": {"table_id": [str(t) for t in query.table_ids]}})
        for name in _KEYWORD_FACETS:
            if values := getattr(query, name):
                found.append({"terms": {f"{name}.keyword": values}})
        if query.provider:
            found.append({"terms": {"providers": query.provider}})
        if query.has_email is True:
            found.append({"exists": {"field": "email"}})
        elif query.has_email is False:
            found.append({"bool": {"must_not": [{"exists": {"field": "email"}}]}})
        column = "row_created_at" if query.date_field.value == "created_at" else "row_updated_at"
        span: dict[str, str] = {}
        if query.date_from:
            span["gte"] = _day_start(query.date_from).isoformat()
        if query.date_to and query.date_to < date.max:  # the day after date.max overflows
            span["lt"] = (_day_start(query.date_to) + timedelta(days=1)).isoformat()
        if span:
            found.append({"range": {column: span}})
        for cf in query.columns:
            found.append({"term": {f"cells.{cf.column_id}": cf.value.lower()}})
        return found

    @staticmethod
    def _sort(query: SearchQuery) -> list[Any]:
        # Ties in the direction of the field sorted last (the PostgreSQL engine's btree walks).
        if query.sort is SortField.RELEVANCE:
            return [{"_score": "desc"}, {"row_updated_at": "desc"}, {"table_id": "desc"}, {"row_id": "desc"}]
        order = "asc" if query.order is SortOrder.ASC else "desc"
        tie = [{"table_id": order}, {"row_id": order}]
        field = {"created_at": "row_created_at", "updated_at": "row_updated_at"}.get(
            query.sort.value, f"{query.sort.value}.sort"
        )
        return [{field: {"order": order, "missing": "_last"}}, *tie]

    @staticmethod
    def _aggs() -> dict[str, Any]:
        aggs: dict[str, Any] = {
            name: {"terms": {"field": f"{name}.keyword", "size": FACET_SIZE}} for name in _KEYWORD_FACETS
        }
        aggs["table"] = {
            "terms": {"field": "table_id", "size": FACET_SIZE},
            "aggs": {"name": {"terms": {"field": "table_name.keyword", "size": 1}}},
        }
        aggs["provider"] = {"terms": {"field": "providers", "size": FACET_SIZE}}
        return aggs

    @staticmethod
    def _facets(aggs: dict[str, Any]) -> dict[FacetName, list[FacetValue]]:
        facets: dict[FacetName, list[FacetValue]] = {}
        for facet in FacetName:
            buckets = aggs.get(facet.value, {}).get("buckets", [])
            values = []
            for b in buckets:
                label = b["key"]
                if facet is FacetName.TABLE and b.get("name", {}).get("buckets"):
                    label = b["name"]["buckets"][0]["key"]
                values.append(FacetValue(value=str(b["key"]), label=str(label), count=int(b["doc_count"])))
            facets[facet] = values
        return facets

    @staticmethod
    def _hit(hit: dict[str, Any]) -> SearchHit:
        src = hit["_source"]
        highlights = {f: " … ".join(parts) for f, parts in hit.get("highlight", {}).items() if f in _HIGHLIGHTED}
        return SearchHit(
            table_id=src["table_id"],
            table_name=src["table_name"],
            row_id=src["row_id"],
            score=float(hit.get("_score") or 0.0),
            name=src.get("name"),
            email=src.get("email"),
            company=src.get("company"),
            domain=src.get("domain"),
            title=src.get("title"),
            location=src.get("location"),
            industry=src.get("industry"),
            providers=src.get("providers") or [],
            created_at=src["row_created_at"],
            updated_at=src["row_updated_at"],
            highlights=highlights,
        )

    async def suggest(self, workspace_id: uuid.UUID, q: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        generation = await self.repo.active_generation(workspace_id)
        text = q.strip().lower()
        if generation is None or (not parse(q).terms and not parse(q).phrases):
            return []
        await self.ensure_index()
        body = {
            "size": min(limit, MAX_SUGGESTIONS),
            "query": {
                "bool": {
                    "filter": self._scope(workspace_id, generation),
                    "should": [
                        {"prefix": {"label": {"value": text, "boost": 3.0}}},
                        {
                            "multi_match": {
                                "query": text,
                                "fields": ["name.edge", "company.edge", "email_terms.edge"],
                                "operator": "and",
                            }
                        },
                        {
                            "multi_match": {
                                "query": text,
                                "fields": ["name", "company", "email_terms"],
                                "fuzziness": "AUTO",
                                "boost": 0.5,
                            }
                        },
                    ],
                    "minimum_should_match": 1,
                }
            },
            "sort": [{"_score": "desc"}, {"label": "asc"}, {"table_id": "asc"}, {"row_id": "asc"}],
            "_source": ["table_id", "table_name", "row_id", "label_text", "title", "company"],
        }
        try:
            answer = await self.client.search(index=self.alias, body=body)
        except NotFoundError:
            return []
        found = []
        for hit in answer["hits"]["hits"]:
            src = hit["_source"]
            label = src.get("label_text") or ""
            company = src.get("company")
            detail = " @ ".join(v for v in (src.get("title"), company if company != label else None) if v) or None
            found.append(
                Suggestion(
                    table_id=src["table_id"],
                    table_name=src["table_name"],
                    row_id=src["row_id"],
                    label=label,
                    detail=detail,
                )
            )
        return found
