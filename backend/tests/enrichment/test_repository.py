"""The bulk paths (COPY, executemany on the raw asyncpg connection) stay inside the unit of work."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.enrichment.repository import EnrichmentRepository, RecordResult
from morket.enrichment.result import FieldOutcome, FieldStatus
from morket.models import EnrichmentJob, EnrichmentRecord, User, Workspace


async def make_job(sessions: async_sessionmaker[AsyncSession]) -> EnrichmentJob:
    async with unit_of_work(sessions) as session:
        workspace = Workspace(name="W", slug=f"w-{uuid.uuid4().hex[:8]}")
        session.add(workspace)
        session.add(User(email=f"{uuid.uuid4().hex[:8]}@example.com", password_hash="x"))
        await session.flush()
        job = EnrichmentJob(
            workspace_id=workspace.id,
            fields=["email"],
            waterfall={"email": ["apollo"]},
            options={},
            record_count=3,
            batch_count=1,
            workflow_id="wf",
        )
        repo = EnrichmentRepository(session)
        await repo.add_job(job)
        await repo.insert_records(job.id, workspace.id, [{"n": 1}, {"n": 2}, {"n": 3}])
    return job


async def test_raw_writes_roll_back_with_the_unit_of_work(
    sessions: async_sessionmaker[AsyncSession], clean_db: None
) -> None:
    job = await make_job(sessions)
    async with sessions() as session:
        pending = await EnrichmentRepository(session).pending_records(job.id, 0, 3)
    assert [p.seq for p in pending] == [0, 1, 2]

    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            repo = EnrichmentRepository(session)
            locked = await repo.lock_pending([p.id for p in pending])
            assert locked == {p.id for p in pending}
            email = FieldOutcome(FieldStatus.FOUND, "a@b.c")
            result = RecordResult(pending[0].id, "completed", {"email": email}, 1, None)
            await repo.save_results(job.id, [result], [])
            raise RuntimeError("the worker dies before the commit")

    async with sessions() as session:
        still_pending = await session.scalar(
            select(func.count()).where(EnrichmentRecord.job_id == job.id, EnrichmentRecord.status == "pending")
        )
    assert still_pending == 3
