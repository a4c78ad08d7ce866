"""The lean request path: one query for identity and role, reads without a transaction, ETags, offline docs."""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from morket.app import create_app
from morket.core.config import Settings
from morket.core.db import ReadOnlySessionError, make_read_sessionmaker, make_sessionmaker
from morket.core.heap import YOUNG_THRESHOLD
from morket.models import User
from tests.factories import create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "rate_limit_counters" not in statement:  # the shared limiter's periodic sync, not the request
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def app_client(settings: Settings) -> Any:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield app, client
    await app.state.engine.dispose()


async def test_identity_and_role_are_one_query(app_client: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = app_client
    user = await register(client)
    workspace = await create_workspace(client, user)
    with statements(app.state.engine) as seen:
        response = await client.get(f"/api/v1/workspaces/{workspace['id']}", headers=user.headers)
    assert response.status_code == 200 and response.json()["data"]["id"] == workspace["id"]
    # The caller (user, live login, membership role) in one statement, then the workspace itself.
    assert len(seen) == 2, seen
    assert "token_families" in seen[0] and "memberships" in seen[0]

    with statements(app.state.engine) as seen:
        stranger = await client.get(f"/api/v1/workspaces/{uuid.uuid4()}", headers=user.headers)
    assert stranger.status_code == 404 and len(seen) == 1


async def test_reads_run_without_a_transaction_and_refuse_writes(engine: AsyncEngine) -> None:
    # now() is the start of the transaction: the same for two statements of one, not in autocommit.
    async with make_read_sessionmaker(engine)() as session:
        first = (await session.execute(text("SELECT now()"))).scalar_one()
        assert (await session.execute(text("SELECT now()"))).scalar_one() != first
        with pytest.raises(ReadOnlySessionError):
            await session.execute(insert(User).values(email="nope@example.com", password_hash="x"))
        session.add(User(email="nope2@example.com", password_hash="x"))
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
    async with make_sessionmaker(engine)() as session:
        first = (await session.execute(text("SELECT now()"))).scalar_one()
        assert (await session.execute(text("SELECT now()"))).scalar_one() == first
        assert (await session.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0


async def test_provider_catalog_has_an_etag_and_answers_304(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await client.get("/api/v1/providers", headers=user.headers)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "private, max-age=300"
    assert {p["slug"] for p in first.json()["data"]} >= {"apollo", "clearbit", "hunter"}
    assert first.json()["data"][0]["operations"][0]["input_schema"]["type"] == "object"

    again = await client.get("/api/v1/providers", headers={**user.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = await client.get("/api/v1/providers", headers={**user.headers, "If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    stale = await client.get("/api/v1/providers", headers={**user.headers, "If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.content == first.content
    # The ETag does not open the door: without a token it is still 401.
    anonymous = await client.get("/api/v1/providers", headers={"If-None-Match": etag})
    assert anonymous.status_code == 401

    one = await client.get("/api/v1/providers/hunter", headers=user.headers)
    assert one.status_code == 200 and one.json()["data"]["slug"] == "hunter"
    assert one.headers["etag"] != etag
    cached = await client.get(
        "/api/v1/providers/hunter", headers={**user.headers, "If-None-Match": one.headers["etag"]}
    )
    assert cached.status_code == 304


async def test_openapi_and_docs_are_served_from_the_installation(client: httpx.AsyncClient) -> None:
    spec = await client.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "Morket API"
    assert "/api/v1/providers" in spec.json()["paths"]
    assert (
        await client.get("/api/v1/openapi.json", headers={"If-None-Match": spec.headers["etag"]})
    ).status_code == 304

    page = await client.get("/api/v1/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "https://" not in page.text and "http://" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "https:" not in page.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert f"/api/v1/docs/assets/{asset}" in page.text
        served = await client.get(f"/api/v1/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 1000, asset
    bundle = await client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text


async def test_access_log_is_a_setting_off_by_default_in_production(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.access_log_enabled  # tests (and development) log every request
    assert not settings.model_copy(update={"morket_env": "production"}).access_log_enabled
    assert settings.model_copy(update={"morket_env": "production", "access_log": True}).access_log_enabled

    caplog.set_level(logging.INFO)
    for access_log in (False, True):
        caplog.clear()
        app = create_app(settings.model_copy(update={"access_log": access_log}))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            assert (await client.get("/api/v1/health")).status_code == 200
        await app.state.engine.dispose()
        assert bool([r for r in caplog.records if r.name == "morket.access"]) is access_log


async def test_startup_heap_is_frozen_out_of_later_collections(client: httpx.AsyncClient) -> None:
    # The lifespan ran (the client fixture enters it): the startup objects sit in the permanent
    # generation, so a full collection under load walks only what requests created.
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.isenabled()  # cycles made by requests are still collected
    assert (await client.get("/api/v1/health")).status_code == 200
