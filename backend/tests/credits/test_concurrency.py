"""Hundreds of concurrent ledger operations on one workspace, through the service, on real PostgreSQL.

Every call is its own asyncio task and transaction, all started at once; they queue for the 16
connections of `contended_sessions` and then, inside PostgreSQL, for the account row lock.
"""

from __future__ import annotations

import asyncio
import random
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import PaymentRequired
from morket.credits.schemas import LedgerResult
from morket.credits.service import CreditService
from tests.credits.conftest import NewWorkspace, assert_consistent, ledger_state

Sessions = async_sessionmaker[AsyncSession]


async def _debit(sessions: Sessions, ws: uuid.UUID, amount: int, key: str) -> LedgerResult | PaymentRequired:
    try:
        async with unit_of_work(sessions) as session:
            return await CreditService(session).debit(ws, amount, key)
    except PaymentRequired as exc:
        return exc


async def _fund(sessions: Sessions, ws: uuid.UUID, amount: int) -> None:
    async with unit_of_work(sessions) as session:
        await CreditService(session).add(ws, amount, "initial")


async def test_250_concurrent_debits_are_exact(contended_sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    await _fund(contended_sessions, ws, 1000)
    rng = random.Random(7)
    amounts = [rng.randint(1, 10) for _ in range(250)]
    assert sum(amounts) > 1000  # so some of them must fail

    results = await asyncio.gather(*(_debit(contended_sessions, ws, a, f"d-{i}") for i, a in enumerate(amounts)))

    succeeded = [a for a, r in zip(amounts, results, strict=True) if isinstance(r, LedgerResult)]
    failed = [a for a, r in zip(amounts, results, strict=True) if isinstance(r, PaymentRequired)]
    assert len(succeeded) + len(failed) == 250 and failed
    async with unit_of_work(contended_sessions) as session:
        state = await ledger_state(session, ws)
    assert_consistent(state)
    assert state["balance"] == 1000 - sum(succeeded)
    assert state["rows"] == 1 + len(succeeded)
    # Available only fell, so every refused debit asked for more than what is left now: none was
    # refused while it would have fitted, and none beyond the balance went through.
    assert all(a > state["balance"] for a in failed)
    assert all(
        isinstance(r.details, dict) and r.details["required"] > r.details["available"]
        for r in results
        if isinstance(r, PaymentRequired)
    )


async def test_exactly_the_balance_is_spent(contended_sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    await _fund(contended_sessions, ws, 150)
    results = await asyncio.gather(*(_debit(contended_sessions, ws, 1, f"unit-{i}") for i in range(220)))
    assert sum(isinstance(r, LedgerResult) for r in results) == 150
    assert sum(isinstance(r, PaymentRequired) for r in results) == 70
    async with unit_of_work(contended_sessions) as session:
        state = await ledger_state(session, ws)
    assert state["balance"] == 0
    assert_consistent(state)


async def test_concurrent_repeats_of_one_key_apply_once(
    contended_sessions: Sessions, new_workspace: NewWorkspace
) -> None:
    ws = await new_workspace()
    await _fund(contended_sessions, ws, 1000)
    calls = [_debit(contended_sessions, ws, 7, "same-key") for _ in range(100)]
    calls += [_debit(contended_sessions, ws, 1, f"other-{i}") for i in range(100)]
    results = await asyncio.gather(*calls)
    same = [r for r in results[:100] if isinstance(r, LedgerResult)]
    assert len(same) == 100
    assert sum(not r.replayed for r in same) == 1
    assert len({r.transaction.id for r in same if r.transaction}) == 1
    async with unit_of_work(contended_sessions) as session:
        state = await ledger_state(session, ws)
    assert state["balance"] == 1000 - 7 - 100
    assert_consistent(state)


async def test_auto_recharge_once_per_crossing_under_concurrency(
    contended_sessions: Sessions, new_workspace: NewWorkspace
) -> None:
    ws = await new_workspace()
    await _fund(contended_sessions, ws, 505)
    async with unit_of_work(contended_sessions) as session:
        await CreditService(session).configure_auto_recharge(ws, enabled=True, threshold=500, amount=10)
    # The first debit crosses 500; the recharge of 10 does not lift available back over it, so
    # that single crossing must recharge exactly once, whatever the interleaving.
    results = await asyncio.gather(*(_debit(contended_sessions, ws, 20, f"r-{i}") for i in range(25)))
    recharges = [r.auto_recharge for r in results if isinstance(r, LedgerResult) and r.auto_recharge]
    assert len(recharges) == 1
    async with unit_of_work(contended_sessions) as session:
        state = await ledger_state(session, ws)
        count = (
            await session.execute(
                text("SELECT count(*) FROM credit_transactions WHERE workspace_id = :ws AND type = 'auto_recharge'"),
                {"ws": ws},
            )
        ).scalar_one()
    assert count == 1
    succeeded = sum(isinstance(r, LedgerResult) for r in results)
    assert succeeded == (505 + 10) // 20 and state["balance"] == 515 - 20 * succeeded
    assert_consistent(state)


async def test_repeated_crossings_under_concurrency_match_a_serial_run(
    contended_sessions: Sessions, new_workspace: NewWorkspace
) -> None:
    ws = await new_workspace()
    await _fund(contended_sessions, ws, 1000)
    async with unit_of_work(contended_sessions) as session:
        await CreditService(session).configure_auto_recharge(ws, enabled=True, threshold=500, amount=100)
    await asyncio.gather(*(_debit(contended_sessions, ws, 3, f"x-{i}") for i in range(300)))

    # Equal debits make the sequence of balances independent of the order: simulate it.
    available, armed, expected_recharges = 1000, True, 0
    for _ in range(300):
        available -= 3
        if available >= 500:
            armed = True
        elif armed:
            available += 100
            expected_recharges += 1
            armed = available >= 500
    async with unit_of_work(contended_sessions) as session:
        state = await ledger_state(session, ws)
        count = (
            await session.execute(
                text("SELECT count(*) FROM credit_transactions WHERE workspace_id = :ws AND type = 'auto_recharge'"),
                {"ws": ws},
            )
        ).scalar_one()
    assert expected_recharges >= 2
    assert count == expected_recharges and state["balance"] == available
    assert_consistent(state)
