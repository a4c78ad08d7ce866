"""Batched debits: the same guarantees as one debit at a time, under one lock."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
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


async def test_a_cell_is_debited_once_whatever_the_key(
    sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    """Two providers answering the same field of the same record: only the first is charged."""
    ws, job, record = await new_workspace(), uuid.uuid4(), uuid.uuid4()
    async with unit_of_work(sessions) as session:
        await CreditService(session).add(ws, 100, "funds")
        await CreditService(session).debit_many(
            ws, job, [DebitRequest(5, f"{job}:{record}:email:apollo", record_id=record, field="email")]
        )
        before = await ledger_state(session, ws)
    other_provider = DebitRequest(3, f"{job}:{record}:email:hunter", record_id=record, field="email")
    with pytest.raises(AppError) as err:
        async with unit_of_work(sessions) as session:
            await CreditService(session).debit_many(ws, job, [other_provider])
    assert err.value.status_code == 409 and err.value.code == "cell_already_debited"
    both_in_one_batch = [
        DebitRequest(2, "a", record_id=record, field="phone"),
        DebitRequest(2, "b", record_id=record, field="phone"),
    ]
    with pytest.raises(AppError) as err:
        async with unit_of_work(sessions) as session:
            await CreditService(session).debit_many(ws, job, both_in_one_batch)
    assert err.value.status_code == 409 and err.value.code == "cell_already_debited"
    # Another field of the record is another cell.
    async with unit_of_work(sessions) as session:
        applied = await CreditService(session).debit_many(
            ws, job, [DebitRequest(4, f"{job}:{record}:company_name:clearbit", record_id=record, field="company_name")]
        )
        after = await ledger_state(session, ws)
    assert applied.applied == 1
    assert after["rows"] == before["rows"] + 1 and after["balance"] == before["balance"] - 4


async def test_the_ledger_itself_refuses_a_second_debit_of_a_cell(
    sessions: async_sessionmaker[AsyncSession], new_workspace: NewWorkspace
) -> None:
    """Even past the service (a bypassed lock, a bug): the table's unique index refuses it."""
    ws, job, record = await new_workspace(), uuid.uuid4(), uuid.uuid4()
    async with unit_of_work(sessions) as session:
        await CreditService(session).add(ws, 100, "funds")
        await CreditService(session).debit_many(ws, job, [DebitRequest(5, "first", record_id=record, field="email")])
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO credit_transactions (id, workspace_id, type, amount, reserved_delta, balance_after,"
                    " reserved_after, idempotency_key, job_id, record_id, field)"
                    " VALUES (gen_random_uuid(), :ws, 'debit', -5, 0, 90, 0, 'second', :job, :rec, 'email')"
                ),
                {"ws": ws, "job": job, "rec": record},
            )
