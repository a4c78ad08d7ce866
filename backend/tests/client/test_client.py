"""morket-client against the real API: a uvicorn process on a real port (sync client and the
`morket client` commands), and the ASGI app through the async client's transport."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from morket_client import AsyncMorket, Morket, MorketError
from morket_client.cli import main as cli_main

from morket.app import create_app
from morket.core.config import Settings
from tests.factories import create_workspace, register
from tests.tables.test_live_events import ApiProcess

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture
def api_process(settings: Settings) -> Iterator[ApiProcess]:
    process = ApiProcess(settings)
    try:
        yield process  # the test awaits wait_ready() in its own loop
    finally:
        process.stop()


async def workspace_key(client: httpx.AsyncClient, **body: Any) -> tuple[str, str]:
    owner = await register(client)
    ws = (await create_workspace(client, owner))["id"]
    body = {"name": "client", "role": "member", "scopes": ["read", "write"], **body}
    created = await client.post(f"/api/v1/workspaces/{ws}/api-keys", json=body, headers=owner.headers)
    assert created.status_code == 201, created.text
    return ws, created.json()["data"]["key"]


async def test_the_sync_client_and_the_cli_on_a_real_server(
    api_process: ApiProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api_process.wait_ready()
    async with httpx.AsyncClient(base_url=api_process.url) as http:
        ws, key = await workspace_key(http)

    def sync_part() -> None:
        with Morket(api_key=key, base_url=api_process.url) as m:
            assert m.key()["workspace_id"] == ws and m.workspace_id == ws
            table = m.create_table("People", [{"name": "email", "type": "email"}, {"name": "n", "type": "number"}])
            ids = m.add_rows(table["id"], [{"email": f"p{i}@x.io", "n": i} for i in range(2500)], chunk=1000)
            assert len(ids) == 2500
            rows = list(m.iter_rows(table["id"], page_size=700))
            email = table["columns"][0]["id"]
            assert [r["cells"][email] for r in rows] == [f"p{i}@x.io" for i in range(2500)]
            assert [t["name"] for t in m.tables()] == ["People"]
            with pytest.raises(MorketError) as refused:
                m.request("GET", f"/api/v1/workspaces/{ws}/billing")
            assert refused.value.status == 403 and refused.value.code == "api_key_scope_missing"
            with pytest.raises(ValueError, match="no column"):
                m.add_rows(table["id"], [{"nope": 1}])

    await asyncio.to_thread(sync_part)

    source = tmp_path / "leads.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "company"])
        writer.writerows([[f"l{i}@acme.io", f"Acme {i}"] for i in range(30)])
    monkeypatch.setenv("MORKET_API_KEY", key)
    monkeypatch.setenv("MORKET_URL", api_process.url)
    out = tmp_path / "out.csv"
    assert await asyncio.to_thread(cli_main, ["import", str(source), "--table", "Leads"]) == 0
    assert await asyncio.to_thread(cli_main, ["export", "--table", "Leads", "--out", str(out)]) == 0
    with out.open(newline="", encoding="utf-8-sig") as handle:
        exported = list(csv.DictReader(handle))
    assert [(r["email"], r["company"]) for r in exported] == [(f"l{i}@acme.io", f"Acme {i}") for i in range(30)]
    with pytest.raises(SystemExit, match="no table named"):
        await asyncio.to_thread(cli_main, ["export", "--table", "Missing", "--out", str(out)])


@pytest.fixture
async def asgi_app(settings: Settings) -> AsyncIterator[Any]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app
    await app.state.engine.dispose()


async def test_the_async_client_over_an_asgi_transport(asgi_app: Any) -> None:
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        ws, key = await workspace_key(http)
    async with AsyncMorket(api_key=key, base_url="http://testserver", transport=transport) as m:
        assert (await m.key())["workspace_id"] == ws
        table = await m.create_table("Async", [{"name": "email", "type": "email"}])
        assert await m.add_rows(table["id"], [{"email": "a@b.io"}, {"email": "c@d.io"}]) == [1, 2]
        rows = [r async for r in m.iter_rows(table["id"], page_size=1)]
        assert [r["id"] for r in rows] == [1, 2]
        assert [t["id"] for t in await m.tables()] == [table["id"]]
    with pytest.raises(MorketError) as bad:
        async with AsyncMorket(api_key="mk_" + "0" * 51, base_url="http://testserver", transport=transport) as m:
            await m.key()
    assert bad.value.status == 401 and bad.value.code == "invalid_api_key"
