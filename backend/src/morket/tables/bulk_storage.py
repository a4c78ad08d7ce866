"""The SQL of bulk import and export: COPY into a physical row table, COPY a view out as CSV.

Kept apart from `storage.py` (the grid's and the row service's SQL) so that the bulk paths can be
tuned without touching the statements every other path shares. Identifiers come from
`storage.qualified` and `TableColumn.physical_name` (our own uuids, checked before quoting); user
values only travel as bind parameters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import ColumnType, TableColumn, physical_table_name
from morket.tables.query import CompiledView
from morket.tables.storage import SCHEMA
from morket.tables.types import TEXT_LIKE

_NUMERIC = (ColumnType.NUMBER, ColumnType.CURRENCY, ColumnType.PERCENT)
# The first characters a spreadsheet program treats as a formula: = + - @ tab CR (code points).
_FORMULA_CODES = (61, 43, 45, 64, 9, 13)


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the session's transaction."""
    conn = await session.connection()
    # SQLAlchemy begins its transaction lazily; run one statement so raw ones join it.
    await conn.exec_driver_sql("SELECT 1")
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def copy_columns(
    session: AsyncSession,
    table_id: uuid.UUID,
    columns: Sequence[TableColumn],
    ids: Sequence[int],
    values: Sequence[Sequence[Any]],
    actor_id: uuid.UUID | None,
) -> None:
    """COPY new rows given column by column (`values[i]` is column `columns[i]` for every row)."""
    driver = await driver_connection(session)
    names = ["_id", "_created_by", "_updated_by", *(c.physical_name for c in columns)]
    encoded: list[Iterable[Any]] = []
    for column, column_values in zip(columns, values, strict=True):
        if column.type is ColumnType.JSON:
            encoded.append([None if v is None else json.dumps(v, separators=(",", ":")) for v in column_values])
        else:
            encoded.append(column_values)
    records = zip(ids, repeat(actor_id), repeat(actor_id), *encoded)
    await driver.copy_records_to_table(
        physical_table_name(table_id), schema_name=SCHEMA, columns=names, records=records
    )


def _escaped(expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Text with a leading apostrophe when it begins like a formula (CSV injection)."""
    return sa.case((sa.func.ascii(expr).in_(_FORMULA_CODES), sa.literal("'") + expr), else_=expr)


def export_expression(column: TableColumn, ref: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A stored cell as the export's CSV text, written as `morket.tables.export.cell_text` writes it
    for the API's rendering of the value (numbers without trailing zeros, ISO dates, UTC times)."""
    kind = column.type
    if kind in TEXT_LIKE:
        return _escaped(ref)
    if kind in _NUMERIC:
        return sa.cast(sa.func.trim_scale(ref), sa.Text)
    if kind is ColumnType.CHECKBOX:
        return sa.case((ref, sa.literal("true")), (sa.not_(ref), sa.literal("false")), else_=sa.null())
    if kind is ColumnType.DATE:
        return sa.func.to_char(ref, "YYYY-MM-DD")
    if kind is ColumnType.DATETIME:
        utc = sa.func.timezone("UTC", ref)
        fraction = sa.case(
            (sa.func.date_trunc("second", ref) == ref, sa.literal("")), else_=sa.func.to_char(utc, ".US")
        )
        return sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS') + fraction + sa.literal("+00:00")
    if kind is ColumnType.MULTI_SELECT:
        return _escaped(sa.func.array_to_string(ref, ", "))
    # JSON: a string as its text, null as an empty cell, numbers and booleans as they are, objects
    # and arrays as JSON text.
    typeof = sa.func.jsonb_typeof(ref)
    return sa.case(
        (typeof == "string", _escaped(ref.op("#>>")(sa.literal_column("'{}'::text[]")))),
        (typeof == "null", sa.null()),
        (typeof.in_(("number", "boolean")), sa.cast(ref, sa.Text)),
        else_=_escaped(sa.cast(ref, sa.Text)),
    )


async def copy_view_csv(
    session: AsyncSession,
    columns: Sequence[TableColumn],
    view: CompiledView,
    output: Callable[[bytes], Awaitable[None]],
) -> str:
    """COPY (SELECT the view's cells as text, filtered and sorted) TO STDOUT as CSV into `output`.

    PostgreSQL formats and escapes every cell; Python only passes the bytes on. Returns the
    command status (`COPY <n>`).
    """
    table = view.table
    stmt = sa.select(*(export_expression(c, table.c[c.physical_name]).label(f"v{i}") for i, c in enumerate(columns)))
    stmt = stmt.select_from(table)
    if view.where is not None:
        stmt = stmt.where(view.where)
    stmt = stmt.order_by(*view.order_by)
    compiled = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    order = getattr(compiled, "positiontup", None) or list(params)
    args = [params[name] for name in order]
    driver = await driver_connection(session)
    status: str = await driver.copy_from_query(str(compiled), *args, output=output, format="csv")
    return status
