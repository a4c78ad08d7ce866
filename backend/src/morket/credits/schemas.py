from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from morket.models import CreditTransactionType

# One operation moves at most a billion credits; a balance stays far inside BIGINT.
MAX_AMOUNT = 1_000_000_000
MAX_BALANCE = 1_000_000_000_000_000
# 200 in the database; the 7 spare characters hold the "refund:" prefix of a derived refund key.
MAX_IDEMPOTENCY_KEY = 193

Amount = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT)]


class CreditTransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: CreditTransactionType
    # Signed change of the balance, and of the reserved credits.
    amount: int
    reserved_delta: int
    balance_after: int
    reserved_after: int
    description: str | None
    idempotency_key: str | None
    job_id: uuid.UUID | None
    record_id: uuid.UUID | None
    refund_of: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime


class AutoRecharge(BaseModel):
    enabled: bool
    threshold: int
    amount: int


class AccountOut(BaseModel):
    balance: int
    reserved: int
    available: int
    auto_recharge: AutoRecharge


class LedgerResult(BaseModel):
    """What one ledger operation did. A replayed idempotency key returns the first transaction
    (`replayed` true) with the account's current totals, and changes nothing."""

    transaction: CreditTransactionOut | None
    balance: int
    reserved: int
    available: int
    replayed: bool = False
    auto_recharge: CreditTransactionOut | None = None


class CreditsAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    description: str = Field(min_length=1, max_length=500)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY)

    @field_validator("description")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("description must not be blank")
        return value


class AutoRechargeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    threshold: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)] = 0
    amount: Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)] = 0

    @model_validator(mode="after")
    def _amount_when_enabled(self) -> AutoRechargeUpdate:
        if self.enabled and (self.amount < 1 or self.threshold < 1):
            raise ValueError("auto-recharge needs a threshold and an amount of at least 1 credit when enabled")
        return self


class BillingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_recharge: AutoRechargeUpdate
