"""The search contract suite's fixtures: the engine under test, a workspace with the fixed corpus.

Every test runs against PostgreSQL; with `OPENSEARCH_URL` set it runs against OpenSearch as
well (one shared index, `morket-search-test-<pid>`), otherwise that variant is skipped.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.app import create_app
from morket.core.config import Settings
from morket.outbox.service import OutboxService
from morket.search.engine import backend_factory
from morket.search.indexer import CONSUMER_NAME, BackendFactory, search_consumer
from tests.conftest import make_settings
from tests.factories import TestUser, create_workspace, register

ENGINES = ["postgres", "opensearch"]

NAME, EMAIL, COMPANY, TITLE, LOCATION, INDUSTRY, NOTES = (
    "Name",
    "Email",
    "Company",
    "Title",
    "Location",
    "Industry",
    "Notes",
)
COLUMNS: list[dict[str, Any]] = [
    {"name": NAME, "type": "text"},
    {"name": EMAIL, "type": "email"},
    {"name": COMPANY, "type": "text"},
    {"name": TITLE, "type": "text"},
    {"name": LOCATION, "type": "text"},
    {"name": INDUSTRY, "type": "single_select"},
    {"name": NOTES, "type": "long_text"},
]
# The fixed corpus: (name, email, company, title, location, industry, notes).
CORPUS: list[tuple[str | None, ...]] = [
    ("Jonathan Smith", "jonathan@stripe.com", "Stripe", "CFO", "San Francisco", "Fintech", "Met at a conference"),
    ("Jonathon Miller", "jm@acme.io", "Acme", "Head of Sales", "New York", "Software", None),
    ("Maria Garcia", "maria@globex.com", "Globex", "CTO", "Madrid", "Logistics", "Introduced by jonathan last year"),
    ("Priya Patel", None, "Acme", "VP Engineering", "London", "Software", "Prefers email"),
    ("Wei Chen", "wei@stripe.com", "Stripe", "Engineer", "Dublin", "Fintech", "<b>Bold</b> & brave"),
    ("Olu Adeyemi", "olu@initech.com", "Initech", "CFO", "Lagos", "Fintech", "Francisco was his mentor"),
]


@dataclass
class Corpus:
    workspace_id: uuid.UUID
    owner: TestUser
    table_id: str
    columns: dict[str, str]
    row_ids: list[int]  # in CORPUS order

    def url(self, path: str = "") -> str:
        return f"/api/v1/workspaces/{self.workspace_id}{path}"

    def row_of(self, name: str) -> int:
        return self.row_ids[[c[0] for c in CORPUS].index(name)]


@pytest.fixture(params=ENGINES)
def engine_settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    if request.param == "opensearch":
        url = os.environ.get("OPENSEARCH_URL")
        if not url:
            pytest.skip("OPENSEARCH_URL is not set: the OpenSearch engine is not tested here")
        return make_settings(database_url, opensearch_url=url, opensearch_index=f"morket-search-test-{os.getpid()}")
    return make_settings(database_url)


@pytest.fixture
async def search_client(engine_settings: Settings, clean_db: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine_settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client
    await app.state.engine.dispose()


@pytest.fixture
def make_backend(engine_settings: Settings) -> BackendFactory:
    return backend_factory(engine_settings)


@dataclass
class Sync:
    """Index everything the outbox holds now, and make it searchable (OpenSearch: refresh)."""

    sessions: async_sessionmaker[AsyncSession]
    make_backend: BackendFactory

    async def __call__(self, timeout: float = 60) -> int:
        # An event is readable only once every older transaction on the (shared) server has
        # finished (docs/outbox.md): one drain() may stop early while another test database's
        # transaction is open, so drain until no event is left after the consumer's position.
        consumer = search_consumer(self.sessions, self.make_backend)
        deadline = asyncio.get_running_loop().time() + timeout
        handled = await consumer.drain()
        while await self._pending():
            assert asyncio.get_running_loop().time() < deadline, "the outbox was not drained in time"
            await asyncio.sleep(0.02)
            handled += await consumer.drain()
        async with self.sessions() as session:
            backend = self.make_backend(session)
            refresh = getattr(backend, "refresh", None)
            if refresh is not None:
                await refresh()
        return handled

    async def _pending(self) -> int:
        async with self.sessions() as session:
            _, backlog = await OutboxService(session).consumer_backlog(CONSUMER_NAME)
        return backlog.pending


@pytest.fixture
def sync(sessions: async_sessionmaker[AsyncSession], make_backend: BackendFactory) -> Sync:
    return Sync(sessions, make_backend)


async def load_corpus(client: httpx.AsyncClient, owner: TestUser | None = None, table_name: str = "Leads") -> Corpus:
    owner = owner or await register(client)
    ws = await create_workspace(client, owner)
    url = f"/api/v1/workspaces/{ws['id']}/tables"
    created = await client.post(url, json={"name": table_name, "columns": COLUMNS}, headers=owner.headers)
    assert created.status_code == 201, created.text
    table = created.json()["data"]
    cols = {c["name"]: c["id"] for c in table["columns"]}
    order = [NAME, EMAIL, COMPANY, TITLE, LOCATION, INDUSTRY, NOTES]
    rows = [{cols[n]: v for n, v in zip(order, values, strict=True) if v is not None} for values in CORPUS]
    inserted = await client.post(f"{url}/{table['id']}/rows", json={"rows": rows}, headers=owner.headers)
    assert inserted.status_code == 201, inserted.text
    return Corpus(uuid.UUID(ws["id"]), owner, table["id"], cols, inserted.json()["data"]["ids"])


@pytest.fixture
async def corpus(search_client: httpx.AsyncClient, sync: Sync) -> Corpus:
    loaded = await load_corpus(search_client)
    await sync()
    return loaded
