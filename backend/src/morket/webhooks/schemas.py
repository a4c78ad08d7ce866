"""Request and response models of the webhook API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WebhookEvent = Literal["job.completed", "job.failed", "job.cancelled"]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048, examples=["https://example.com/hooks/morket"])
    events: list[WebhookEvent] = Field(min_length=1)


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreated(WebhookOut):
    # Shown once, at creation: the receiver needs it to check X-Morket-Signature.
    secret: str


class DeliveryOut(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID | None
    job_id: uuid.UUID | None
    event: str
    url: str
    status: str
    attempt_count: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class Deleted(BaseModel):
    id: uuid.UUID
