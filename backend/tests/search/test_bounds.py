"""The PostgreSQL engine's bounded plans: searches without words or sorted by a field walk a btree
(migration 0130) page by page, in the right order, with rows lacking the value last; typeahead's
typos come from the primary fields' words only (migration 0131), in a transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.core.deps import get_session
from morket.search.backends.postgres import CANDIDATES, PostgresSearchBackend
from morket.search.documents import FieldPlan
from morket.search.indexer import documents
from morket.tables.service import RowService, TableService
from tests.search.conftest import CORPUS, Corpus, Sync


def _postgres_only(settings: Settings) -> None:
    if settings.opensearch_url:
        pytest.skip("the bounded plans are the PostgreSQL engine's")


async def _search(client: httpx.AsyncClient, corpus: Corpus, **params: Any) -> dict[str, Any]:
    response = await client.get(corpus.url("/search"), params=params, headers=corpus.owner.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _every_page(client: httpx.AsyncClient, corpus: Corpus, **params: Any) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    page = 1
    while True:
        found = (await _search(client, corpus, limit=100, page=page, **params))["hits"]
        hits += found
        if len(found) < 100:
            return hits
        page += 1


async def test_searches_without_words_and_field_sorts_page_in_order_with_the_bounds(
    search_client: httpx.AsyncClient, corpus: Corpus, sync: Sync, engine_settings: Settings
) -> None:
    _postgres_only(engine_settings)
    url = corpus.url(f"/tables/{corpus.table_id}/rows")
    company, title = corpus.columns["Company"], corpus.columns["Title"]
    # 1,001 more rows (above CANDIDATES with the corpus), in three inserts (three update times);
    # every third row has no title, so a sort by title has rows without the value to put last.
    ids: list[int] = []
    for start, end in ((0, 500), (500, CANDIDATES), (CANDIDATES, CANDIDATES + 1)):
        rows = [{company: f"Broadco {i:04d}", **({title: f"Role {i % 7}"} if i % 3 else {})} for i in range(start, end)]
        inserted = await search_client.post(url, json={"rows": rows}, headers=corpus.owner.headers)
        assert inserted.status_code == 201, inserted.text
        ids += inserted.json()["data"]["ids"]
    await sync()
    everyone = set(corpus.row_ids) | set(ids)

    # No words, no sort: newest first (update time, then row id, descending), every row once.
    newest = await _every_page(search_client, corpus)
    assert [h["row_id"] for h in newest][:1] == [ids[-1]]
    keys = [(datetime.fromisoformat(h["updated_at"]), h["row_id"]) for h in newest]
    assert keys == sorted(keys, reverse=True) and len(keys) == len(everyone)
    assert {h["row_id"] for h in newest} == everyone
    first = await _search(search_client, corpus)
    assert (first["total"], first["total_exact"], first["facets_exact"]) == (CANDIDATES, False, False)
    assert [h["row_id"] for h in first["hits"]] == [h["row_id"] for h in newest[:20]]

    # Sorted by a field with missing values: values in order, ties by row id in the same
    # direction, then the rows without a value, whichever the direction.
    titles = {h["row_id"]: h["title"] for h in newest}
    with_title = [r for r in everyone if titles[r] is not None]
    without = [r for r in everyone if titles[r] is None]
    assert with_title and without
    for order, reverse in (("asc", False), ("desc", True)):
        hits = await _every_page(search_client, corpus, sort="title", order=order)
        expected = sorted(with_title, key=lambda r: (titles[r], r), reverse=reverse) + sorted(without, reverse=reverse)
        assert [h["row_id"] for h in hits] == expected, order
        page = await _search(search_client, corpus, sort="title", order=order)
        assert (page["total"], page["total_exact"]) == (CANDIDATES, False)

    # A filter without words: the matching rows only, exact below the bound; with words and a
    # field sort, the matches in that order.
    one = await _search(search_client, corpus, company="Broadco 0007", has_email="false")
    assert [h["row_id"] for h in one["hits"]] == [ids[7]]
    assert (one["total"], one["total_exact"], one["facets_exact"]) == (1, True, True)
    assert one["facets"]["company"] == [{"value": "Broadco 0007", "label": "Broadco 0007", "count": 1}]
    sorted_words = await _search(search_client, corpus, q="broadco", sort="company", order="desc", limit=3)
    assert [h["company"] for h in sorted_words["hits"]] == ["Broadco 1000", "Broadco 0999", "Broadco 0998"]
    assert all(h["highlights"]["company"].startswith("<mark>Broadco</mark>") for h in sorted_words["hits"])


async def test_typeahead_typos_come_from_primary_words(
    search_client: httpx.AsyncClient,
    corpus: Corpus,
    sync: Sync,
    sessions: async_sessionmaker[AsyncSession],
    engine_settings: Settings,
) -> None:
    """A typo's variants in typeahead are words of a name, company or domain: a common word of
    another field ("francisco", a city and a note here) would make GIN gather all its rows."""
    _postgres_only(engine_settings)
    # Both ways of writing documents keep the primary words: SQL (the consumer did) and Python.
    expected = {w for c in CORPUS for v in (c[0], c[2]) if v for w in str(v).lower().split() if len(w) >= 3}

    async def primary_words() -> set[str]:
        async with sessions() as session:
            rows = await session.execute(
                text("SELECT term FROM search_primary_terms WHERE workspace_id = :ws"), {"ws": corpus.workspace_id}
            )
            return {r.term for r in rows}

    assert await primary_words() == expected
    async with unit_of_work(sessions) as session:
        await session.execute(
            text("DELETE FROM search_primary_terms WHERE workspace_id = :ws"), {"ws": corpus.workspace_id}
        )
        table_id = uuid.UUID(corpus.table_id)
        columns = await TableService(session).columns(corpus.workspace_id, table_id)
        rows = await RowService(session).get_rows(corpus.workspace_id, table_id, corpus.row_ids)
        docs = documents(corpus.workspace_id, table_id, "Leads", FieldPlan.of(columns), rows)
        await PostgresSearchBackend(session).index(docs)
    assert await primary_words() == expected

    async with sessions() as session:
        repo = PostgresSearchBackend(session).repo
        assert await repo.fuzzy_variants(corpus.workspace_id, [("francisko", 2)]) == {"francisko": ["francisco"]}
        assert await repo.fuzzy_variants(corpus.workspace_id, [("francisko", 2)], primary_only=True) == {}
        assert await repo.fuzzy_variants(corpus.workspace_id, [("garsia", 1)], primary_only=True) == {
            "garsia": ["garcia"]
        }
    suggest = corpus.url("/search/suggest")
    found = await search_client.get(suggest, params={"q": "stirpe"}, headers=corpus.owner.headers)
    assert {s["label"] for s in found.json()["data"]} == {"Jonathan Smith", "Wei Chen"}


async def test_typeahead_reads_in_a_transaction_so_its_planner_setting_applies(
    search_client: httpx.AsyncClient, engine_settings: Settings
) -> None:
    """GETs read without a transaction (core.db.make_read_sessionmaker), where `SET LOCAL` is
    ignored; typeahead's `enable_seqscan = off` needs one (a seq scan took 80-190 ms per typo)."""
    _postgres_only(engine_settings)
    app = search_client._transport.app  # type: ignore[attr-defined]

    def request(path: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": path, "headers": [], "app": app})

    ws = "/api/v1/workspaces/00000000-0000-0000-0000-000000000001"
    seen: dict[str, str] = {}
    for path in (f"{ws}/search", f"{ws}/search/suggest"):
        dependency = get_session(request(path))
        session = await anext(dependency)
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        seen[path] = (await session.execute(text("SHOW enable_seqscan"))).scalar_one()
        await dependency.aclose()
    assert seen == {f"{ws}/search": "on", f"{ws}/search/suggest": "off"}
