"""Indexing: reindex without downtime (live writes reach both generations, deletions are not
resurrected), freshness with the consumer running in the API process, provenance and documents."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.app import create_app
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.search.documents import FieldPlan
from morket.search.indexer import BackendFactory, SearchIndexer, documents, reindex_workspace
from morket.tables.service import RowService, TableService
from tests.search.conftest import CORPUS, Corpus, Sync, load_corpus


async def _names(client: httpx.AsyncClient, corpus: Corpus, **params: Any) -> list[str]:
    response = await client.get(corpus.url("/search"), params=params, headers=corpus.owner.headers)
    assert response.status_code == 200, response.text
    return [h["name"] for h in response.json()["data"]["hits"]]


async def _generations(sessions: async_sessionmaker[AsyncSession], corpus: Corpus) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT generation, state FROM search_generations WHERE workspace_id = :ws ORDER BY generation"),
            {"ws": corpus.workspace_id},
        )
        return [(int(r.generation), str(r.state)) for r in rows]


async def test_reindex_serves_the_old_generation_until_the_swap(
    search_client: httpx.AsyncClient,
    corpus: Corpus,
    sync: Sync,
    sessions: async_sessionmaker[AsyncSession],
    make_backend: BackendFactory,
) -> None:
    ws, table_id = corpus.workspace_id, uuid.UUID(corpus.table_id)
    async with unit_of_work(sessions) as session:
        generation = await make_backend(session).begin_reindex(ws)
    assert await _generations(sessions, corpus) == [(1, "active"), (generation, "building")]
    # The reindex reads Wei Chen's row now; the row is deleted before its page is written.
    async with unit_of_work(sessions) as session:
        columns = await TableService(session).columns(ws, table_id)
        stale = await RowService(session).get_rows(ws, table_id, corpus.row_ids)
    h = corpus.owner.headers
    rows_url = corpus.url(f"/tables/{table_id}/rows")
    assert (
        await search_client.post(f"{rows_url}/delete", json={"ids": [corpus.row_of("Wei Chen")]}, headers=h)
    ).is_success
    cell = f"{rows_url}/{corpus.row_of('Priya Patel')}/cells/{corpus.columns['Company']}"
    assert (await search_client.put(cell, json={"value": "Hooli", "version": 1}, headers=h)).is_success
    await sync()
    # Searches read the old generation throughout, and live changes reach it.
    assert await _names(search_client, corpus, q="hooli") == ["Priya Patel"]
    assert await _names(search_client, corpus, q="stripe") == ["Jonathan Smith"]

    async with unit_of_work(sessions) as session:
        # The stale page lands after the deletion and the edit were indexed (the race a reindex has).
        docs = documents(ws, table_id, "Leads", FieldPlan.of(columns), stale)
        await make_backend(session).index(docs, generation=generation)
    await sync()
    assert await _names(search_client, corpus, q="stripe") == ["Jonathan Smith"]

    async with unit_of_work(sessions) as session:
        await make_backend(session).finish_reindex(ws, generation)
    await sync()
    assert await _generations(sessions, corpus) == [(generation, "active")]
    # The new generation: the deleted row stays deleted, the newer edit was not overwritten by the stale page.
    assert await _names(search_client, corpus, q="stripe") == ["Jonathan Smith"]
    assert await _names(search_client, corpus, q="hooli") == ["Priya Patel"]
    total = (await search_client.get(corpus.url("/search"), headers=h)).json()["data"]["total"]
    assert total == len(CORPUS) - 1


async def test_reindex_command_while_searching(
    search_client: httpx.AsyncClient,
    corpus: Corpus,
    sync: Sync,
    sessions: async_sessionmaker[AsyncSession],
    make_backend: BackendFactory,
) -> None:
    # A second table so the build takes several transactions.
    await load_corpus(search_client, owner=corpus.owner)
    await sync()
    reindex = asyncio.create_task(reindex_workspace(sessions, make_backend, corpus.workspace_id))
    answers: list[list[str]] = []
    while not reindex.done():
        answers.append(await _names(search_client, corpus, q="jonathan", table_id=corpus.table_id))
    indexed = await reindex
    await sync()
    answers.append(await _names(search_client, corpus, q="jonathan", table_id=corpus.table_id))
    assert indexed == len(CORPUS)  # the second workspace's table is not this workspace's
    assert all(a == ["Jonathan Smith", "Jonathon Miller", "Maria Garcia"] for a in answers), answers
    assert [state for _, state in await _generations(sessions, corpus)] == ["active"]


async def test_an_edit_is_searchable_soon_after_commit(engine_settings: Settings, clean_db: None) -> None:
    """The API process runs the consumer (as `make run` does): no drain here, only the outbox."""
    app = create_app(engine_settings.model_copy(update={"search_consumer": True}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        corpus = await load_corpus(client)
        cell = corpus.url(
            f"/tables/{corpus.table_id}/rows/{corpus.row_of('Olu Adeyemi')}/cells/{corpus.columns['Title']}"
        )
        edited = await client.put(cell, json={"value": "Chief Zymurgist", "version": 1}, headers=corpus.owner.headers)
        assert edited.status_code == 200
        committed = time.monotonic()
        deadline = committed + 10.0
        found: list[str] = []
        while time.monotonic() < deadline and not found:
            found = await _names(client, corpus, q="zymurgist")
            if not found:
                await asyncio.sleep(0.02)  # poll interval while waiting for the event, bounded by the deadline
        elapsed = time.monotonic() - committed
    await app.state.engine.dispose()
    assert found == ["Olu Adeyemi"], f"not searchable after {elapsed:.2f} s"
    print(f"searchable {elapsed * 1000:.0f} ms after the commit")


async def test_provider_filter_and_facet_from_cell_provenance(
    search_client: httpx.AsyncClient, corpus: Corpus, sync: Sync, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ws, table_id = corpus.workspace_id, uuid.UUID(corpus.table_id)
    found_by = {corpus.row_of("Jonathan Smith"): "apollo", corpus.row_of("Maria Garcia"): "hunter"}
    async with unit_of_work(sessions) as session:
        await RowService(session).set_cell_states(
            ws,
            table_id,
            uuid.UUID(corpus.columns["Email"]),
            [(row, {"state": "done", "provider": p}) for row, p in found_by.items()],
        )
    await sync()
    h = corpus.owner.headers
    apollo = await search_client.get(corpus.url("/search"), params={"provider": "apollo"}, headers=h)
    assert [x["name"] for x in apollo.json()["data"]["hits"]] == ["Jonathan Smith"]
    assert apollo.json()["data"]["hits"][0]["providers"] == ["apollo"]
    facets = (await search_client.get(corpus.url("/search"), headers=h)).json()["data"]["facets"]["provider"]
    assert sorted((f["value"], f["count"]) for f in facets) == [("apollo", 1), ("hunter", 1)]


async def test_indexer_replays_a_batch_harmlessly(
    search_client: httpx.AsyncClient,
    corpus: Corpus,
    sync: Sync,
    sessions: async_sessionmaker[AsyncSession],
    make_backend: BackendFactory,
) -> None:
    # Indexing the same rows again (a batch replayed after a crash) leaves one document per row.
    table_id = uuid.UUID(corpus.table_id)
    async with unit_of_work(sessions) as session:
        await SearchIndexer(session, make_backend(session)).index_table(corpus.workspace_id, table_id)
        await SearchIndexer(session, make_backend(session)).index_table(corpus.workspace_id, table_id)
    await sync()
    response = await search_client.get(corpus.url("/search"), headers=corpus.owner.headers)
    assert response.json()["data"]["total"] == len(CORPUS)


# Cells that exercise every rule of `documents.build_document`: joined name columns, control
# characters, outer whitespace (Unicode too), upper-case Unicode, email and URL parts, lists,
# JSON strings/lists/objects, empty and missing cells.
_TRICKY_COLUMNS: list[dict[str, Any]] = [
    {"name": "First name", "type": "text"},
    {"name": "Last name", "type": "text"},
    {"name": "Work email", "type": "email"},
    {"name": "Company", "type": "text"},
    {"name": "Website", "type": "url"},
    {"name": "Job title", "type": "text"},
    {"name": "City", "type": "text"},
    {"name": "Phone", "type": "phone"},
    {"name": "Data", "type": "json"},
    {"name": "Notes", "type": "long_text"},
]
_TRICKY_ROWS: list[dict[str, Any]] = [
    {
        "First name": " \u00c9lodie\x07 ",
        "Last name": "D'Arc\u00a0",
        "Work email": "Elodie.D-Arc+crm@Sub.Example.CO.uk",
        "Company": "\u00c9COLE\tNormale",
        "Website": "https://www.ecole.example.fr/about?x=1",
        "Job title": "CFO",
        "City": "Paris",
        "Phone": "+33 1 23 45 67 89",
        "Data": {"tier": "gold", "seats": 12, "nested": {"a": "b"}},
        "Notes": "line one\nline\x0btwo",
    },
    {"Last name": "Solo", "Website": "example.com", "Data": ["alpha", "beta", None], "Notes": "   "},
    {"Company": "Only Co", "Data": "plain string"},
    {"Website": "http://www.example.org/", "City": ""},
    {"Phone": "555 0100"},
]


async def test_documents_built_in_postgres_equal_the_python_ones(
    search_client: httpx.AsyncClient,
    corpus: Corpus,
    sync: Sync,
    sessions: async_sessionmaker[AsyncSession],
    engine_settings: Settings,
) -> None:
    """The PostgreSQL engine builds documents in SQL (`sql_documents`); the rules are those of the
    Python path (`build_document`), which the OpenSearch engine uses: same fields, same text."""
    if engine_settings.opensearch_url:
        pytest.skip("documents built in SQL are the PostgreSQL engine's")
    url = corpus.url("/tables")
    created = await search_client.post(
        url, json={"name": "Tricky", "columns": _TRICKY_COLUMNS}, headers=corpus.owner.headers
    )
    assert created.status_code == 201, created.text
    table = created.json()["data"]
    cols = {c["name"]: c["id"] for c in table["columns"]}
    rows = [{cols[k]: v for k, v in row.items()} for row in _TRICKY_ROWS]
    inserted = await search_client.post(f"{url}/{table['id']}/rows", json={"rows": rows}, headers=corpus.owner.headers)
    assert inserted.status_code == 201, inserted.text
    await sync()
    table_id = uuid.UUID(table["id"])
    fields = ("name", "email", "email_terms", "company", "domain", "domain_terms", "title", "location")
    fields += ("industry", "other", "label", "label_key", "cells", "providers")
    async with sessions() as session:
        columns = await TableService(session).columns(corpus.workspace_id, table_id)
        stored = await RowService(session).get_rows(corpus.workspace_id, table_id, inserted.json()["data"]["ids"])
        expected = documents(corpus.workspace_id, table_id, "Tricky", FieldPlan.of(columns), stored)
        found = {
            int(r.row_id): r
            for r in await session.execute(
                text(f"SELECT row_id, {', '.join(fields)} FROM search_documents WHERE table_id = :t"),
                {"t": table_id},
            )
        }
    assert len(found) == len(_TRICKY_ROWS)
    for doc in expected:
        row = found[doc.row_id]
        python = {
            "name": doc.name,
            "email": doc.email,
            "email_terms": doc.email_terms,
            "company": doc.company,
            "domain": doc.domain,
            "domain_terms": doc.domain_terms,
            "title": doc.title,
            "location": doc.location,
            "industry": doc.industry,
            "label": doc.label,
            "label_key": doc.label.lower()[:200],
            "cells": doc.cells,
            "providers": doc.providers,
        }
        python["other"] = doc.other
        assert {name: getattr(row, name) for name in python} == python, doc.row_id


async def test_a_broad_query_is_ranked_and_counted_over_its_first_candidates(
    search_client: httpx.AsyncClient, corpus: Corpus, sync: Sync, engine_settings: Settings
) -> None:
    """Above CANDIDATES matches the answer says that its total, facets and ranking are bounded."""
    if engine_settings.opensearch_url:
        pytest.skip("the bounds are the PostgreSQL engine's")
    from morket.search.backends.postgres import CANDIDATES

    url = corpus.url(f"/tables/{corpus.table_id}/rows")
    company = corpus.columns["Company"]
    for start in range(0, CANDIDATES + 1, 500):
        rows = [{company: f"Broadco {i}"} for i in range(start, min(start + 500, CANDIDATES + 1))]
        inserted = await search_client.post(url, json={"rows": rows}, headers=corpus.owner.headers)
        assert inserted.status_code == 201, inserted.text
    await sync()

    async def search(**params: Any) -> dict[str, Any]:
        response = await search_client.get(corpus.url("/search"), params=params, headers=corpus.owner.headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    broad = await search(q="broadco")
    assert (broad["total"], broad["total_exact"], broad["facets_exact"], broad["ranked_all"]) == (
        CANDIDATES,
        False,
        False,
        False,
    )
    assert len(broad["hits"]) == 20 and all(h["company"].startswith("Broadco") for h in broad["hits"])
    unfiltered = await search()  # no query: every row of the workspace, capped the same way
    assert (unfiltered["total"], unfiltered["total_exact"]) == (CANDIDATES, False)
    narrow = await search(q="stripe")
    assert (narrow["total"], narrow["total_exact"], narrow["facets_exact"], narrow["ranked_all"]) == (
        2,
        True,
        True,
        True,
    )
