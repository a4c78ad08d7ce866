"""Requests, tasks, jobs and results: the scraper's pydantic models and enums."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class TargetType(StrEnum):
    COMPANY = "company"
    JOBS = "jobs"
    PERSON = "person"


class FetchMode(StrEnum):
    """AUTO: plain HTTP, Chromium when the page needs it. BROWSER: always Chromium. HTTP: never."""

    AUTO = "auto"
    HTTP = "http"
    BROWSER = "browser"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class JobStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """What a finished task found: data, a page without data, or why there is no page."""

    SUCCESS = "success"
    NO_DATA = "no_data"
    REFUSED = "refused"  # SSRF rules, robots.txt, a download
    BLOCKED = "blocked"  # circuit open for the domain
    ERROR = "error"


class ScrapeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    target_type: TargetType = TargetType.COMPANY
    mode: FetchMode = FetchMode.AUTO
    priority: int = Field(default=0, ge=-100, le=100)
    workspace_id: uuid.UUID | None = None
    webhook_url: HttpUrl | None = None
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200)
    # Follow contact/about links of a company site for emails, phones and social links.
    follow_links: bool = True


class BatchTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    target_type: TargetType = TargetType.COMPANY
    mode: FetchMode = FetchMode.AUTO


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[BatchTarget] = Field(min_length=1, max_length=100)
    priority: int = Field(default=0, ge=-100, le=100)
    workspace_id: uuid.UUID | None = None
    webhook_url: HttpUrl | None = None
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200)
    follow_links: bool = True


class FieldValue(BaseModel):
    """One extracted value with where and when it was seen."""

    value: Any
    source_url: str
    fetched_at: datetime


class ScrapeResult(BaseModel):
    outcome: Outcome
    url: str
    final_url: str | None = None
    target_type: TargetType
    fetched_with: FetchMode | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    error: str | None = None
    error_code: str | None = None

    def values(self) -> dict[str, Any]:
        return {name: field.value for name, field in self.fields.items()}


class TaskOut(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID | None
    url: str
    target_type: TargetType
    status: TaskStatus
    priority: int
    attempts: int
    result: ScrapeResult | None = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobProgress(BaseModel):
    total: int
    queued: int
    running: int
    completed: int
    failed: int
    cancelled: int

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.cancelled


class JobOut(BaseModel):
    id: uuid.UUID
    status: JobStatus
    progress: JobProgress
    created_at: datetime
    finished_at: datetime | None = None
