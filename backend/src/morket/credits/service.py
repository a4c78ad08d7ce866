"""The credit ledger: add, reserve, debit, refund, release, and auto-recharge.

Every operation takes the workspace's account row with SELECT ... FOR UPDATE, checks its
idempotency key only after that (so two concurrent calls with one key apply once), appends an
immutable ledger row and updates the account's totals in the same transaction. The service
flushes; the caller's unit of work commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from morket.analytics.capture import AnalyticsCapture
from morket.core.errors import BadRequest, Conflict, NotFound, PaymentRequired
from morket.credits.repository import CreditRepository
from morket.credits.schemas import (
    MAX_AMOUNT,
    MAX_BALANCE,
    MAX_IDEMPOTENCY_KEY,
    AccountOut,
    AutoRecharge,
    CreditTransactionOut,
    LedgerResult,
)
from morket.models import CreditAccount, CreditTransaction, CreditTransactionType

T = CreditTransactionType
_ADDABLE = frozenset({T.PURCHASE, T.ADJUSTMENT})
_NO_DEBIT = uuid.UUID(int=0)


class InsufficientCredits(PaymentRequired):
    code = "insufficient_credits"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class CellAlreadyDebited(Conflict):
    code = "cell_already_debited"


@dataclass(frozen=True)
class DebitRequest:
    amount: int
    idempotency_key: str
    record_id: uuid.UUID | None = None
    description: str | None = None
    # The enriched field paid for: with job and record, a cell the ledger debits at most once.
    field: str | None = None


@dataclass(frozen=True)
class BatchDebitResult:
    applied: int
    replayed: int
    amount: int


@dataclass(frozen=True)
class Page:
    items: list[CreditTransactionOut]
    total: int


def _tx_out(row: CreditTransaction) -> CreditTransactionOut:
    return CreditTransactionOut.model_validate(row)


def _account_out(account: CreditAccount | None) -> AccountOut:
    if account is None:
        return AccountOut(
            balance=0, reserved=0, available=0, auto_recharge=AutoRecharge(enabled=False, threshold=0, amount=0)
        )
    return AccountOut(
        balance=account.balance,
        reserved=account.reserved,
        available=account.available,
        auto_recharge=AutoRecharge(
            enabled=account.auto_recharge_enabled,
            threshold=account.auto_recharge_threshold,
            amount=account.auto_recharge_amount,
        ),
    )


def _check_amount(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0 or amount > MAX_AMOUNT:
        raise BadRequest(f"amount must be a whole number of credits from 1 to {MAX_AMOUNT}.", code="invalid_amount")
    return amount


def _check_key(key: str | None, *, required: bool = False) -> str | None:
    if key is None:
        if required:
            raise BadRequest("An idempotency key is required.", code="invalid_idempotency_key")
        return None
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
        raise BadRequest(
            f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.", code="invalid_idempotency_key"
        )
    return key


class CreditService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = CreditRepository(session)

    # -- reads -------------------------------------------------------------------------------

    async def account(self, workspace_id: uuid.UUID) -> AccountOut:
        """Balance, reserved, available and auto-recharge settings (zeros before the first change)."""
        row = await self.repo.read_account(workspace_id)
        if row is None:
            return _account_out(None)
        return AccountOut(
            balance=row.balance,
            reserved=row.reserved,
            available=row.balance - row.reserved,
            auto_recharge=AutoRecharge(
                enabled=row.auto_recharge_enabled,
                threshold=row.auto_recharge_threshold,
                amount=row.auto_recharge_amount,
            ),
        )

    async def transactions(self, workspace_id: uuid.UUID, page: int, limit: int) -> Page:
        rows, total = await self.repo.page(workspace_id, (page - 1) * limit, limit)
        return Page(items=[_tx_out(r) for r in rows], total=total)

    # -- operations ----------------------------------------------------------------------------

    async def add(
        self,
        workspace_id: uuid.UUID,
        amount: int,
        description: str | None,
        *,
        type: CreditTransactionType | str = T.PURCHASE,
        idempotency_key: str | None = None,
        created_by: uuid.UUID | None = None,
    ) -> LedgerResult:
        """Add credits (a purchase or a positive adjustment) to the balance."""
        kind = T(type) if type in T._value2member_map_ else None
        if kind not in _ADDABLE:
            raise BadRequest("add() records purchases and adjustments only.", code="invalid_transaction_type")
        assert kind is not None
        _check_amount(amount)
        _check_key(idempotency_key)
        account = await self._lock(workspace_id)
        if idempotency_key is not None and (first := await self.repo.by_idempotency_key(workspace_id, idempotency_key)):
            self._same_request(first, kind, amount=amount)
            return self._replay(first, account)
        row = await self._append(
            account,
            kind,
            amount=amount,
            description=description,
            idempotency_key=idempotency_key,
            created_by=created_by,
        )
        return self._result(row, account)

    async def reserve(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID, amount: int, idempotency_key: str | None = None
    ) -> LedgerResult:
        """Hold `amount` of the available credits for a job (available -> reserved); 402 if short."""
        if job_id is None:
            raise BadRequest("A reservation belongs to a job: job_id is required.", code="job_required")
        _check_amount(amount)
        _check_key(idempotency_key)
        account = await self._lock(workspace_id)
        if idempotency_key is not None and (first := await self.repo.by_idempotency_key(workspace_id, idempotency_key)):
            self._same_request(first, T.RESERVATION, reserved_delta=amount, refs=(job_id, None))
            return self._replay(first, account)
        if amount > account.available:
            raise self._short(amount, account.available, "reserve")
        row = await self._append(
            account,
            T.RESERVATION,
            reserved_delta=amount,
            job_id=job_id,
            description=f"Reserved for job {job_id}",
            idempotency_key=idempotency_key,
        )
        await self.repo.change_held(workspace_id, job_id, amount)
        # Holding credits is not spending: a reservation never recharges (see docs/credits.md).
        return self._result(row, account)

    async def debit(
        self,
        workspace_id: uuid.UUID,
        amount: int,
        idempotency_key: str,
        *,
        job_id: uuid.UUID | None = None,
        record_id: uuid.UUID | None = None,
        description: str | None = None,
    ) -> LedgerResult:
        """Spend credits: first from the job's open reservation, the rest from the available balance."""
        _check_amount(amount)
        _check_key(idempotency_key, required=True)
        account = await self._lock(workspace_id)
        if first := await self.repo.by_idempotency_key(workspace_id, idempotency_key):
            self._same_request(first, T.DEBIT, amount=-amount, refs=(job_id, record_id))
            return self._replay(first, account)
        held = await self.repo.reserved_for_job(workspace_id, job_id) if job_id is not None else 0
        from_reservation = min(amount, max(held, 0))
        if amount - from_reservation > account.available:
            raise self._short(amount, account.available + from_reservation, "debit")
        row = await self._append(
            account,
            T.DEBIT,
            amount=-amount,
            reserved_delta=-from_reservation,
            job_id=job_id,
            record_id=record_id,
            description=description,
            idempotency_key=idempotency_key,
        )
        if from_reservation and job_id is not None:
            await self.repo.change_held(workspace_id, job_id, -from_reservation)
        recharge = await self._auto_recharge(account)
        return self._result(row, account, recharge)

    async def debit_many(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID | None, debits: Sequence[DebitRequest]
    ) -> BatchDebitResult:
        """Many debits under one lock: what `debit` does for each, in order, in one round of SQL.

        The enrichment engine writes a batch of records with their debits in one transaction;
        taking the account lock once per batch instead of once per debit is what lets a job
        debit thousands of times per second. Repeated keys are replayed exactly as `debit` does;
        if any debit would overdraw, nothing of the batch is applied (402).
        """
        for item in debits:
            _check_amount(item.amount)
            _check_key(item.idempotency_key, required=True)
        if len({d.idempotency_key for d in debits}) != len(debits):
            raise BadRequest("Each debit of a batch needs its own idempotency key.", code="duplicate_idempotency_key")
        if not debits:
            return BatchDebitResult(applied=0, replayed=0, amount=0)
        account = await self._lock(workspace_id)
        existing = await self.repo.by_idempotency_keys(workspace_id, [d.idempotency_key for d in debits])
        cells = (
            await self.repo.debited_cells(job_id, [(d.record_id, d.field) for d in debits if d.field and d.record_id])
            if job_id is not None
            else {}
        )
        held = await self.repo.reserved_for_job(workspace_id, job_id) if job_id is not None else 0
        rows: list[CreditTransaction] = []
        replayed = spent = from_held_total = 0
        balance, reserved = account.balance, account.reserved
        for item in debits:
            if (first := existing.get(item.idempotency_key)) is not None:
                self._same_request(first, T.DEBIT, amount=-item.amount, refs=(job_id, item.record_id))
                replayed += 1
                continue
            if job_id is not None and item.field and item.record_id is not None:
                cell = (item.record_id, item.field)
                if cells.get(cell, item.idempotency_key) != item.idempotency_key:
                    raise CellAlreadyDebited(
                        f"Field {item.field!r} of record {item.record_id} is already paid for.",
                        details={"record_id": str(item.record_id), "field": item.field},
                    )
                cells[cell] = item.idempotency_key
            from_held = min(item.amount, held)
            if item.amount - from_held > balance - reserved:
                raise self._short(item.amount, balance - reserved + from_held, "debit")
            held -= from_held
            from_held_total += from_held
            balance -= item.amount
            reserved -= from_held
            spent += item.amount
            rows.append(
                CreditTransaction(
                    id=uuid.uuid4(),
                    workspace_id=workspace_id,
                    type=T.DEBIT,
                    amount=-item.amount,
                    reserved_delta=-from_held,
                    balance_after=balance,
                    reserved_after=reserved,
                    description=item.description,
                    idempotency_key=item.idempotency_key,
                    job_id=job_id,
                    record_id=item.record_id,
                    field=item.field if job_id is not None and item.record_id is not None else None,
                )
            )
        if rows:
            account.balance, account.reserved = balance, reserved
            if account.balance >= account.auto_recharge_threshold:
                account.auto_recharge_armed = True
            await self.repo.add_transactions(rows)
            await AnalyticsCapture(self.session).ledger_rows([r.id for r in rows])
            if from_held_total and job_id is not None:
                await self.repo.change_held(workspace_id, job_id, -from_held_total)
            await self._auto_recharge(account)
        return BatchDebitResult(applied=len(rows), replayed=replayed, amount=spent)

    async def refund(
        self,
        workspace_id: uuid.UUID,
        debit_idempotency_key: str,
        *,
        amount: int | None = None,
        idempotency_key: str | None = None,
        description: str | None = None,
    ) -> LedgerResult:
        """Give back a debit, whole (default) or in part, to the available balance.

        The refund's own key defaults to "refund:<debit key>", so refunding a debit twice refunds
        it once; pass distinct keys for several partial refunds of one debit.
        """
        _check_key(debit_idempotency_key, required=True)
        if amount is not None:
            _check_amount(amount)
        key = _check_key(idempotency_key) or f"refund:{debit_idempotency_key}"
        account = await self._lock(workspace_id)
        debit = await self.repo.by_idempotency_key(workspace_id, debit_idempotency_key)
        if debit is not None and debit.type != T.DEBIT:
            debit = None
        if first := await self.repo.by_idempotency_key(workspace_id, key):
            # The key was used to refund another debit, or the named debit is gone: not a repeat.
            self._same_request(first, T.REFUND, amount=amount, refund_of=debit.id if debit else _NO_DEBIT)
            return self._replay(first, account)
        if debit is None:
            raise NotFound("No debit with this idempotency key in this workspace.", code="debit_not_found")
        refundable = -debit.amount - await self.repo.refunded_for(debit.id)
        value = refundable if amount is None else amount
        if value <= 0 or value > refundable:
            raise Conflict(
                f"Only {refundable} credits of this debit can still be refunded.",
                code="refund_exceeds_debit",
                details={"refundable": refundable},
            )
        row = await self._append(
            account,
            T.REFUND,
            amount=value,
            job_id=debit.job_id,
            record_id=debit.record_id,
            refund_of=debit.id,
            description=description,
            idempotency_key=key,
        )
        return self._result(row, account)

    async def release(self, workspace_id: uuid.UUID, job_id: uuid.UUID) -> LedgerResult:
        """Return what is left of a job's reservation to the available balance (a no-op if nothing is)."""
        account = await self._lock(workspace_id)
        held = await self.repo.reserved_for_job(workspace_id, job_id)
        if held <= 0:
            return self._result(None, account)
        row = await self._append(
            account, T.RELEASE, reserved_delta=-held, job_id=job_id, description=f"Released for job {job_id}"
        )
        await self.repo.change_held(workspace_id, job_id, -held)
        return self._result(row, account)

    async def configure_auto_recharge(
        self, workspace_id: uuid.UUID, *, enabled: bool, threshold: int, amount: int
    ) -> AccountOut:
        account = await self._lock(workspace_id)
        account.auto_recharge_enabled = enabled
        account.auto_recharge_threshold = threshold
        account.auto_recharge_amount = amount
        account.auto_recharge_armed = True
        await self.session.flush()
        return _account_out(account)

    # -- internals -----------------------------------------------------------------------------

    async def _lock(self, workspace_id: uuid.UUID) -> CreditAccount:
        account = await self.repo.lock_account(workspace_id)
        if account is None:
            await self.repo.create_account_if_missing(workspace_id)
            account = await self.repo.lock_account(workspace_id)
            if account is None:
                raise NotFound("Workspace not found.")
        return account

    async def _append(
        self,
        account: CreditAccount,
        kind: CreditTransactionType,
        *,
        amount: int = 0,
        reserved_delta: int = 0,
        description: str | None = None,
        idempotency_key: str | None = None,
        job_id: uuid.UUID | None = None,
        record_id: uuid.UUID | None = None,
        refund_of: uuid.UUID | None = None,
        created_by: uuid.UUID | None = None,
    ) -> CreditTransaction:
        balance = account.balance + amount
        reserved = account.reserved + reserved_delta
        if balance > MAX_BALANCE:
            raise Conflict(f"A balance cannot exceed {MAX_BALANCE} credits.", code="balance_limit")
        # The callers checked these; the CHECK constraints would refuse them anyway.
        assert 0 <= reserved <= balance
        account.balance = balance
        account.reserved = reserved
        if account.balance >= account.auto_recharge_threshold:
            # At or above the threshold again: the next drop below it is a new crossing.
            account.auto_recharge_armed = True
        row = CreditTransaction(
            id=uuid.uuid4(),
            workspace_id=account.workspace_id,
            type=kind,
            amount=amount,
            reserved_delta=reserved_delta,
            balance_after=balance,
            reserved_after=reserved,
            description=description,
            idempotency_key=idempotency_key,
            job_id=job_id,
            record_id=record_id,
            refund_of=refund_of,
            created_by=created_by,
        )
        await self.repo.add_transaction(row)
        await AnalyticsCapture(self.session).ledger_rows([row.id])
        return row

    async def _auto_recharge(self, account: CreditAccount) -> CreditTransaction | None:
        """After a debit: recharge once per crossing of the threshold by the balance.

        Only spending recharges. The balance is what was bought minus what was spent; reserving
        and releasing move `available` but not the balance, so holding credits can neither
        trigger a recharge nor re-arm one. The account row is locked, so concurrent debits see
        each other's recharge; `armed` stays false until the balance climbs back to the threshold,
        so one crossing never recharges twice even when the recharge was too small to lift it.
        """
        if not account.auto_recharge_enabled or account.balance >= account.auto_recharge_threshold:
            return None
        if not account.auto_recharge_armed or account.auto_recharge_amount <= 0:
            return None
        if account.balance + account.auto_recharge_amount > MAX_BALANCE:
            return None
        row = await self._append(
            account,
            T.AUTO_RECHARGE,
            amount=account.auto_recharge_amount,
            description=f"Auto-recharge below {account.auto_recharge_threshold} credits",
        )
        account.auto_recharge_armed = account.balance >= account.auto_recharge_threshold
        await self.session.flush()
        return row

    @staticmethod
    def _short(required: int, available: int, verb: str) -> InsufficientCredits:
        return InsufficientCredits(
            f"Not enough credits to {verb} {required}: {available} available.",
            details={"required": required, "available": available},
        )

    @staticmethod
    def _same_request(
        first: CreditTransaction,
        kind: CreditTransactionType,
        *,
        amount: int | None = None,
        reserved_delta: int | None = None,
        refs: tuple[uuid.UUID | None, uuid.UUID | None] | None = None,
        refund_of: uuid.UUID | None = None,
    ) -> None:
        """A repeated key must repeat the request; the same key for something else is a 409."""
        same = (
            first.type == kind
            and (amount is None or first.amount == amount)
            and (reserved_delta is None or first.reserved_delta == reserved_delta)
            and (refs is None or (first.job_id, first.record_id) == refs)
            and (refund_of is None or first.refund_of == refund_of)
        )
        if not same:
            raise IdempotencyKeyReused(
                "This idempotency key was already used for a different operation.",
                details={"transaction_id": str(first.id), "type": first.type.value},
            )

    @staticmethod
    def _replay(first: CreditTransaction, account: CreditAccount) -> LedgerResult:
        return LedgerResult(
            transaction=_tx_out(first),
            balance=account.balance,
            reserved=account.reserved,
            available=account.available,
            replayed=True,
        )

    @staticmethod
    def _result(
        row: CreditTransaction | None, account: CreditAccount, recharge: CreditTransaction | None = None
    ) -> LedgerResult:
        return LedgerResult(
            transaction=_tx_out(row) if row is not None else None,
            balance=account.balance,
            reserved=account.reserved,
            available=account.available,
            auto_recharge=_tx_out(recharge) if recharge is not None else None,
        )
