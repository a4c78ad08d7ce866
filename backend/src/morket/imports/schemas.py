"""Request and response models of the import API."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from morket.imports.pipeline import ProblemCode
from morket.imports.reader import DELIMITERS, FileFormat
from morket.models import ColumnType, ImportStatus
from morket.tables.dedupe import Normalization

MAX_MAPPED_COLUMNS = 500
ColumnName = Annotated[str, Field(min_length=1, max_length=200)]


class PreviewOptions(BaseModel):
    """Overrides of what was detected; anything left out is detected again."""

    model_config = ConfigDict(extra="forbid")

    encoding: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    delimiter: str | None = Field(default=None, min_length=1, max_length=2)
    has_header: bool | None = None
    sheet: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _known_delimiter(self) -> Self:
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise ValueError("delimiter must be one of ',', ';', tab, '|'")
        return self


class PreviewColumnOut(BaseModel):
    index: int
    name: str
    type: ColumnType


class ProblemOut(BaseModel):
    code: ProblemCode
    message: str
    line: int | None = None


class PreviewOut(BaseModel):
    format: FileFormat
    encoding: str | None
    delimiter: str | None
    has_header: bool
    sheet: str | None
    sheets: list[str]
    columns: list[PreviewColumnOut]
    sample_rows: list[list[str]]
    scanned_rows: int
    problems: list[ProblemOut]


class ImportTargetMode(enum.StrEnum):
    NEW_TABLE = "new_table"
    EXISTING_TABLE = "existing_table"


class ColumnMapping(BaseModel):
    """One source column into a table column: a new one (name and type) or an existing one (id)."""

    model_config = ConfigDict(extra="forbid")

    source: int = Field(ge=0, le=10_000, description="index of the source column in the preview")
    name: ColumnName | None = None
    type: ColumnType | None = None
    column_id: uuid.UUID | None = None


class ImportDedupe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_columns: list[int] = Field(default_factory=list, max_length=10, description="source column indexes")
    normalization: Normalization = Normalization.AUTO
    fuzzy_column: int | None = Field(default=None, ge=0, le=10_000)
    threshold: float = Field(default=90.0, ge=50.0, le=100.0)

    @model_validator(mode="after")
    def _something_to_match(self) -> Self:
        if not self.key_columns and self.fuzzy_column is None:
            raise ValueError("give key_columns, a fuzzy_column, or both")
        return self


class ImportCommit(BaseModel):
    """Where the rows go and how: a new table or an existing one, an upsert key, dedupe."""

    model_config = ConfigDict(extra="forbid")

    mode: ImportTargetMode
    table_name: ColumnName | None = None
    table_id: uuid.UUID | None = None
    # Columns not listed are not imported. Left out entirely: every column, as previewed.
    mapping: list[ColumnMapping] | None = Field(default=None, max_length=MAX_MAPPED_COLUMNS)
    # Upsert: a source column index whose value finds the existing row to update.
    key_column: int | None = Field(default=None, ge=0, le=10_000)
    dedupe: ImportDedupe | None = None
    options: PreviewOptions | None = None

    @model_validator(mode="after")
    def _target(self) -> Self:
        if self.mode is ImportTargetMode.NEW_TABLE and self.table_id is not None:
            raise ValueError("a new table takes table_name, not table_id")
        if self.mode is ImportTargetMode.EXISTING_TABLE and self.table_id is None:
            raise ValueError("an import into an existing table needs table_id")
        return self


class ImportProgress(BaseModel):
    bytes_read: int
    size_bytes: int
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_rejected: int
    rows_merged: int
    fraction: float


class ImportOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    filename: str
    size_bytes: int
    status: ImportStatus
    preview: PreviewOut | None
    plan: dict[str, Any] | None
    table_id: uuid.UUID | None
    progress: ImportProgress
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RejectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line: int
    reason: str
    message: str
    raw: str
