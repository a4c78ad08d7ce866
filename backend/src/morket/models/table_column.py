from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from morket.core.db import Base
from morket.models._common import created_at, updated_at, uuid_pk


class ColumnType(enum.StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    CURRENCY = "currency"
    PERCENT = "percent"
    CHECKBOX = "checkbox"
    DATE = "date"
    DATETIME = "datetime"
    URL = "url"
    EMAIL = "email"
    PHONE = "phone"
    SINGLE_SELECT = "single_select"
    MULTI_SELECT = "multi_select"
    JSON = "json"


class ColumnKind(enum.StrEnum):
    """Where a column's values come from. `data` is typed in by users or imported; the others compute."""

    DATA = "data"
    ENRICHMENT = "enrichment"
    FORMULA = "formula"
    AI = "ai"
    LOOKUP = "lookup"
    HTTP = "http"


def _str_enum(enum_class: type[enum.StrEnum]) -> Enum:
    # Stored as VARCHAR(32) (adding a type or kind needs no migration), loaded as the enum.
    return Enum(enum_class, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class TableColumn(Base):
    __tablename__ = "table_columns"
    __table_args__ = (Index("ix_table_columns_table_id_position", "table_id", "position"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    table_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_tables.id", ondelete="CASCADE"), nullable=False)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[ColumnType] = mapped_column(_str_enum(ColumnType), nullable=False)
    kind: Mapped[ColumnKind] = mapped_column(_str_enum(ColumnKind), nullable=False, default=ColumnKind.DATA)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Type options (select choices, currency code) and the kind's configuration (waterfall, formula...).
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    @property
    def physical_name(self) -> str:
        return physical_column_name(self.id)


def physical_column_name(column_id: uuid.UUID) -> str:
    return f"c_{column_id.hex}"
