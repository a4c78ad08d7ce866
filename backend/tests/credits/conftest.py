"""Fixtures of the credit ledger tests: workspaces made straight in the database, and ledger checks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from morket.core.config import Settings
from morket.core.db import make_sessionmaker, unit_of_work

NewWorkspace = Callable[[], Awaitable[uuid.UUID]]


async def insert_workspace(session: AsyncSession) -> uuid.UUID:
    workspace_id = uuid.uuid4()
    await session.execute(
        text("INSERT INTO workspaces (id, name, slug) VALUES (:id, 'Ledger test', :slug)"),
        {"id": workspace_id, "slug": f"ledger-{workspace_id.hex}"},
    )
    return workspace_id


@pytest.fixture
def new_workspace(sessions: async_sessionmaker[AsyncSession], clean_db: None) -> NewWorkspace:
    async def make() -> uuid.UUID:
        async with unit_of_work(sessions) as session:
            return await insert_workspace(session)

    return make


@pytest.fixture
async def contended_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions over 16 connections for the concurrency tests: hundreds of tasks queue for them.

    Bounded (and patient) because the PostgreSQL server is shared: a larger pool can hit
    max_connections while other suites run.
    """
    engine = create_async_engine(settings.database_url, pool_size=16, max_overflow=0, pool_timeout=300)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def ledger_state(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, int]:
    """The account's totals next to the ledger's sums, read in one statement."""
    state = await ledger_state_or_none(session, workspace_id)
    assert state is not None, "the workspace has no credit account"
    return state


async def ledger_state_or_none(session: AsyncSession, workspace_id: uuid.UUID) -> dict[str, int] | None:
    """`ledger_state`, or None before the workspace's first ledger operation."""
    row = (
        await session.execute(
            text(
                "SELECT a.balance, a.reserved, "
                "(SELECT coalesce(sum(amount), 0) FROM credit_transactions WHERE workspace_id = :ws) AS amount_sum, "
                "(SELECT coalesce(sum(reserved_delta), 0) FROM credit_transactions WHERE workspace_id = :ws) "
                "AS reserved_sum, "
                "(SELECT count(*) FROM credit_transactions WHERE workspace_id = :ws) AS rows, "
                # Jobs whose held projection differs from the ledger's reserved_delta sum.
                "(SELECT count(*) FROM (SELECT job_id, sum(reserved_delta) AS s FROM credit_transactions "
                " WHERE workspace_id = :ws AND job_id IS NOT NULL GROUP BY job_id) l "
                " FULL JOIN (SELECT job_id, held FROM credit_reservations WHERE workspace_id = :ws) r USING (job_id) "
                " WHERE coalesce(l.s, 0) <> coalesce(r.held, 0)) AS held_mismatches "
                "FROM credit_accounts a WHERE a.workspace_id = :ws"
            ),
            {"ws": workspace_id},
        )
    ).one_or_none()
    return None if row is None else dict(row._mapping)


def assert_consistent(state: dict[str, int]) -> None:
    assert state["balance"] == state["amount_sum"]
    assert state["reserved"] == state["reserved_sum"]
    assert 0 <= state["reserved"] <= state["balance"]
    assert state["held_mismatches"] == 0
