"""An import run killed mid-way resumes after its last committed batch (no row twice, none lost),
and uploads never committed expire."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.imports.service import ImportRunner, ImportService
from morket.models import TableImport, TableImportChunk
from tests.imports.conftest import Tenant, all_rows, upload

ROWS = 600


async def _state(sessions: async_sessionmaker[AsyncSession], import_id: str) -> tuple[TableImport, int]:
    async with sessions() as session:
        item = await session.get(TableImport, uuid.UUID(import_id))
        assert item is not None
        chunks = (
            await session.execute(sa.select(sa.func.count()).where(TableImportChunk.import_id == uuid.UUID(import_id)))
        ).scalar_one()
        return item, int(chunks)


async def test_a_killed_run_resumes_after_its_last_committed_batch(
    api: httpx.AsyncClient, tenant: Tenant, import_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # A quoted field over two lines and a bad number in the middle: line numbers must stay right.
    lines = ["n,name"]
    for i in range(ROWS):
        if i == 100:
            lines.append(f'{i},"Name\n{i}"')
        elif i == 250:
            lines.append("not a number,Bad")
        else:
            lines.append(f"{i},Name {i}")
    item = (await upload(api, tenant, "big.csv", ("\n".join(lines) + "\n").encode())).json()["data"]
    assert [c["type"] for c in item["preview"]["columns"]] == ["text", "long_text"]  # "not a number"
    body = {"mode": "new_table", "mapping": [{"source": 0, "type": "number"}, {"source": 1}]}
    committed = await api.post(f"{tenant.base}/imports/{item['id']}/commit", json=body, headers=tenant.user.headers)
    assert committed.status_code == 202
    # No worker on this test's task queue: the run is driven here, and killed after a batch commits.
    runner = ImportRunner(sessions, import_settings.model_copy(update={"import_batch_rows": 25}))
    kill_after_line = 300
    task: asyncio.Task[object] | None = None

    def heartbeat(line: int) -> None:
        assert task is not None
        if line >= kill_after_line:
            task.cancel()  # lands in the next batch's transaction, which rolls back

    task = asyncio.create_task(runner.run(uuid.UUID(item["id"]), heartbeat))
    with contextlib.suppress(asyncio.CancelledError):
        await task
    killed, _ = await _state(sessions, item["id"])
    assert killed.status == "running"
    assert kill_after_line <= killed.resume_line < ROWS + 2
    assert 0 < killed.rows_inserted < ROWS - 1
    table_id = str(killed.table_id)
    async with sessions() as session:
        count = (
            await session.execute(sa.text(f"SELECT count(*) FROM tabledata.t_{uuid.UUID(table_id).hex}"))
        ).scalar_one()
    assert count == killed.rows_inserted  # what is counted is exactly what is committed

    done = await runner.run(uuid.UUID(item["id"]), lambda line: None)
    assert done.status == "completed"
    assert (done.progress.rows_read, done.progress.rows_inserted, done.progress.rows_rejected) == (ROWS, ROWS - 1, 1)
    rows = await all_rows(api, tenant, table_id)
    expected_names = [f"Name\n{i}" if i == 100 else f"Name {i}" for i in range(ROWS) if i != 250]
    assert [r["name"] for r in rows] == expected_names
    assert [r["n"] for r in rows] == [str(i) for i in range(ROWS) if i != 250]
    rejects = (await api.get(f"{tenant.base}/imports/{item['id']}/rejects", headers=tenant.user.headers)).json()
    # Line 1 is the header, row 100 spans two lines: row 250 starts on line 253.
    assert [(r["line"], r["reason"]) for r in rejects["data"]] == [(253, "invalid_value")]
    assert "column 'n'" in rejects["data"][0]["message"]
    _, chunks = await _state(sessions, item["id"])
    assert chunks == 0


async def test_uploads_never_committed_expire(
    api: httpx.AsyncClient, tenant: Tenant, import_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    old = (await upload(api, tenant, "old.csv", b"a,b\n1,2\n")).json()["data"]
    fresh = (await upload(api, tenant, "fresh.csv", b"a,b\n1,2\n")).json()["data"]
    queued = (await upload(api, tenant, "queued.csv", b"a,b\n1,2\n")).json()["data"]
    committed = await api.post(
        f"{tenant.base}/imports/{queued['id']}/commit", json={"mode": "new_table"}, headers=tenant.user.headers
    )
    assert committed.status_code == 202
    hours = import_settings.import_upload_ttl_hours
    async with unit_of_work(sessions) as session:
        await session.execute(
            sa.text("UPDATE table_imports SET updated_at = now() - make_interval(hours => :h) WHERE id = ANY(:ids)"),
            {"h": hours + 1, "ids": [uuid.UUID(old["id"]), uuid.UUID(queued["id"])]},
        )
    async with unit_of_work(sessions) as session:
        assert await ImportService(session, import_settings).expire_uploads() == 1
    async with unit_of_work(sessions) as session:
        assert await ImportService(session, import_settings).expire_uploads() == 0

    expired, expired_chunks = await _state(sessions, old["id"])
    assert expired.status == "failed" and expired_chunks == 0
    assert expired.error is not None and f"not committed within {hours} hours" in expired.error
    shown = (await api.get(f"{tenant.base}/imports/{old['id']}", headers=tenant.user.headers)).json()["data"]
    assert shown["status"] == "failed" and "Upload it again" in shown["error"]
    late = await api.post(
        f"{tenant.base}/imports/{old['id']}/commit", json={"mode": "new_table"}, headers=tenant.user.headers
    )
    assert late.status_code == 409
    for kept, status in ((fresh, "uploaded"), (queued, "queued")):
        item, chunks = await _state(sessions, kept["id"])
        assert item.status == status and chunks == 1
