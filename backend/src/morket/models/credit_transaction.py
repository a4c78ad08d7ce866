from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, Identity, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, uuid_pk


class CreditTransactionType(enum.StrEnum):
    PURCHASE = "purchase"
    DEBIT = "debit"
    REFUND = "refund"
    RESERVATION = "reservation"
    RELEASE = "release"
    AUTO_RECHARGE = "auto_recharge"
    ADJUSTMENT = "adjustment"


_AMOUNT_MATCHES_TYPE = (
    "(type IN ('purchase', 'refund', 'auto_recharge') AND amount > 0 AND reserved_delta = 0)"
    " OR (type = 'debit' AND amount < 0 AND reserved_delta <= 0 AND reserved_delta >= amount)"
    " OR (type = 'reservation' AND amount = 0 AND reserved_delta > 0)"
    " OR (type = 'release' AND amount = 0 AND reserved_delta < 0)"
    " OR (type = 'adjustment' AND amount <> 0 AND reserved_delta = 0)"
)


class CreditTransaction(Base):
    """One immutable ledger row (a trigger refuses UPDATE and DELETE).

    `amount` is the signed change of the balance, `reserved_delta` the signed change of the
    reserved credits; `*_after` are the account's totals right after this row.
    No foreign key to the workspace: the ledger is kept when a workspace is deleted.
    """

    __tablename__ = "credit_transactions"
    __table_args__ = (
        CheckConstraint(
            "balance_after >= 0 AND reserved_after >= 0 AND reserved_after <= balance_after",
            name="balances_nonnegative",
        ),
        CheckConstraint(_AMOUNT_MATCHES_TYPE, name="amount_matches_type"),
        Index("ix_credit_transactions_workspace_id_seq", "workspace_id", "seq"),
        Index(
            "uq_credit_transactions_workspace_id_idempotency_key",
            "workspace_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index(
            "ix_credit_transactions_workspace_id_job_id",
            "workspace_id",
            "job_id",
            postgresql_where=text("job_id IS NOT NULL"),
        ),
        Index("ix_credit_transactions_refund_of", "refund_of", postgresql_where=text("refund_of IS NOT NULL")),
        # Exactly-once per enrichment cell, whatever the idempotency key (two providers of one
        # field would have two keys): the ledger refuses a second debit of a (job, record, field).
        Index(
            "uq_credit_transactions_debit_cell",
            "job_id",
            "record_id",
            "field",
            unique=True,
            postgresql_where=text("type = 'debit' AND field IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Total order of the ledger (several rows can share one created_at inside a transaction).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True, nullable=False)
    workspace_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    type: Mapped[CreditTransactionType] = mapped_column(
        Enum(CreditTransactionType, name="credit_transaction_type", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reserved_delta: Mapped[int] = mapped_column(BigInteger, nullable=False)
    balance_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reserved_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    description: Mapped[str | None] = mapped_column(String(500))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    job_id: Mapped[uuid.UUID | None] = mapped_column()
    record_id: Mapped[uuid.UUID | None] = mapped_column()
    # The enriched field a debit pays for (enrichment debits only).
    field: Mapped[str | None] = mapped_column(String(100))
    refund_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credit_transactions.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = created_at()
