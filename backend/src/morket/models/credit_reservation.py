from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, text
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import updated_at


class CreditReservation(Base):
    """What is still held for one job: the ledger's reserved_delta summed per job, kept up to date.

    A projection, not a source of truth: it changes only in the transaction that appends the
    ledger row it mirrors, under the account lock, so a debit or release reads one row instead of
    summing every ledger row of the job (which made a 100k-record job quadratic).
    """

    __tablename__ = "credit_reservations"
    __table_args__ = (CheckConstraint("held >= 0", name="held_nonnegative"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credit_accounts.workspace_id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    held: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
    updated_at: Mapped[datetime] = updated_at()
