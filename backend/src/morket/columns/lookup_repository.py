"""The SQL of lookup columns: one set-based UPDATE per recompute, whatever the number of rows.

    WITH scope AS (rows to compute: their id, their key, whether `only_if` holds),
         src   AS (per key of the other table, the value(s) to return: DISTINCT ON for `first`,
                   a window-limited aggregate for `list`, only for keys some scoped row has)
    UPDATE this SET dest = new.v, _version = _version + 1, _updated_at = now()
    FROM (scope LEFT JOIN src ON key) AS new
    WHERE this._id = new.id AND dest IS DISTINCT FROM new.v
    RETURNING this._id

A full recompute is a hash join of the two tables (each read once); a recompute of a few rows
(new rows, an edited key) reads the other table through its (key, _id) btree (the sort index of
the target column, made by `ensure_indexes` on tables large enough for it to matter), which also
returns the matches in row id order, the order `first` and `list` use. docs/columns.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import ColumnType, TableColumn
from morket.tables.query import FilterGroup, RowView, compile_view
from morket.tables.storage import sa_table
from morket.tables.types import TEXT_LIKE, storage_type

_TEXT_TARGETS = frozenset({ColumnType.TEXT, ColumnType.LONG_TEXT})


def first_value_compatible(dest: ColumnType, source: ColumnType) -> bool:
    """Whether a `first` lookup into a `dest` column can hold the other table's `source` values
    without a lossy conversion: the same type, or text, or JSON."""
    return dest is source or dest in _TEXT_TARGETS or dest is ColumnType.JSON


def list_compatible(dest: ColumnType) -> bool:
    return dest in (ColumnType.JSON, ColumnType.MULTI_SELECT)


def _as_text(column: sa.ColumnElement[Any], column_type: ColumnType) -> sa.ColumnElement[Any]:
    if column_type in TEXT_LIKE:
        return column
    if column_type is ColumnType.JSON:  # a JSON string without its quotes, anything else as JSON text
        return sa.type_coerce(column.op("#>>")(sa.literal_column("'{}'")), sa.Text())
    if column_type is ColumnType.MULTI_SELECT:
        return sa.func.array_to_string(column, ", ", type_=sa.Text())
    return sa.cast(column, sa.Text())


def _convert(column: sa.ColumnElement[Any], dest: ColumnType, source: ColumnType) -> sa.ColumnElement[Any]:
    """A `source` value as a `dest` value; never raises (a value that does not convert is NULL)."""
    if storage_type(dest).sql == storage_type(source).sql:
        return column
    if dest is ColumnType.JSON:
        return sa.func.to_jsonb(column, type_=JSONB())
    text = _as_text(column, source)
    if dest in TEXT_LIKE:
        return text
    cast = storage_type(dest).try_cast
    if cast is None:  # a multi-select column from text: its comma-separated items
        return sa.func.string_to_array(text, ", ", type_=ARRAY(sa.Text()))
    # Only after the lookup column's type was changed (validation allows lossless pairs only).
    converted: sa.ColumnElement[Any] = getattr(sa.func.tabledata, f"try_{cast}")(text)
    return converted


class LookupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recompute(
        self,
        *,
        table_id: Any,
        columns: Sequence[TableColumn],
        dest: TableColumn,
        match: TableColumn,
        only_if: FilterGroup | None,
        other_id: Any,
        other_columns: Sequence[TableColumn],
        target: TableColumn,
        returned: TableColumn,
        mode: str,
        limit: int,
        row_ids: Sequence[int] | None,
    ) -> list[int]:
        """Recompute `dest` on `row_ids` (every row when None); the ids of the rows that changed."""
        this = sa_table(table_id, columns)
        other = sa_table(other_id, other_columns)
        # Their aliases differ: each is a digest of its table's column names (c_<column id>).
        this_key: sa.ColumnElement[Any] = this.c[match.physical_name]
        other_key: sa.ColumnElement[Any] = other.c[target.physical_name]
        if storage_type(match.type).sql != storage_type(target.type).sql:
            # Different types compare as text (no index on the other side then; docs/columns.md).
            this_key, other_key = _as_text(this_key, match.type), _as_text(other_key, target.type)
        condition: sa.ColumnElement[bool] = sa.true()
        if only_if is not None:
            where = compile_view(RowView(filter=only_if), columns, this).where
            if where is not None:
                condition = sa.func.coalesce(where, sa.false())
        scope_q = sa.select(this.c._id.label("id"), this_key.label("k"), condition.label("ok"))
        if row_ids is not None:
            scope_q = scope_q.where(
                this.c._id == sa.any_(sa.bindparam("ids", list(row_ids), type_=ARRAY(sa.BigInteger)))
            )
        scope = scope_q.cte("scope")
        wanted = sa.select(scope.c.k).where(scope.c.ok, scope.c.k.is_not(None))
        value = other.c[returned.physical_name]
        found = sa.and_(other_key.in_(wanted), value.is_not(None))
        if mode == "first":
            src = (
                sa.select(other_key.label("k"), _convert(value, dest.type, returned.type).label("v"))
                .where(found)
                .ext(distinct_on(other_key))
                .order_by(other_key, other.c._id)
                .cte("src")
            )
        else:
            ranked = (
                sa.select(
                    other_key.label("k"),
                    value.label("v"),
                    other.c._id.label("rid"),
                    sa.func.row_number().over(partition_by=other_key, order_by=other.c._id).label("n"),
                )
                .where(found)
                .subquery("ranked")
            )
            agg: sa.ColumnElement[Any]
            if dest.type is ColumnType.JSON:
                agg = sa.func.jsonb_agg(aggregate_order_by(sa.func.to_jsonb(ranked.c.v), ranked.c.rid), type_=JSONB())
            else:
                agg = sa.func.array_agg(
                    aggregate_order_by(_as_text(ranked.c.v, returned.type), ranked.c.rid), type_=ARRAY(sa.Text())
                )
            src = sa.select(ranked.c.k, agg.label("v")).where(ranked.c.n <= limit).group_by(ranked.c.k).cte("src")
        new = (
            sa.select(scope.c.id, sa.case((scope.c.ok, src.c.v), else_=sa.null()).label("v"))
            .select_from(scope.outerjoin(src, src.c.k == scope.c.k))
            .subquery("new")
        )
        physical: sa.Table = this.element  # type: ignore[attr-defined]
        dest_column = physical.c[dest.physical_name]
        stmt = (
            sa.update(physical)
            .values(
                {
                    dest.physical_name: new.c.v,
                    "_version": physical.c._version + 1,
                    "_updated_at": sa.func.now(),
                }
            )
            .where(physical.c._id == new.c.id, dest_column.is_distinct_from(new.c.v))
            .returning(physical.c._id)
        )
        result = await self.session.execute(stmt)
        return sorted(int(r[0]) for r in result)

    async def lookups_of_table(self, workspace_id: Any, table_id: Any) -> list[tuple[Any, Any]]:
        """(table id, column id) of the workspace's lookup columns that read `table_id`."""
        rows = await self.session.execute(
            sa.text(
                "SELECT c.table_id, c.id FROM table_columns c JOIN data_tables t ON t.id = c.table_id"
                " WHERE c.workspace_id = :w AND c.kind = 'lookup' AND c.config ->> 'table_id' = :t"
                " AND t.deleted_at IS NULL ORDER BY c.table_id, c.position"
            ),
            {"w": workspace_id, "t": str(table_id)},
        )
        return [(r[0], r[1]) for r in rows]
