"""Every SQL statement of the credit ledger."""

from __future__ import annotations

import uuid

from sqlalchemy import Row, bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import CreditAccount, CreditReservation, CreditTransaction, CreditTransactionType, Workspace

_ACCOUNTS = CreditAccount.__table__.c
# The read of GET /billing: Core columns, built once (no ORM instance; nothing here is written).
_READ_ACCOUNT = select(
    _ACCOUNTS.balance,
    _ACCOUNTS.reserved,
    _ACCOUNTS.auto_recharge_enabled,
    _ACCOUNTS.auto_recharge_threshold,
    _ACCOUNTS.auto_recharge_amount,
).where(_ACCOUNTS.workspace_id == bindparam("ws"))


class CreditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def account(self, workspace_id: uuid.UUID) -> CreditAccount | None:
        stmt = (
            select(CreditAccount)
            .where(CreditAccount.workspace_id == workspace_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def read_account(self, workspace_id: uuid.UUID) -> Row[int, int, bool, int, int] | None:
        """Balance, reserved and the auto-recharge settings, read-only (None before the first change)."""
        return (await self.session.execute(_READ_ACCOUNT, {"ws": workspace_id})).one_or_none()

    async def lock_account(self, workspace_id: uuid.UUID) -> CreditAccount | None:
        """The account row under FOR UPDATE: every ledger change of a workspace queues here."""
        stmt = (
            select(CreditAccount)
            .where(CreditAccount.workspace_id == workspace_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def create_account_if_missing(self, workspace_id: uuid.UUID) -> None:
        # INSERT ... SELECT from workspaces: nothing happens (and no FK error aborts the
        # transaction) when the workspace does not exist.
        source = select(Workspace.id, literal(0), literal(0)).where(Workspace.id == workspace_id)
        stmt = (
            insert(CreditAccount)
            .from_select(["workspace_id", "balance", "reserved"], source)
            .on_conflict_do_nothing(index_elements=[CreditAccount.workspace_id])
        )
        await self.session.execute(stmt)

    async def by_idempotency_key(self, workspace_id: uuid.UUID, key: str) -> CreditTransaction | None:
        stmt = select(CreditTransaction).where(
            CreditTransaction.workspace_id == workspace_id, CreditTransaction.idempotency_key == key
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def reserved_for_job(self, workspace_id: uuid.UUID, job_id: uuid.UUID) -> int:
        """Credits still held for the job (callers hold the account lock)."""
        stmt = select(CreditReservation.held).where(
            CreditReservation.workspace_id == workspace_id, CreditReservation.job_id == job_id
        )
        return int((await self.session.execute(stmt)).scalar_one_or_none() or 0)

    async def change_held(self, workspace_id: uuid.UUID, job_id: uuid.UUID, delta: int) -> None:
        if delta < 0:
            # PostgreSQL checks CHECK constraints on the proposed row before ON CONFLICT, so a
            # negative upsert would fail even when the row exists; a decrease is a plain UPDATE.
            await self.session.execute(
                update(CreditReservation)
                .where(CreditReservation.workspace_id == workspace_id, CreditReservation.job_id == job_id)
                .values(held=CreditReservation.held + delta, updated_at=func.now())
            )
            return
        stmt = insert(CreditReservation).values(workspace_id=workspace_id, job_id=job_id, held=delta)
        stmt = stmt.on_conflict_do_update(
            index_elements=[CreditReservation.workspace_id, CreditReservation.job_id],
            set_={"held": CreditReservation.held + delta, "updated_at": func.now()},
        )
        await self.session.execute(stmt)

    async def by_idempotency_keys(self, workspace_id: uuid.UUID, keys: list[str]) -> dict[str, CreditTransaction]:
        stmt = select(CreditTransaction).where(
            CreditTransaction.workspace_id == workspace_id, CreditTransaction.idempotency_key.in_(keys)
        )
        return {row.idempotency_key: row for row in (await self.session.execute(stmt)).scalars() if row.idempotency_key}

    async def debited_cells(
        self, job_id: uuid.UUID, cells: list[tuple[uuid.UUID | None, str | None]]
    ) -> dict[tuple[uuid.UUID, str], str]:
        """Which of the job's (record, field) cells are already debited, and under which key."""
        records = [r for r, f in cells if r is not None and f]
        if not records:
            return {}
        stmt = select(CreditTransaction.record_id, CreditTransaction.field, CreditTransaction.idempotency_key).where(
            CreditTransaction.job_id == job_id,
            CreditTransaction.type == CreditTransactionType.DEBIT,
            CreditTransaction.record_id.in_(records),
            CreditTransaction.field.is_not(None),
        )
        return {
            (record, field): key or ""
            for record, field, key in (await self.session.execute(stmt)).all()
            if record is not None and field is not None
        }

    async def add_transactions(self, rows: list[CreditTransaction]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def refunded_for(self, debit_id: uuid.UUID) -> int:
        stmt = select(func.coalesce(func.sum(CreditTransaction.amount), 0)).where(
            CreditTransaction.refund_of == debit_id, CreditTransaction.type == CreditTransactionType.REFUND
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def add_transaction(self, row: CreditTransaction) -> None:
        self.session.add(row)
        await self.session.flush()

    async def page(self, workspace_id: uuid.UUID, offset: int, limit: int) -> tuple[list[CreditTransaction], int]:
        total_stmt = select(func.count()).where(CreditTransaction.workspace_id == workspace_id)
        total = int((await self.session.execute(total_stmt)).scalar_one())
        stmt = (
            select(CreditTransaction)
            .where(CreditTransaction.workspace_id == workspace_id)
            .order_by(CreditTransaction.seq.desc())
            .offset(offset)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars()), total

    async def ledger_sums(self, workspace_id: uuid.UUID) -> tuple[int, int]:
        """(sum of amount, sum of reserved_delta): what balance and reserved must equal."""
        stmt = select(
            func.coalesce(func.sum(CreditTransaction.amount), 0),
            func.coalesce(func.sum(CreditTransaction.reserved_delta), 0),
        ).where(CreditTransaction.workspace_id == workspace_id)
        amount, reserved = (await self.session.execute(stmt)).one()
        return int(amount), int(reserved)
