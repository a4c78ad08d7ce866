"""Request and response models of table export and dedupe."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from morket.tables.dedupe import Normalization
from morket.tables.export import ExportFormat
from morket.tables.query import RowView
from morket.tables.schemas import RowOut


class ExportRequest(BaseModel):
    """The view to export (filter, sort, quick search) and the file format."""

    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = ExportFormat.CSV
    view: RowView | None = None
    # Hidden columns are left out unless asked for.
    include_hidden: bool = False


class DedupeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_column_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    normalization: Normalization = Normalization.AUTO
    fuzzy_column_id: uuid.UUID | None = None
    threshold: float = Field(default=90.0, ge=50.0, le=100.0)


class DedupePreviewRequest(DedupeRequest):
    groups_limit: int = Field(default=50, ge=1, le=500)


class DedupeMergeRequest(DedupeRequest):
    # Merge only the groups whose oldest row is one of these; all groups when left out.
    keep_ids: list[int] | None = Field(default=None, max_length=10_000)


class DuplicateGroup(BaseModel):
    keep_id: int
    row_ids: list[int]
    rows: list[RowOut]


class DedupePreview(BaseModel):
    group_count: int
    duplicate_rows: int  # rows a merge would remove
    groups: list[DuplicateGroup]


class DedupeResult(BaseModel):
    groups_merged: int
    rows_merged: int
