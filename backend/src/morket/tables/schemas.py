"""Request and response shapes of the tables API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from morket.models import CellSource, ColumnKind, ColumnType

MAX_ROWS_PER_CALL = 50_000
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class ColumnCreate(BaseModel):
    name: Name
    type: ColumnType
    kind: ColumnKind = ColumnKind.DATA
    hidden: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)


class ColumnUpdate(BaseModel):
    name: Name | None = None
    type: ColumnType | None = None
    hidden: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    options: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class ColumnOrder(BaseModel):
    column_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class ColumnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    table_id: uuid.UUID
    name: str
    type: ColumnType
    kind: ColumnKind
    position: int
    hidden: bool
    options: dict[str, Any]
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TypeChangeReport(BaseModel):
    """Cells that did not convert to the new type: kept as their original text, flagged invalid."""

    not_converted: int
    samples: list[dict[str, Any]]


class TableCreate(BaseModel):
    name: Name
    auto_run: bool = Field(default=True, description="Off: no column of the table auto-runs.")
    columns: list[ColumnCreate] = Field(default_factory=list, max_length=500)


class TableUpdate(BaseModel):
    """A rename, the table's auto-run switch, or both; at least one."""

    name: Name | None = None
    auto_run: bool | None = Field(
        default=None, description="Off: no column of the table auto-runs (columns keep their own switch)."
    )

    @model_validator(mode="after")
    def _something(self) -> TableUpdate:
        if self.name is None and self.auto_run is None:
            raise ValueError("Give name, auto_run or both.")
        return self


class TableOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    row_count: int
    auto_run: bool = True
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    purge_after: datetime | None = None
    columns: list[ColumnOut] | None = None


class RowOut(BaseModel):
    """A row: its cells by column id; `invalid` holds text that did not fit the column's type."""

    id: int
    version: int
    cells: dict[str, Any]
    invalid: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class RowsCreate(BaseModel):
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ROWS_PER_CALL)


class RowPatch(BaseModel):
    id: int = Field(ge=1, le=2**62)
    cells: dict[str, Any] = Field(min_length=1)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class RowsUpdate(BaseModel):
    rows: list[RowPatch] = Field(min_length=1, max_length=MAX_ROWS_PER_CALL)


class RowsDelete(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=MAX_ROWS_PER_CALL)


class RowsWritten(BaseModel):
    count: int
    ids: list[int]
    versions: list[int] | None = Field(
        default=None,
        description="PATCH only: versions[i] is the version of row ids[i] after the write "
        "(unchanged rows keep theirs); send it with the next patch of that row.",
    )


class CellWrite(BaseModel):
    value: Any = None
    version: int = Field(ge=1, le=2**31 - 1)


class CellHistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    row_id: int
    column_id: uuid.UUID
    old_value: Any
    new_value: Any
    source: CellSource
    actor_id: uuid.UUID | None
    created_at: datetime


class EventToken(BaseModel):
    token: str
    expires_at: datetime


class Deleted(BaseModel):
    id: uuid.UUID
    deleted: bool = True
