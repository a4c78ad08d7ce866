"""Auto-recharge follows real spending, and `debit_many` keeps every promise `debit` makes.

Holding credits (reserve, release) must never recharge: a member who posts and cancels jobs would
otherwise mint credits charged to the owner's payment method.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import AppError
from morket.credits.service import CreditService, DebitRequest
from tests.credits.conftest import NewWorkspace, assert_consistent, ledger_state

Sessions = async_sessionmaker[AsyncSession]


async def _recharges(session: AsyncSession, ws: uuid.UUID) -> int:
    stmt = text("SELECT count(*) FROM credit_transactions WHERE workspace_id = :ws AND type = 'auto_recharge'")
    return int((await session.execute(stmt, {"ws": ws})).scalar_one())


async def _funded(sessions: Sessions, new_workspace: NewWorkspace, funds: int = 100) -> uuid.UUID:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        await credits.add(ws, funds, "funds")
        await credits.configure_auto_recharge(ws, enabled=True, threshold=100, amount=1_000)
    return ws


async def test_reserve_release_cycles_never_recharge(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await _funded(sessions, new_workspace)
    for _ in range(5):
        job = uuid.uuid4()
        async with unit_of_work(sessions) as s:
            held = await CreditService(s).reserve(ws, job, 95)
        assert held.auto_recharge is None
        async with unit_of_work(sessions) as s:
            await CreditService(s).release(ws, job)
    async with unit_of_work(sessions) as s:
        account = await CreditService(s).account(ws)
        assert await _recharges(s, ws) == 0
        assert_consistent(await ledger_state(s, ws))
    assert (account.balance, account.reserved) == (100, 0)


async def test_debits_crossing_recharge_once_and_holding_does_not_rearm(
    sessions: Sessions, new_workspace: NewWorkspace
) -> None:
    ws = await _funded(sessions, new_workspace, funds=150)
    job = uuid.uuid4()
    async with unit_of_work(sessions) as s:
        await CreditService(s).reserve(ws, job, 140)
    # Real spending through the engine's path: balance 150 -> 90 crosses 100 once.
    batch = [DebitRequest(20, f"{job}:r{i}:email", record_id=uuid.uuid4()) for i in range(3)]
    async with unit_of_work(sessions) as s:
        result = await CreditService(s).debit_many(ws, job, batch)
    assert (result.applied, result.amount) == (3, 60)
    async with unit_of_work(sessions) as s:
        assert await _recharges(s, ws) == 1
        await CreditService(s).release(ws, job)
    # Holding and letting go of nearly everything afterwards is not spending.
    for _ in range(3):
        other = uuid.uuid4()
        async with unit_of_work(sessions) as s:
            await CreditService(s).reserve(ws, other, 1_000)
        async with unit_of_work(sessions) as s:
            await CreditService(s).release(ws, other)
    async with unit_of_work(sessions) as s:
        account = await CreditService(s).account(ws)
        assert await _recharges(s, ws) == 1
        assert_consistent(await ledger_state(s, ws))
    assert (account.balance, account.reserved) == (150 - 60 + 1_000, 0)


async def test_debit_many_below_threshold_recharges(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await _funded(sessions, new_workspace, funds=105)
    async with unit_of_work(sessions) as s:
        await CreditService(s).debit_many(ws, None, [DebitRequest(10, "spend", record_id=None)])
    async with unit_of_work(sessions) as s:
        account = await CreditService(s).account(ws)
        rows = (
            await s.execute(
                text("SELECT type, amount FROM credit_transactions WHERE workspace_id = :ws ORDER BY seq"),
                {"ws": ws},
            )
        ).all()
    assert [(str(t), a) for t, a in rows][-2:] == [("debit", -10), ("auto_recharge", 1_000)]
    assert account.balance == 1_095


@pytest.mark.parametrize("change", ["amount", "record", "job"])
async def test_debit_many_reused_key_with_other_arguments_is_409(
    sessions: Sessions, new_workspace: NewWorkspace, change: str
) -> None:
    ws, job, record = await new_workspace(), uuid.uuid4(), uuid.uuid4()
    async with unit_of_work(sessions) as s:
        await CreditService(s).add(ws, 100, "funds")
        await CreditService(s).debit_many(ws, job, [DebitRequest(5, "cell", record_id=record)])
        before = await ledger_state(s, ws)
    again = DebitRequest(
        6 if change == "amount" else 5, "cell", record_id=uuid.uuid4() if change == "record" else record
    )
    with pytest.raises(AppError) as err:
        async with unit_of_work(sessions) as s:
            await CreditService(s).debit_many(ws, uuid.uuid4() if change == "job" else job, [again])
    assert err.value.status_code == 409 and err.value.code == "idempotency_key_reused"
    async with unit_of_work(sessions) as s:
        after = await ledger_state(s, ws)
    assert after == before
