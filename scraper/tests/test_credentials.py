"""Provider credentials read from the API's internal endpoint (the real API on a socket), cached
for five minutes: a workspace's own proxies come from its `scraper` credential."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
import uvicorn
from morket.app import create_app as create_api
from morket.core.config import Settings
from morket.devstack import database
from morket.devstack.ports import free_port

from morket_scraper.credentials import CredentialClient

SERVICE_KEY = "internal-service-key-" + "i" * 20


@pytest.fixture(scope="module")
async def api_url() -> AsyncIterator[str]:
    """The Morket API on its own fresh database (migrations applied), served by uvicorn."""
    server_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = database.with_database(server_url, f"morket_scraper_api_{os.getpid()}_{secrets.token_hex(3)}")
    await asyncio.to_thread(database.ensure_database, url, drop_first=True)
    await asyncio.to_thread(database.upgrade, url)
    settings = Settings(
        database_url=url,
        morket_env="test",
        jwt_secret="test-secret-" + "x" * 40,
        encryption_master_key="ab" * 32,
        bcrypt_rounds=4,
        service_api_key=SERVICE_KEY,
        rate_limit_auth_per_minute=100_000,
        rate_limit_general_per_minute=1_000_000,
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_api(settings), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 60
    while not server.started:
        assert not task.done() and time.monotonic() < deadline, "the API did not start"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await database.drop_database(url)


async def test_credentials_are_read_once_and_cached(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as api:
        response = await api.post(
            "/api/v1/auth/register",
            json={"email": f"s{uuid.uuid4().hex[:8]}@example.com", "password": "a-long-password-1", "name": "S"},
        )
        assert response.status_code == 201, response.text
        token = response.json()["data"]["tokens"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        workspace = (await api.post("/api/v1/workspaces", json={"name": "W"}, headers=headers)).json()["data"]
        ws = uuid.UUID(workspace["id"])
        response = await api.post(
            f"/api/v1/workspaces/{ws}/credentials",
            json={"provider": "scraper", "api_key": "proxies-only", "extra": {"proxies": ["http://10.0.0.5:3128"]}},
            headers=headers,
        )
        assert response.status_code == 201, response.text

    now = [0.0]
    async with aiohttp.ClientSession() as session:
        client = CredentialClient(session, api_url, SERVICE_KEY, ttl=300, clock=lambda: now[0])
        credential = await client.get(ws, "scraper")
        assert credential is not None and credential.extra == {"proxies": ["http://10.0.0.5:3128"]}
        assert await client.get(ws, "hunter") is None  # none stored: remembered as none
        now[0] = 299
        assert await client.get(ws, "scraper") == credential
        assert await client.get(ws, "hunter") is None
        assert client.fetches == 2
        now[0] = 301  # five minutes later the API is asked again
        assert await client.get(ws, "scraper") == credential
        assert client.fetches == 3
        wrong = CredentialClient(session, api_url, "not-the-key-" + "x" * 30)
        with pytest.raises(Exception, match="401"):
            await wrong.get(ws, "scraper")
