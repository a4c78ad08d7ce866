"""What a computing column would show, before it is saved: a formula's values, or an AI
column's rendered prompts, on the first rows of the table (docs/columns.md, "Preview").

A read: nothing is written and no provider is called. The config is validated exactly as
column creation validates it (a formula's syntax error is the same 422 with its position).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.columns import ai
from morket.columns.formula import CompiledFormula, parse
from morket.columns.kinds import KindContext, validate_column_config
from morket.columns.repository import ColumnsRepository
from morket.columns.schemas import PreviewRow, ValuesPreview, ValuesPreviewRequest
from morket.models import ColumnKind
from morket.tables.service import TableService


def _json_value(value: Any) -> Any:
    """A formula's result as JSON (dates as ISO text, decimals as numbers)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    return value


class ColumnPreviewService:
    def __init__(self, session: AsyncSession) -> None:
        self.tables = TableService(session)
        self.repo = ColumnsRepository(session)

    async def preview(self, workspace_id: uuid.UUID, table_id: uuid.UUID, body: ValuesPreviewRequest) -> ValuesPreview:
        columns = await self.tables.columns(workspace_id, table_id)
        kind = ColumnKind(body.kind)
        stored = validate_column_config(kind, body.config, KindContext(table_id, columns, None))
        if kind is ColumnKind.FORMULA:
            names = {name: uuid.UUID(c) for name, c in stored["refs"].items()}
            formula = CompiledFormula(stored["expression"], parse(stored["expression"]), names)
            read = [c for c in columns if c.id in set(names.values())]
            rows = await self.repo.first_rows(table_id, columns, read, body.limit)
            out = []
            for row_id, values in rows:
                value, error = formula.run(values)
                out.append(PreviewRow(row_id=row_id, value=_json_value(value), error=error))
            return ValuesPreview(rows=out)
        parts, refs = stored["parts"], ai.refs_of(stored)
        read = [c for c in columns if c.id in set(refs)]
        rows = await self.repo.first_rows(table_id, columns, read, body.limit)
        return ValuesPreview(
            rows=[
                PreviewRow(row_id=row_id, value=prompt, error=error)
                for row_id, values in rows
                for prompt, error in [ai.preview_value(parts, refs, values)]
            ]
        )
