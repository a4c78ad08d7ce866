"""The ledger operations other modules call, against the real database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import AppError, BadRequest, Conflict, NotFound, PaymentRequired
from morket.credits.service import CreditService
from morket.models import CreditTransactionType as T
from tests.credits.conftest import NewWorkspace, assert_consistent, ledger_state

Sessions = async_sessionmaker[AsyncSession]


async def test_add_reserve_debit_release(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws, job = await new_workspace(), uuid.uuid4()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        added = await credits.add(ws, 1000, "Starter pack")
        assert added.transaction is not None and added.transaction.type == T.PURCHASE
        assert (added.balance, added.reserved, added.available) == (1000, 0, 1000)

        reserved = await credits.reserve(ws, job, 300, idempotency_key="job-1-reserve")
        assert (reserved.balance, reserved.reserved, reserved.available) == (1000, 300, 700)

        # 120 from the reservation...
        first = await credits.debit(ws, 120, "rec-1", job_id=job, record_id=uuid.uuid4())
        assert first.transaction is not None
        assert (first.transaction.amount, first.transaction.reserved_delta) == (-120, -120)
        assert (first.balance, first.reserved, first.available) == (880, 180, 700)
        # ...then 180 from it and 20 from the free balance.
        second = await credits.debit(ws, 200, "rec-2", job_id=job)
        assert second.transaction is not None
        assert (second.transaction.amount, second.transaction.reserved_delta) == (-200, -180)
        assert (second.balance, second.reserved, second.available) == (680, 0, 680)

        nothing = await credits.release(ws, job)
        assert nothing.transaction is None and nothing.balance == 680

        other_job = uuid.uuid4()
        await credits.reserve(ws, other_job, 100)
        await credits.debit(ws, 30, "rec-3", job_id=other_job)
        released = await credits.release(ws, other_job)
        assert released.transaction is not None and released.transaction.reserved_delta == -70
        assert (released.balance, released.reserved, released.available) == (650, 0, 650)
        assert_consistent(await ledger_state(s, ws))
        account = await credits.account(ws)
        assert (account.balance, account.reserved, account.available) == (650, 0, 650)


async def test_debit_without_job_uses_free_balance_only(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws, job = await new_workspace(), uuid.uuid4()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        await credits.add(ws, 100, "pack")
        await credits.reserve(ws, job, 80)
        with pytest.raises(PaymentRequired) as excinfo:
            await credits.debit(ws, 30, "free-1")
        assert excinfo.value.status_code == 402
        assert excinfo.value.details == {"required": 30, "available": 20}
        assert "20 available" in excinfo.value.message
        ok = await credits.debit(ws, 20, "free-2")
        assert (ok.balance, ok.reserved, ok.available) == (80, 80, 0)


async def test_insufficient_credits_change_nothing(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        await CreditService(s).add(ws, 50, "pack")
    attempts: list[Callable[[CreditService], Awaitable[object]]] = [
        lambda c: c.reserve(ws, uuid.uuid4(), 51),
        lambda c: c.debit(ws, 51, "too-much"),
    ]
    for attempt in attempts:
        with pytest.raises(PaymentRequired) as excinfo:
            async with unit_of_work(sessions) as s:
                await attempt(CreditService(s))
        assert excinfo.value.details == {"required": 51, "available": 50}
    async with unit_of_work(sessions) as s:
        state = await ledger_state(s, ws)
        assert state["balance"] == 50 and state["rows"] == 1
        # The failed debit's key was not consumed.
        assert (await CreditService(s).debit(ws, 50, "too-much")).balance == 0


async def test_repeated_idempotency_keys_apply_once(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws, job = await new_workspace(), uuid.uuid4()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        first_add = await credits.add(ws, 500, "pack", idempotency_key="order-1")
        again_add = await credits.add(ws, 500, "pack", idempotency_key="order-1")
        assert again_add.replayed and not first_add.replayed
        assert again_add.transaction == first_add.transaction and again_add.balance == 500

        r1 = await credits.reserve(ws, job, 100, idempotency_key="res-1")
        r2 = await credits.reserve(ws, job, 100, idempotency_key="res-1")
        assert r2.replayed and r2.transaction == r1.transaction and r2.reserved == 100

        d1 = await credits.debit(ws, 40, "debit-1", job_id=job)
        d2 = await credits.debit(ws, 40, "debit-1", job_id=job)
        assert d2.replayed and d2.transaction == d1.transaction
        assert (d2.balance, d2.reserved) == (460, 60)

        f1 = await credits.refund(ws, "debit-1")
        f2 = await credits.refund(ws, "debit-1")
        assert f2.replayed and f2.transaction == f1.transaction and f2.balance == 500

        # One key, another operation: refused, nothing changes.
        for reuse in (
            credits.add(ws, 501, "pack", idempotency_key="order-1"),
            credits.debit(ws, 40, "order-1"),
            credits.debit(ws, 41, "debit-1", job_id=job),
            credits.debit(ws, 40, "debit-1"),
            credits.reserve(ws, uuid.uuid4(), 100, idempotency_key="res-1"),
        ):
            with pytest.raises(Conflict) as excinfo:
                await reuse
            assert excinfo.value.code == "idempotency_key_reused"
        state = await ledger_state(s, ws)
        assert state["rows"] == 4 and state["balance"] == 500
        assert_consistent(state)


async def test_refunds(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        await credits.add(ws, 100, "pack")
        record = uuid.uuid4()
        debit = await credits.debit(ws, 60, "d-1", record_id=record)
        part = await credits.refund(ws, "d-1", amount=10, idempotency_key="refund-a")
        assert part.transaction is not None and part.balance == 50
        assert part.transaction.refund_of == debit.transaction.id if debit.transaction else False
        assert part.transaction.record_id == record
        with pytest.raises(Conflict) as excinfo:
            await credits.refund(ws, "d-1", amount=51, idempotency_key="refund-b")
        assert excinfo.value.code == "refund_exceeds_debit" and excinfo.value.details == {"refundable": 50}
        rest = await credits.refund(ws, "d-1")
        assert rest.transaction is not None and rest.transaction.amount == 50 and rest.balance == 100
        with pytest.raises(Conflict):
            await credits.refund(ws, "d-1", idempotency_key="refund-c")
        with pytest.raises(NotFound):
            await credits.refund(ws, "no-such-debit")
        await credits.add(ws, 5, "x", idempotency_key="purchase-key")
        with pytest.raises(NotFound):
            await credits.refund(ws, "purchase-key")


async def test_other_workspace_keys_are_independent(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    a, b = await new_workspace(), await new_workspace()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        await credits.add(a, 100, "pack", idempotency_key="same")
        second = await credits.add(b, 100, "pack", idempotency_key="same")
        assert not second.replayed
        await credits.debit(a, 10, "d")
        with pytest.raises(NotFound):
            await credits.refund(b, "d")


@pytest.mark.parametrize("amount", [0, -1, 1_000_000_001, 10**30, True, 1.5, "5"])
async def test_bad_amounts_are_400(sessions: Sessions, new_workspace: NewWorkspace, amount: object) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        for call in (
            credits.add(ws, amount, "x"),  # type: ignore[arg-type]
            credits.reserve(ws, uuid.uuid4(), amount),  # type: ignore[arg-type]
            credits.debit(ws, amount, "k"),  # type: ignore[arg-type]
        ):
            with pytest.raises(BadRequest) as excinfo:
                await call
            assert excinfo.value.code == "invalid_amount"


async def test_bad_keys_and_types_are_400(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        for call in (
            credits.debit(ws, 1, ""),
            credits.debit(ws, 1, "k" * 194),
            credits.add(ws, 1, "x", idempotency_key="   "),
            credits.add(ws, 1, "x", type="refund"),
            credits.add(ws, 1, "x", type="debit"),
        ):
            with pytest.raises(BadRequest):
                await call
        with pytest.raises(BadRequest):
            await credits.add(ws, 1, "x", type="gift")
        adjusted = await credits.add(ws, 7, "goodwill", type="adjustment")
        assert adjusted.transaction is not None and adjusted.transaction.type == T.ADJUSTMENT
        # The longest key still leaves room for the derived "refund:<key>".
        longest = "k" * 193
        await credits.debit(ws, 1, longest)
        refunded = await credits.refund(ws, longest)
        assert refunded.transaction is not None and refunded.transaction.idempotency_key == "refund:" + longest


async def test_balance_limit(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        await s.execute(
            text("INSERT INTO credit_accounts (workspace_id, balance) VALUES (:ws, 999999999999999999)"), {"ws": ws}
        )
    with pytest.raises(Conflict) as excinfo:
        async with unit_of_work(sessions) as s:
            await CreditService(s).add(ws, 10, "too much")
    assert excinfo.value.code == "balance_limit"


async def test_unknown_workspace_is_404(sessions: Sessions, clean_db: None) -> None:
    async with unit_of_work(sessions) as s:
        with pytest.raises(NotFound):
            await CreditService(s).add(uuid.uuid4(), 10, "nobody")
        # The failed lookup did not abort the transaction.
        assert (await s.execute(text("SELECT 1"))).scalar_one() == 1


async def test_ledger_rows_are_immutable(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        await CreditService(s).add(ws, 10, "pack")
    for statement in (
        "UPDATE credit_transactions SET amount = 1000000",
        "UPDATE credit_transactions SET description = 'edited'",
        "DELETE FROM credit_transactions",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with unit_of_work(sessions) as s:
                await s.execute(text(statement))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE credit_accounts SET balance = -1",
        "UPDATE credit_accounts SET reserved = balance + 1",
        "UPDATE credit_accounts SET auto_recharge_amount = -5",
        "INSERT INTO credit_transactions (id, workspace_id, type, amount, reserved_delta, balance_after, "
        "reserved_after) VALUES (gen_random_uuid(), gen_random_uuid(), 'debit', 5, 0, 5, 0)",
        "INSERT INTO credit_transactions (id, workspace_id, type, amount, reserved_delta, balance_after, "
        "reserved_after) VALUES (gen_random_uuid(), gen_random_uuid(), 'purchase', 5, 0, -5, 0)",
    ],
)
async def test_database_refuses_impossible_states(
    sessions: Sessions, new_workspace: NewWorkspace, statement: str
) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        await CreditService(s).add(ws, 10, "pack")
    with pytest.raises(DBAPIError, match="check constraint"):
        async with unit_of_work(sessions) as s:
            await s.execute(text(statement))


async def test_workspace_deletion_keeps_the_ledger(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        await CreditService(s).add(ws, 10, "pack")
    async with unit_of_work(sessions) as s:
        await s.execute(text("DELETE FROM workspaces WHERE id = :ws"), {"ws": ws})
    async with unit_of_work(sessions) as s:
        accounts = (await s.execute(text("SELECT count(*) FROM credit_accounts"))).scalar_one()
        rows = (await s.execute(text("SELECT count(*) FROM credit_transactions"))).scalar_one()
    assert (accounts, rows) == (0, 1)


async def test_auto_recharge_once_per_crossing(sessions: Sessions, new_workspace: NewWorkspace) -> None:
    ws = await new_workspace()
    async with unit_of_work(sessions) as s:
        credits = CreditService(s)
        await credits.add(ws, 120, "pack")
        await credits.configure_auto_recharge(ws, enabled=True, threshold=100, amount=15)
        assert (await credits.debit(ws, 10, "a")).auto_recharge is None  # 110: above
        crossed = await credits.debit(ws, 20, "b")  # 90 -> +15 = 105
        assert crossed.auto_recharge is not None and crossed.auto_recharge.type == T.AUTO_RECHARGE
        assert crossed.auto_recharge.amount == 15 and crossed.available == 105
        # Back above the threshold, so the next drop is a new crossing; 15 does not lift it again.
        low = await credits.debit(ws, 30, "c")  # 75 -> +15 = 90, still below
        assert low.auto_recharge is not None and low.available == 90
        # A reservation is not spending: available 80, balance still 90, no recharge.
        still_low = await credits.reserve(ws, uuid.uuid4(), 10)
        assert still_low.auto_recharge is None and still_low.available == 80
        assert (await credits.debit(ws, 5, "d")).auto_recharge is None
        # Credits bought lift the balance over the threshold: armed again (balance 185 -> 95).
        await credits.add(ws, 100, "top-up")
        again = await credits.debit(ws, 90, "e")
        assert again.auto_recharge is not None
        await credits.configure_auto_recharge(ws, enabled=False, threshold=0, amount=0)
        assert (await credits.debit(ws, 50, "f")).auto_recharge is None
        rows = (
            await s.execute(
                text("SELECT count(*) FROM credit_transactions WHERE workspace_id = :ws AND type = 'auto_recharge'"),
                {"ws": ws},
            )
        ).scalar_one()
        assert rows == 3
        assert_consistent(await ledger_state(s, ws))


def test_errors_are_app_errors() -> None:
    from morket.credits.service import IdempotencyKeyReused, InsufficientCredits

    assert issubclass(InsufficientCredits, AppError) and InsufficientCredits.status_code == 402
    assert IdempotencyKeyReused.status_code == 409
