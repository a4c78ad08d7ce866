"""Stateful property test of the ledger: random add/reserve/debit/debit_many/refund/release
sequences with repeated idempotency keys, checked against a model and against the database after
every step.

Examples are kept small (few steps, one statement per check) so that shrinking a failure takes
seconds, not the minutes it took with 40 steps and several queries per step."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.core.errors import AppError, BadRequest, Conflict, NotFound, PaymentRequired
from morket.credits.schemas import LedgerResult
from morket.credits.service import BatchDebitResult, CreditService, DebitRequest
from tests.credits.conftest import insert_workspace, ledger_state_or_none

R = TypeVar("R")

KEYS = st.sampled_from([f"k{i}" for i in range(6)])
JOBS = st.sampled_from([uuid.UUID(int=i) for i in range(1, 4)])
AMOUNTS = st.integers(min_value=1, max_value=60)
ADD_AMOUNTS = st.integers(min_value=1, max_value=100)
DEBIT_AMOUNTS = st.integers(min_value=1, max_value=50)
# Debits (and the refunds that name them) mostly use keys of their own, sometimes the shared pool.
DEBIT_KEYS = st.sampled_from([f"d{i}" for i in range(5)]) | KEYS
# Refunds get a pool of their own (mostly) so partial refunds of one debit meet each other.
REFUND_KEYS = st.none() | st.sampled_from(["r0", "r1", "r2"]) | KEYS
RECORDS = st.none() | st.sampled_from([uuid.UUID(int=100 + i) for i in range(2)])
# A batch of the engine's debits: distinct keys (the service refuses duplicates with a 400).
BATCHES = st.lists(
    st.tuples(DEBIT_AMOUNTS, DEBIT_KEYS, RECORDS), min_size=1, max_size=4, unique_by=lambda item: item[1]
)


_ARGUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "amount": st.integers(1, 60),
    "key": KEYS,
    "job": st.none() | JOBS,
    "debit_key": DEBIT_KEYS,
    "own_key": REFUND_KEYS,
    "items": BATCHES,
}


@dataclass
class Applied:
    """What the first use of an idempotency key did, as the model remembers it."""

    type: str
    amount: int = 0
    reserved_delta: int = 0
    job: uuid.UUID | None = None
    record: uuid.UUID | None = None
    refund_of: str | None = None
    transaction_id: uuid.UUID | None = None


@dataclass
class Model:
    balance: int = 0
    reserved: int = 0
    rows: int = 0
    job_reserved: dict[uuid.UUID, int] = field(default_factory=dict)
    keys: dict[str, Applied] = field(default_factory=dict)
    refunded: dict[str, int] = field(default_factory=dict)
    enabled: bool = False
    threshold: int = 0
    recharge: int = 0
    armed: bool = True

    @property
    def available(self) -> int:
        return self.balance - self.reserved

    def append(self, amount: int = 0, reserved_delta: int = 0) -> None:
        self.balance += amount
        self.reserved += reserved_delta
        self.rows += 1
        if self.balance >= self.threshold:
            self.armed = True

    def after_debit(self) -> bool:
        """Only spending recharges, once per crossing of the threshold by the balance."""
        if not self.enabled or self.balance >= self.threshold or not self.armed or self.recharge <= 0:
            return False
        self.append(amount=self.recharge)
        self.armed = self.balance >= self.threshold
        return True

    def copy(self) -> Model:
        return Model(
            self.balance,
            self.reserved,
            self.rows,
            dict(self.job_reserved),
            dict(self.keys),
            dict(self.refunded),
            self.enabled,
            self.threshold,
            self.recharge,
            self.armed,
        )


class _Runtime:
    """An event loop and an engine of the test's own: hypothesis drives the machine synchronously."""

    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    def run(self, coro: Awaitable[R]) -> R:
        return self.loop.run_until_complete(coro)


RUNTIME = _Runtime()


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        # Every call made, so `repeat` can send one again exactly as a retrying client would.
        self.history: list[tuple[Callable[..., None], dict[str, Any]]] = []
        # A fresh workspace per example: the database state of each example starts empty.
        self.ws = RUNTIME.run(self._new_workspace())

    @staticmethod
    async def _new_workspace() -> uuid.UUID:
        async with unit_of_work(RUNTIME.sessions) as session:
            return await insert_workspace(session)

    def call(self, op: Callable[[CreditService], Awaitable[LedgerResult]]) -> LedgerResult | AppError:
        async def go() -> LedgerResult | AppError:
            try:
                async with unit_of_work(RUNTIME.sessions) as session:
                    return await op(CreditService(session))
            except AppError as exc:
                return exc

        return RUNTIME.run(go())

    def expect_replay(self, result: LedgerResult | AppError, key: str) -> None:
        assert isinstance(result, LedgerResult), result
        assert result.replayed and result.transaction is not None
        assert result.transaction.id == self.model.keys[key].transaction_id

    def expect_applied(self, result: LedgerResult | AppError, key: str | None, applied: Applied) -> None:
        assert isinstance(result, LedgerResult), result
        assert not result.replayed and result.transaction is not None
        if key is not None:
            applied.transaction_id = result.transaction.id
            self.model.keys[key] = applied

    def check_balances(self, result: LedgerResult | AppError) -> None:
        if isinstance(result, LedgerResult):
            assert (result.balance, result.reserved) == (self.model.balance, self.model.reserved)

    @precondition(lambda self: bool(self.history))
    @rule(data=st.data())
    def repeat(self, data: st.DataObject) -> None:
        method, kwargs = data.draw(st.sampled_from(self.history))
        method(**kwargs)

    @precondition(lambda self: bool(self.history))
    @rule(data=st.data())
    def repeat_changed(self, data: st.DataObject) -> None:
        """A key sent again with one argument changed: must be refused, never applied."""
        method, kwargs = data.draw(st.sampled_from(self.history))
        name = data.draw(st.sampled_from(sorted(kwargs)))
        method(**{**kwargs, name: data.draw(_ARGUMENTS[name])})

    @rule(amount=ADD_AMOUNTS, key=st.none() | KEYS)
    def add(self, amount: int, key: str | None) -> None:
        self.history.append((self.add, {"amount": amount, "key": key}))
        result = self.call(lambda c: c.add(self.ws, amount, "property", idempotency_key=key))
        first = self.model.keys.get(key) if key else None
        if key and first:
            if first.type == "purchase" and first.amount == amount:
                self.expect_replay(result, key)
            else:
                assert isinstance(result, Conflict), result
        else:
            self.model.append(amount=amount)
            self.expect_applied(result, key, Applied("purchase", amount=amount))
        self.check_balances(result)

    @rule(job=JOBS, amount=AMOUNTS, key=st.none() | KEYS)
    def reserve(self, job: uuid.UUID, amount: int, key: str | None) -> None:
        self.history.append((self.reserve, {"job": job, "amount": amount, "key": key}))
        result = self.call(lambda c: c.reserve(self.ws, job, amount, idempotency_key=key))
        first = self.model.keys.get(key) if key else None
        if job is None:
            # Only a changed repeat sends no job: a reservation without one is refused outright.
            assert isinstance(result, BadRequest), result
        elif key and first:
            if first.type == "reservation" and first.reserved_delta == amount and first.job == job:
                self.expect_replay(result, key)
            else:
                assert isinstance(result, Conflict), result
        elif amount > self.model.available:
            assert isinstance(result, PaymentRequired), result
            assert result.details == {"required": amount, "available": self.model.available}
        else:
            self.model.append(reserved_delta=amount)
            self.model.job_reserved[job] = self.model.job_reserved.get(job, 0) + amount
            self.expect_applied(result, key, Applied("reservation", reserved_delta=amount, job=job))
            # Holding credits never recharges.
            assert isinstance(result, LedgerResult) and result.auto_recharge is None
        self.check_balances(result)

    @rule(amount=DEBIT_AMOUNTS, key=DEBIT_KEYS, job=st.none() | JOBS)
    def debit(self, amount: int, key: str, job: uuid.UUID | None) -> None:
        self.history.append((self.debit, {"amount": amount, "key": key, "job": job}))
        result = self.call(lambda c: c.debit(self.ws, amount, key, job_id=job))
        first = self.model.keys.get(key)
        held = self.model.job_reserved.get(job, 0) if job else 0
        from_reservation = min(amount, held)
        if first:
            if first.type == "debit" and first.amount == -amount and first.job == job and first.record is None:
                self.expect_replay(result, key)
            else:
                assert isinstance(result, Conflict), result
        elif amount - from_reservation > self.model.available:
            assert isinstance(result, PaymentRequired), result
        else:
            self.model.append(amount=-amount, reserved_delta=-from_reservation)
            if job:
                self.model.job_reserved[job] = held - from_reservation
            self.model.refunded[key] = 0
            recharged = self.model.after_debit()
            self.expect_applied(result, key, Applied("debit", amount=-amount, job=job))
            assert isinstance(result, LedgerResult) and (result.auto_recharge is not None) == recharged
        self.check_balances(result)

    @rule(items=BATCHES, job=st.none() | JOBS)
    def debit_many(self, items: list[tuple[int, str, uuid.UUID | None]], job: uuid.UUID | None) -> None:
        """The engine's path: all of the batch or none of it, replays as `debit` does, one recharge."""
        self.history.append((self.debit_many, {"items": items, "job": job}))
        requests = [DebitRequest(amount, key, record_id=record) for amount, key, record in items]

        async def go() -> BatchDebitResult | AppError:
            try:
                async with unit_of_work(RUNTIME.sessions) as session:
                    return await CreditService(session).debit_many(self.ws, job, requests)
            except AppError as exc:
                return exc

        result = RUNTIME.run(go())
        model = self.model.copy()
        applied: list[tuple[str, Applied]] = []
        expected: type[AppError] | None = None
        replayed = 0
        for amount, key, record in items:
            first = model.keys.get(key)
            if first is not None:
                if first.type == "debit" and first.amount == -amount and (first.job, first.record) == (job, record):
                    replayed += 1
                    continue
                expected = Conflict
                break
            held = model.job_reserved.get(job, 0) if job else 0
            from_reservation = min(amount, held)
            if amount - from_reservation > model.available:
                expected = PaymentRequired
                break
            model.balance -= amount
            model.reserved -= from_reservation
            model.rows += 1
            if job:
                model.job_reserved[job] = held - from_reservation
            model.refunded[key] = 0
            entry = Applied("debit", amount=-amount, job=job, record=record)
            model.keys[key] = entry
            applied.append((key, entry))
        if expected is not None:
            assert isinstance(result, expected), result
            return
        assert isinstance(result, BatchDebitResult), result
        assert (result.applied, result.replayed) == (len(applied), replayed)
        if applied:
            if model.balance >= model.threshold:
                model.armed = True
            model.after_debit()
        self.model = model
        if applied:
            # The transaction ids of a batch are not returned: read them back for later replays.
            async def ids() -> dict[str, uuid.UUID]:
                async with unit_of_work(RUNTIME.sessions) as session:
                    rows = await session.execute(
                        text(
                            "SELECT idempotency_key, id FROM credit_transactions"
                            " WHERE workspace_id = :ws AND idempotency_key = ANY(:keys)"
                        ),
                        {"ws": self.ws, "keys": [k for k, _ in applied]},
                    )
                    return {k: i for k, i in rows.all()}

            found = RUNTIME.run(ids())
            for key, entry in applied:
                entry.transaction_id = found[key]

    @precondition(lambda self: bool(self.model.refunded))
    @rule(data=st.data(), amount=st.none() | st.integers(1, 25), own_key=REFUND_KEYS)
    def refund_a_debit(self, data: st.DataObject, amount: int | None, own_key: str | None) -> None:
        self.refund(data.draw(st.sampled_from(sorted(self.model.refunded))), amount, own_key)

    @rule(debit_key=DEBIT_KEYS, amount=st.none() | st.integers(1, 25), own_key=REFUND_KEYS)
    def refund(self, debit_key: str, amount: int | None, own_key: str | None) -> None:
        self.history.append((self.refund, {"debit_key": debit_key, "amount": amount, "own_key": own_key}))
        result = self.call(lambda c: c.refund(self.ws, debit_key, amount=amount, idempotency_key=own_key))
        key = own_key or f"refund:{debit_key}"
        debit = self.model.keys.get(debit_key)
        if debit is not None and debit.type != "debit":
            debit = None
        first = self.model.keys.get(key)
        if first:
            same = (
                first.type == "refund"
                and (amount is None or first.amount == amount)
                and debit is not None
                and first.refund_of == debit_key
            )
            if same:
                self.expect_replay(result, key)
            else:
                assert isinstance(result, Conflict), result
        elif debit is None:
            assert isinstance(result, NotFound), result
        else:
            refundable = -debit.amount - self.model.refunded[debit_key]
            value = refundable if amount is None else amount
            if value <= 0 or value > refundable:
                assert isinstance(result, Conflict) and result.code == "refund_exceeds_debit", result
            else:
                self.model.append(amount=value)
                self.model.refunded[debit_key] += value
                self.expect_applied(result, key, Applied("refund", amount=value, refund_of=debit_key))
        self.check_balances(result)

    @rule(job=JOBS)
    def release(self, job: uuid.UUID) -> None:
        result = self.call(lambda c: c.release(self.ws, job))
        held = self.model.job_reserved.get(job, 0)
        assert isinstance(result, LedgerResult), result
        if held > 0:
            self.model.append(reserved_delta=-held)
            self.model.job_reserved[job] = 0
            assert result.transaction is not None and result.transaction.reserved_delta == -held
        else:
            assert result.transaction is None
        self.check_balances(result)

    @initialize(
        funds=st.integers(0, 300), enabled=st.booleans(), threshold=st.integers(0, 200), amount=st.integers(0, 80)
    )
    def start(self, funds: int, enabled: bool, threshold: int, amount: int) -> None:
        if funds:
            self.add(funds, None)
        self.configure(enabled, threshold, amount)

    @rule(enabled=st.booleans(), threshold=st.integers(0, 200), amount=st.integers(0, 80))
    def configure(self, enabled: bool, threshold: int, amount: int) -> None:
        async def go() -> None:
            async with unit_of_work(RUNTIME.sessions) as session:
                await CreditService(session).configure_auto_recharge(
                    self.ws, enabled=enabled, threshold=threshold, amount=amount
                )

        RUNTIME.run(go())
        self.model.enabled, self.model.threshold, self.model.recharge = enabled, threshold, amount
        self.model.armed = True

    @invariant()
    def database_matches_model_and_ledger(self) -> None:
        async def read() -> tuple[dict[str, int] | None, dict[str, int]]:
            async with unit_of_work(RUNTIME.sessions) as session:
                state = await ledger_state_or_none(session, self.ws)
                keys = (
                    await session.execute(
                        text(
                            "SELECT idempotency_key, count(*) FROM credit_transactions "
                            "WHERE workspace_id = :ws AND idempotency_key IS NOT NULL GROUP BY idempotency_key"
                        ),
                        {"ws": self.ws},
                    )
                ).all()
                return state, {k: n for k, n in keys}

        state, keys = RUNTIME.run(read())
        if state is None:
            assert self.model.rows == 0
            return
        assert state["balance"] == state["amount_sum"] == self.model.balance
        assert state["reserved"] == state["reserved_sum"] == self.model.reserved
        assert 0 <= state["reserved"] <= state["balance"]
        assert state["rows"] == self.model.rows
        assert state["held_mismatches"] == 0
        # Each key applied exactly once, and only the keys the model applied.
        assert keys == dict.fromkeys(self.model.keys, 1)


@pytest.mark.usefixtures("clean_db")
def test_ledger_state_machine(database_url: str) -> None:
    RUNTIME.loop = asyncio.new_event_loop()
    RUNTIME.engine = make_engine(database_url, pool_size=2)
    RUNTIME.sessions = make_sessionmaker(RUNTIME.engine)
    try:
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=40,
                # Short sequences: every step is a transaction and a check against the database, and
                # a shrink replays the sequence hundreds of times (40 steps took minutes to shrink).
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
                database=None,
                # Shrink the first bug found, not every distinct one (each costs as much again).
                report_multiple_bugs=False,
            ),
        )
    finally:
        RUNTIME.run(RUNTIME.engine.dispose())
        RUNTIME.loop.close()
