"""Batched debits: the same guarantees as one debit at a time, under one lock."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import AppError
from morket.credits.service import CreditService, DebitRequest
from tests.credits.conftest import NewWorkspace, assert_consistent, ledger_state


def _batch(job: uuid.UUID, n: int, amount: int = 1, prefix: str = "d") -> list[DebitRequest]:
    return [DebitRequest(amount, f"{prefix}:{job}:{i}", record_id=uuid.uuid4()) for i in range(n)]


async def test_batch_consumes_reservation_then_balance_and_replays(
    sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    ws, job = await new_workspace(), uuid.uuid4()
    async with unit_of_work(sessions) as session:
        credits = CreditService(session)
        await credits.add(ws, 100, "top up")
        await credits.reserve(ws, job, 10)
    batch = _batch(job, 15, amount=1)
    async with unit_of_work(sessions) as session:
        result = await CreditService(session).debit_many(ws, job, batch)
    assert (result.applied, result.replayed, result.amount) == (15, 0, 15)
    async with unit_of_work(sessions) as session:
        account = await CreditService(session).account(ws)
        state = await ledger_state(session, ws)
    assert (account.balance, account.reserved, account.available) == (85, 0, 85)
    assert_consistent(state)
    # The same batch again (a retried activity): nothing changes.
    async with unit_of_work(sessions) as session:
        again = await CreditService(session).debit_many(ws, job, batch)
        state_after = await ledger_state(session, ws)
    assert (again.applied, again.replayed) == (0, 15)
    assert state_after["rows"] == state["rows"] and state_after["balance"] == 85


async def test_overdrawing_batch_applies_nothing(
    sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    ws, job = await new_workspace(), uuid.uuid4()
    async with unit_of_work(sessions) as session:
        await CreditService(session).add(ws, 5, "small")
    with pytest.raises(AppError) as err:
        async with unit_of_work(sessions) as session:
            await CreditService(session).debit_many(ws, job, _batch(job, 6))
    assert err.value.status_code == 402
    async with unit_of_work(sessions) as session:
        state = await ledger_state(session, ws)
    assert state["balance"] == 5 and state["rows"] == 1


async def test_duplicate_keys_in_one_batch_are_refused(
    sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    ws, job = await new_workspace(), uuid.uuid4()
    same = DebitRequest(1, "dup-key", record_id=uuid.uuid4())
    with pytest.raises(AppError) as err:
        async with unit_of_work(sessions) as session:
            await CreditService(session).debit_many(ws, job, [same, same])
    assert err.value.status_code == 400


async def test_concurrent_batches_with_overlapping_keys_apply_each_key_once(
    contended_sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    ws, job = await new_workspace(), uuid.uuid4()
    async with unit_of_work(contended_sessions) as session:
        credits = CreditService(session)
        await credits.add(ws, 1_000, "funds")
        await credits.reserve(ws, job, 400)
    keys = [DebitRequest(2, f"k{i}", record_id=None) for i in range(300)]

    async def run(part: list[DebitRequest]) -> None:
        async with unit_of_work(contended_sessions) as session:
            await CreditService(session).debit_many(ws, job, part)

    # Overlapping windows of the same keys, as retried chunks would send them.
    await asyncio.gather(*(run(keys[start : start + 50]) for start in range(0, 260, 10)))
    async with unit_of_work(contended_sessions) as session:
        state = await ledger_state(session, ws)
        await CreditService(session).release(ws, job)
        released = await ledger_state(session, ws)
    assert state["balance"] == 1_000 - 2 * 300
    assert state["rows"] == 2 + 300
    assert_consistent(state)
    assert released["reserved"] == 0
    assert_consistent(released)
