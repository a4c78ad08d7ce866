"""Request and response models of the enrichment API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from morket.enrichment.result import FieldStatus
from morket.models import JobStatus, RecordStatus

MAX_FIELDS = 20
MAX_WATERFALL = 10


class EnrichmentOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Reserved for per-job knobs; kept strict so a typo is a 422, not a silently ignored option.
    label: str | None = Field(default=None, max_length=200)


class EnrichmentJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] = Field(min_length=1)
    fields: list[str] = Field(min_length=1, max_length=MAX_FIELDS)
    waterfall: dict[str, list[str]] | None = None
    options: EnrichmentOptions | None = None
    table_id: uuid.UUID | None = Field(
        default=None,
        description="The table the records go into (columns matched by name, missing ones created); "
        "none: a new table named after the job.",
    )


class JobCounts(BaseModel):
    total: int
    pending: int
    completed: int
    failed: int
    cancelled: int


class JobCredits(BaseModel):
    estimated: int
    reserved: int
    spent: int
    settled: bool


class EnrichmentJobOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    status: JobStatus
    fields: list[str]
    waterfall: dict[str, list[str]]
    options: dict[str, Any]
    record_count: int
    batch_count: int
    counts: JobCounts
    progress: float
    credits: JobCredits
    workflow_id: str
    table_id: uuid.UUID | None = Field(default=None, description="The table holding the job's rows and results.")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None


class FieldResult(BaseModel):
    """A field's result (`enrichment.result.FieldOutcome`, read from the cell and its provenance)."""

    model_config = ConfigDict(from_attributes=True)

    status: FieldStatus
    value: Any = None
    provider: str | None = None
    cost: int = 0
    cached: bool = False


class EnrichmentRecordOut(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    seq: int
    batch_no: int
    status: RecordStatus
    input: dict[str, Any]
    output: dict[str, Any] | None
    results: dict[str, FieldResult] | None
    credits_spent: int
    error: str | None
    finished_at: datetime | None
    row_id: int | None = Field(default=None, description="The record's row in the job's table.")


class AttemptOut(BaseModel):
    field: str
    provider: str
    outcome: str
    cost: int
    cached: bool
    raw: Any
    error: str | None
    duration_ms: int
    created_at: datetime


class EnrichmentRecordDetail(EnrichmentRecordOut):
    attempts: list[AttemptOut]
