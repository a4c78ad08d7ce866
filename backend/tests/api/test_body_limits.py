"""Request body limits: 413 in the envelope before the body is parsed, declared or chunked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.app import create_app
from morket.core.config import Settings
from tests.conftest import unique_email
from tests.factories import create_workspace, register

pytestmark = pytest.mark.usefixtures("clean_db")
LIMIT = 64 * 1024


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"max_body_bytes": LIMIT, "max_job_body_bytes": 4 * LIMIT}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client
    await app.state.engine.dispose()


async def _users(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM users"))).scalar_one())


async def test_declared_oversized_body_is_413_before_parsing(
    small: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = {"email": unique_email(), "password": "p" * (LIMIT + 10), "name": "T"}
    response = await small.post("/api/v1/auth/register", json=body, headers={"Origin": "http://localhost:5173"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["details"] == {"limit_bytes": LIMIT}
    assert response.headers["x-request-id"]
    # A browser can read the 413 (CORS headers), and the security headers are there.
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert await _users(sessions) == 0


async def test_chunked_body_without_length_is_cut_off(
    small: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"email": "%s", "name": "T", "password": "' % unique_email().encode()
        for _ in range(1_000):  # 16 MB if it were all read
            sent += 1
            yield b"p" * 16_384
        yield b'"}'

    response = await small.post("/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["success"] is False
    assert sent < 1_000  # reading stopped at the limit
    assert await _users(sessions) == 0


async def test_a_lying_content_length_is_no_way_around(small: httpx.AsyncClient) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"password": "' + b"p" * (2 * LIMIT) + b'"}'

    response = await small.post(
        "/api/v1/auth/login", content=body(), headers={"content-type": "application/json", "content-length": "20"}
    )
    assert response.status_code in (400, 413)
    assert response.json()["success"] is False


async def test_the_job_route_has_its_own_larger_limit(small: httpx.AsyncClient) -> None:
    user = await register(small)
    ws = await create_workspace(small, user)
    # 100 KB: over the default limit, under the job route's. It reaches the job checks (422 here).
    records = [{"domain": f"co{i}.com", "first_name": "x" * 1_000} for i in range(100)]
    response = await small.post(
        f"/api/v1/workspaces/{ws['id']}/enrichment-jobs",
        json={"records": records, "fields": ["nonsense"]},
        headers=user.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_enrichment_request"
    # The same size elsewhere is refused.
    rename = await small.put(f"/api/v1/workspaces/{ws['id']}", json={"name": "x" * 100_000}, headers=user.headers)
    assert rename.status_code == 413
