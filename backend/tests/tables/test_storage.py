"""The storage API other modules call (importer, exporter, dedupe), against real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import Unprocessable
from morket.models import CellSource, ColumnType, OutboxEventType
from morket.tables.query import FilterCondition, FilterGroup, FilterOperator, RowView, SortKey
from morket.tables.schemas import ColumnCreate, RowPatch, TableCreate
from morket.tables.service import RowService, TableService
from morket.tables.storage import TableStorage
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


async def _last_event_id(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT coalesce(max(id), 0) FROM outbox_events"))).scalar_one())


async def _events_after(session: AsyncSession, table_id: uuid.UUID, after: int) -> list[tuple[str, Any]]:
    """Committed outbox events of the table (straight from the table: readers also wait for every
    older transaction on the server to finish, which on a shared server can take a while)."""
    result = await session.execute(
        text("SELECT event_type, payload FROM outbox_events WHERE table_id = :t AND id > :after ORDER BY id"),
        {"t": table_id, "after": after},
    )
    return [(row[0], row[1]) for row in result.all()]


async def test_bulk_update_skips_unchanged_rows_and_cells(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> None:
    table_id, cols = await _table(sessions, workspace)
    name, size = cols["Name"], cols["Employees"]
    async with unit_of_work(sessions) as session:
        result = await RowService(session).append_rows(
            workspace.id, table_id, [{name: f"n{i}", size: i} for i in range(3)], actor_id=None
        )
        head_id = await _last_event_id(session)
    ids = result.row_ids
    async with unit_of_work(sessions) as session:
        await RowService(session).update_rows(
            workspace.id,
            table_id,
            [
                RowPatch(id=ids[0], cells={name: "changed", size: 0}),  # one cell changes
                RowPatch(id=ids[1], cells={name: "n1", size: "1"}),  # nothing changes ("1" parses to 1)
                RowPatch(id=ids[2], cells={name: "n2", size: 20}),  # the other cell changes
            ],
            actor_id=workspace.owner_id,
        )
    async with unit_of_work(sessions) as session:
        service = RowService(session)
        rows = await service.get_rows(workspace.id, table_id, ids)
        assert [r.version for r in rows] == [2, 1, 2]
        assert [(r.cells[name], r.cells[size]) for r in rows] == [("changed", 0), ("n1", 1), ("n2", 20)]
        assert rows[1].updated_at == rows[1].created_at
        histories = [(await service.cell_history(workspace.id, table_id, i, None, 0, 10))[0] for i in ids]
        assert [[(str(h.column_id), h.old_value, h.new_value) for h in hs] for hs in histories] == [
            [(name, "n0", "changed")],
            [],
            [(size, 2, 20)],
        ]
        events = await _events_after(session, table_id, head_id)
        assert [(e[0], e[1]["row_ids"], sorted(e[1]["column_ids"])) for e in events] == [
            (OutboxEventType.ROWS_UPDATED.value, [ids[0], ids[2]], sorted([name, size]))
        ]

    # Nothing changes at all: no version, history or event moves.
    async with unit_of_work(sessions) as session:
        head_id = await _last_event_id(session)
        await RowService(session).update_rows(
            workspace.id,
            table_id,
            [RowPatch(id=i, cells={size: s}) for i, s in zip(ids, (0, 1, 20), strict=True)],
            actor_id=None,
        )
    async with unit_of_work(sessions) as session:
        rows = await RowService(session).get_rows(workspace.id, table_id, ids)
        assert [r.version for r in rows] == [2, 1, 2]
        assert await _events_after(session, table_id, head_id) == []


async def test_a_large_table_gets_the_index_of_a_sorted_column_on_first_view(
    sessions: async_sessionmaker[AsyncSession], workspace: Workspace
) -> None:
    small, small_cols = await _table(sessions, workspace)
    large, cols = await _table(sessions, workspace)
    async with unit_of_work(sessions) as session:
        await RowService(session).append_rows(
            workspace.id,
            large,
            ({cols["Employees"]: i % 100, cols["Name"]: f"n{i}"} for i in range(10_000)),
            actor_id=None,
        )
        await RowService(session).append_rows(workspace.id, small, [{small_cols["Employees"]: 1}], actor_id=None)
    by_size = RowView(sort=[SortKey(column_id=uuid.UUID(cols["Employees"]), direction="desc")])
    async with unit_of_work(sessions) as session:
        columns = await TableService(session).columns(workspace.id, large)
        storage = TableStorage(session)
        assert await storage.indexed(large, columns) == set()
        rows, _ = await RowService(session).query(workspace.id, large, by_size, 0, 3, count=False)
        assert [r.cells[cols["Employees"]] for r in rows] == [99, 99, 99]
        # Sorting on Employees indexed it (and only it); an equality filter on Name indexes Name.
        assert await storage.indexed(large, columns) == {uuid.UUID(cols["Employees"])}
        by_name = RowView(
            filter=FilterGroup(
                conditions=[FilterCondition(column_id=uuid.UUID(cols["Name"]), operator=FilterOperator.EQ, value="n7")]
            )
        )
        rows, _ = await RowService(session).query(workspace.id, large, by_name, 0, 3)
        assert [r.cells[cols["Name"]] for r in rows] == ["n7"]
        assert await storage.indexed(large, columns) == {uuid.UUID(cols["Employees"]), uuid.UUID(cols["Name"])}
        # A small table sorts in memory: no index.
        small_columns = await TableService(session).columns(workspace.id, small)
        small_view = RowView(sort=[SortKey(column_id=uuid.UUID(small_cols["Employees"]))])
        await RowService(session).query(workspace.id, small, small_view, 0, 3)
        assert await storage.indexed(small, small_columns) == set()
