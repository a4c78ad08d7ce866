"""The storage API other modules call (importer, exporter, dedupe), against real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import Unprocessable
from morket.models import CellSource, ColumnType
from morket.tables.query import FilterCondition, FilterGroup, FilterOperator, RowView, SortKey
from morket.tables.schemas import ColumnCreate, RowPatch, TableCreate
from morket.tables.service import RowService, TableService
from tests.tables.conftest import Workspace


async def _table(sessions: async_sessionmaker[AsyncSession], ws: Workspace) -> tuple[uuid.UUID, dict[str, str]]:
    async with unit_of_work(sessions) as session:
        out = await TableService(session).create_table(
            ws.id,
            ws.owner_id,
            TableCreate(
                name="People",
                columns=[
                    ColumnCreate(name="Name", type=ColumnType.TEXT),
                    ColumnCreate(name="Email", type=ColumnType.EMAIL),
                    ColumnCreate(name="Employees", type=ColumnType.NUMBER),
                    ColumnCreate(name="Tags", type=ColumnType.MULTI_SELECT),
                    ColumnCreate(name="Extra", type=ColumnType.JSON),
                ],
            ),
        )
    assert out.columns is not None
    return out.id, {c.name: str(c.id) for c in out.columns}


async def test_append_stream_count_upsert_merge_delete(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> None:
    table_id, cols = await _table(sessions, workspace)
    rows = (
        {
            cols["Name"]: f"n{i}",
            cols["Email"]: f"p{i}@x.io",
            cols["Employees"]: i,
            cols["Tags"]: ["a", "b"],
            cols["Extra"]: {"i": i},
        }
        for i in range(12_000)
    )
    async with unit_of_work(sessions) as session:
        result = await RowService(session).append_rows(
            workspace.id, table_id, rows, actor_id=workspace.owner_id, batch_size=5000
        )
    assert result.inserted == 12_000 and len(result.row_ids) == 12_000

    async with unit_of_work(sessions) as session:
        service = RowService(session)
        count = await service.count_rows(workspace.id, table_id)
        assert (count.total, count.estimated) == (12_000, False)
        view = RowView(
            filter=FilterGroup(
                conditions=[
                    FilterCondition(column_id=uuid.UUID(cols["Employees"]), operator=FilterOperator.LT, value=100)
                ]
            ),
            sort=[SortKey(column_id=uuid.UUID(cols["Employees"]), direction="desc")],
        )
        seen: list[int] = []
        async for _, batch in service.stream_rows(workspace.id, table_id, view, batch_size=30):
            seen.extend(row.cells[cols["Employees"]] for row in batch)
        assert seen == list(range(99, -1, -1))
        filtered = await service.count_rows(workspace.id, table_id, view)
        assert (filtered.total, filtered.estimated) == (100, False)

    # Upsert on the email column: two existing rows updated, one new row inserted.
    async with unit_of_work(sessions) as session:
        upsert = await RowService(session).append_rows(
            workspace.id,
            table_id,
            [
                {cols["Email"]: "p1@x.io", cols["Name"]: "Renamed"},
                {cols["Email"]: "p2@x.io", cols["Employees"]: "1,500"},
                {cols["Email"]: "new@x.io", cols["Name"]: "New"},
            ],
            actor_id=workspace.owner_id,
            key_column_id=uuid.UUID(cols["Email"]),
        )
    assert (upsert.inserted, upsert.updated) == (1, 2)

    async with unit_of_work(sessions) as session:
        service = RowService(session)
        first_ids = result.row_ids[:3]
        got = await service.get_rows(workspace.id, table_id, first_ids)
        assert got[1].cells[cols["Name"]] == "Renamed" and got[1].version == 2
        assert got[2].cells[cols["Employees"]] == 1500
        assert got[0].cells[cols["Extra"]] == {"i": 0} and got[0].cells[cols["Tags"]] == ["a", "b"]
        history, _ = await service.cell_history(workspace.id, table_id, first_ids[1], None, 0, 10)
        assert [(h.old_value, h.new_value, h.source) for h in history] == [("n1", "Renamed", CellSource.IMPORT)]
        # Merge: row 0 keeps its cells, gets nothing new; the blank Name of a fresh row is filled.
        blank = await service.append_rows(
            workspace.id, table_id, [{cols["Email"]: "p0@x.io"}], actor_id=None, source=CellSource.BULK
        )
        merged = await service.merge_rows(
            workspace.id, table_id, blank.row_ids[0], [first_ids[0]], actor_id=workspace.owner_id
        )
        assert merged.cells[cols["Name"]] == "n0" and merged.cells[cols["Employees"]] == 0
        assert await service.delete_rows(workspace.id, table_id, first_ids[1:3], actor_id=None) == 2
        count = await service.count_rows(workspace.id, table_id)
        # 12,000 + 1 upserted + 1 blank - 1 merged away - 2 deleted
        assert count.total == 11_999


async def test_bulk_update_is_all_or_nothing(sessions: async_sessionmaker[AsyncSession], workspace: Workspace) -> None:
    table_id, cols = await _table(sessions, workspace)
    async with unit_of_work(sessions) as session:
        result = await RowService(session).append_rows(
            workspace.id, table_id, [{cols["Employees"]: i} for i in range(3)], actor_id=None
        )
    ids = result.row_ids
    with pytest.raises(Unprocessable) as caught:
        async with unit_of_work(sessions) as session:
            await RowService(session).update_rows(
                workspace.id,
                table_id,
                [
                    RowPatch(id=ids[0], cells={cols["Employees"]: 10}),
                    RowPatch(id=ids[1], cells={cols["Employees"]: "many"}),
                    RowPatch(id=10**9, cells={cols["Employees"]: 1}),
                ],
                actor_id=None,
            )
    assert [d["row"] for d in caught.value.details] == [1, 2]
    async with unit_of_work(sessions) as session:
        rows = await RowService(session).get_rows(workspace.id, table_id, ids)
    assert [r.cells[cols["Employees"]] for r in rows] == [0, 1, 2]
