"""Every SQL statement of the columns module: the rows a run reads, the rows of a run's records."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import FINAL_HTTP_RUN_STATUSES, JobStatus, TableColumn
from morket.tables.query import FilterGroup, RowView, compile_view
from morket.tables.storage import sa_table
from morket.tables.types import TEXT_LIKE, render_value

FETCH_BATCH = 5000


class ColumnsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def run_rows(
        self,
        table_id: uuid.UUID,
        columns: Sequence[TableColumn],
        where: FilterGroup | None,
        row_ids: Sequence[int] | None,
        read: Sequence[TableColumn],
    ) -> list[tuple[int, dict[uuid.UUID, Any]]]:
        """(row id, {column id: value as the API renders it}) of the `read` columns, for every row
        matching `where` (and among `row_ids` when given), in row id order."""
        table = sa_table(table_id, columns)
        view = compile_view(RowView(filter=where), columns, table)
        stmt = sa.select(table.c._id, *(table.c[c.physical_name] for c in read))
        if view.where is not None:
            stmt = stmt.where(view.where)
        if row_ids is not None:
            stmt = stmt.where(table.c._id == sa.any_(sa.bindparam("ids", list(row_ids), type_=_BIGINT_ARRAY)))
        stmt = stmt.order_by(table.c._id)
        out: list[tuple[int, dict[uuid.UUID, Any]]] = []
        result = await self.session.stream(stmt.execution_options(yield_per=FETCH_BATCH))
        async for row in result:
            out.append((int(row[0]), {c.id: render_value(c.type, row[i + 1]) for i, c in enumerate(read)}))
        return out

    async def iter_rows(
        self,
        table_id: uuid.UUID,
        columns: Sequence[TableColumn],
        row_ids: Sequence[int] | None,
        read: Sequence[TableColumn],
        meta_of: Sequence[uuid.UUID],
        batch: int,
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Batches of rows as tuples: (row id, the `read` columns' values as the API renders them,
        then for each of `meta_of` whether the cell has a state)."""
        table = sa_table(table_id, columns)
        if row_ids is None:
            ids = [int(r[0]) for r in await self.session.execute(sa.select(table.c._id).order_by(table.c._id))]
        else:
            ids = sorted(set(row_ids))
        flags = [table.c._meta.has_key(str(c)) for c in meta_of]
        base = sa.select(table.c._id, *(table.c[c.physical_name] for c in read), *flags)
        renders = [(i + 1, c.type) for i, c in enumerate(read) if not _renders_as_is(c)]
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            stmt = base.where(table.c._id == sa.any_(sa.bindparam("ids", part, type_=_BIGINT_ARRAY)))
            rows = (await self.session.execute(stmt.order_by(table.c._id))).all()
            if not renders:
                yield [tuple(row) for row in rows]
                continue
            out = []
            for row in rows:
                values = list(row)
                for index, column_type in renders:
                    values[index] = render_value(column_type, values[index])
                out.append(tuple(values))
            yield out

    async def first_rows(
        self, table_id: uuid.UUID, columns: Sequence[TableColumn], read: Sequence[TableColumn], limit: int
    ) -> list[tuple[int, dict[uuid.UUID, Any]]]:
        """The first `limit` rows in the table's default order (row id), with the `read` columns'
        values as the API renders them."""
        table = sa_table(table_id, columns)
        stmt = sa.select(table.c._id, *(table.c[c.physical_name] for c in read)).order_by(table.c._id).limit(limit)
        rows = await self.session.execute(stmt)
        return [(int(row[0]), {c.id: render_value(c.type, row[i + 1]) for i, c in enumerate(read)}) for row in rows]

    async def count_rows(self, table_id: uuid.UUID, columns: Sequence[TableColumn], where: FilterGroup | None) -> int:
        table = sa_table(table_id, columns)
        view = compile_view(RowView(filter=where), columns, table)
        stmt = sa.select(sa.func.count()).select_from(table)
        if view.where is not None:
            stmt = stmt.where(view.where)
        return int((await self.session.execute(stmt)).scalar_one())

    async def row_ids_of(self, record_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        rows = await self.session.execute(
            sa.text("SELECT id, row_id FROM enrichment_records WHERE id = ANY(:ids) AND row_id IS NOT NULL"),
            {"ids": list(record_ids)},
        )
        return {r[0]: int(r[1]) for r in rows}

    async def unfinished_rows(self, job_id: uuid.UUID) -> list[tuple[int, str, str | None]]:
        """(row id, status, error) of a settled run's records that never produced a result."""
        rows = await self.session.execute(
            sa.text(
                "SELECT row_id, status, error FROM enrichment_records r WHERE job_id = :j AND row_id IS NOT NULL"
                " AND (status = 'cancelled' OR (status = 'failed'"
                " AND NOT EXISTS (SELECT 1 FROM enrichment_attempts a WHERE a.record_id = r.id)))"
            ),
            {"j": job_id},
        )
        return [(int(r[0]), str(r[1]), r[2]) for r in rows]

    async def run_active(self, table_id: uuid.UUID, column_id: uuid.UUID) -> bool:
        """Is a run writing this column now: an enrichment job (enrichment and AI columns, alone or
        sharing a job with other columns) or an HTTP run that has not settled?"""
        row = await self.session.execute(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM enrichment_jobs j WHERE j.table_id = :t AND j.status <> ALL(:final)"
                " AND (j.target->>'column_id' = :c"
                " OR EXISTS (SELECT 1 FROM jsonb_each_text(j.target->'columns') o WHERE o.value = :c)))"
                " OR EXISTS (SELECT 1 FROM http_column_runs h WHERE h.table_id = :t AND h.column_id = :cid"
                " AND h.status <> ALL(:http_final))"
            ),
            {
                "t": table_id,
                "c": str(column_id),
                "cid": column_id,
                "final": [s.value for s in JobStatus if s.is_final],
                "http_final": [s.value for s in FINAL_HTTP_RUN_STATUSES],
            },
        )
        return bool(row.scalar_one())

    async def hit_rates(self, workspace_id: uuid.UUID) -> dict[tuple[str, str], tuple[int, int]]:
        """(provider, field) -> (calls answered, calls that found the field) in this workspace's history."""
        rows = await self.session.execute(
            sa.text(
                "SELECT a.provider, a.field, count(*) FILTER (WHERE a.outcome IN ('success', 'no_match')),"
                " count(*) FILTER (WHERE a.outcome = 'success') FROM enrichment_attempts a"
                " JOIN enrichment_jobs j ON j.id = a.job_id WHERE j.workspace_id = :w GROUP BY 1, 2"
            ),
            {"w": workspace_id},
        )
        return {(str(r[0]), str(r[1])): (int(r[2]), int(r[3])) for r in rows}

    async def cache_rates(self, workspace_id: uuid.UUID) -> dict[tuple[str, str], tuple[int, int]]:
        """(provider, field) -> (successful answers, answers served from the response cache)."""
        rows = await self.session.execute(
            sa.text(
                "SELECT a.provider, a.field, count(*), count(*) FILTER (WHERE a.cached) FROM enrichment_attempts a"
                " JOIN enrichment_jobs j ON j.id = a.job_id WHERE j.workspace_id = :w AND a.outcome = 'success'"
                " GROUP BY 1, 2"
            ),
            {"w": workspace_id},
        )
        return {(str(r[0]), str(r[1])): (int(r[2]), int(r[3])) for r in rows}


_BIGINT_ARRAY = sa.ARRAY(sa.BigInteger())


def _renders_as_is(column: TableColumn) -> bool:
    return column.type in TEXT_LIKE
