from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, text
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at


class CreditAccount(Base):
    """One row per workspace: the lock every ledger operation takes, and the running totals.

    `balance` is every credit owned (reserved ones included); `reserved` is held for running jobs;
    available = balance - reserved. Both always equal the sums of the ledger's columns.
    """

    __tablename__ = "credit_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_nonnegative"),
        CheckConstraint("reserved >= 0", name="reserved_nonnegative"),
        CheckConstraint("reserved <= balance", name="available_nonnegative"),
        CheckConstraint("auto_recharge_threshold >= 0 AND auto_recharge_amount >= 0", name="auto_recharge_nonnegative"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    reserved: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    auto_recharge_enabled: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    auto_recharge_threshold: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    auto_recharge_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    # False between an auto-recharge and the moment available climbs back to the threshold, so one
    # crossing recharges once.
    auto_recharge_armed: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    @property
    def available(self) -> int:
        return self.balance - self.reserved
