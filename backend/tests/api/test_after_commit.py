"""The transaction boundary: `after_commit` hooks run once the unit of work has committed (and
see its rows from another connection), never when it rolls back, and a failing hook neither
undoes the commit nor stops the hooks after it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import after_commit, unit_of_work

INSERT = text("INSERT INTO outbox_consumers (name, position_id) VALUES (:name, 0)")
EXISTS = text("SELECT count(*) FROM outbox_consumers WHERE name = :name")


async def _visible(sessions: async_sessionmaker[AsyncSession], name: str) -> bool:
    async with sessions() as other:
        return bool(await other.scalar(EXISTS, {"name": name}))


async def test_hooks_run_after_the_commit_in_order(sessions: async_sessionmaker[AsyncSession], clean_db: None) -> None:
    seen: list[tuple[str, bool]] = []

    async def failing() -> None:
        seen.append(("failing", await _visible(sessions, "hooked")))
        raise RuntimeError("the workflow service is down")

    async def second() -> None:
        seen.append(("second", await _visible(sessions, "hooked")))

    async with unit_of_work(sessions) as session:
        await session.execute(INSERT, {"name": "hooked"})
        after_commit(session, failing)
        after_commit(session, second)
        assert seen == []  # nothing runs before the commit
    assert seen == [("failing", True), ("second", True)]
    assert await _visible(sessions, "hooked")


async def test_hooks_do_not_run_when_the_transaction_rolls_back(
    sessions: async_sessionmaker[AsyncSession], clean_db: None
) -> None:
    ran: list[str] = []

    async def hook() -> None:
        ran.append("ran")

    with pytest.raises(ValueError, match="bad input"):
        async with unit_of_work(sessions) as session:
            await session.execute(INSERT, {"name": "rolled back"})
            after_commit(session, hook)
            raise ValueError("bad input")
    assert ran == []
    assert not await _visible(sessions, "rolled back")
    # The session of the next unit of work starts without the discarded hooks.
    async with unit_of_work(sessions) as session:
        await session.execute(INSERT, {"name": "next"})
    assert ran == []
