"""The CSV export is written by PostgreSQL (COPY ... TO STDOUT, escaping in SQL): every type, every
formula start, empty and odd values come out as the Python rendering of the same rows says
(`cell_text` over the rows API's values), parsed back by a CSV reader."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.models import ColumnType
from morket.tables.export import cell_text
from morket.tables.query import FilterCondition, FilterGroup, FilterOperator, RowView, SortDirection, SortKey
from morket.tables.service import RowService
from morket.tables.types import _NUMERIC
from tests.tablesio.helpers import parsed_csv, seeded_table

pytestmark = pytest.mark.usefixtures("clean_db")

COLUMNS = [
    ("Text", ColumnType.TEXT),
    ("Long", ColumnType.LONG_TEXT),
    ("Url", ColumnType.URL),
    ("Email", ColumnType.EMAIL),
    ("Phone", ColumnType.PHONE),
    ("Select", ColumnType.SINGLE_SELECT),
    ("Number", ColumnType.NUMBER),
    ("Money", ColumnType.CURRENCY),
    ("Share", ColumnType.PERCENT),
    ("Done", ColumnType.CHECKBOX),
    ("Day", ColumnType.DATE),
    ("When", ColumnType.DATETIME),
    ("Tags", ColumnType.MULTI_SELECT),
    ("Data", ColumnType.JSON),
]
ROWS: list[list[Any]] = [
    [
        "=1+1",
        'line one\nline two, with "quotes"',
        "https://acme.com/a?b=1",
        "a@acme.com",
        "+1 555 000 1111",
        "@cmd",
        -5,
        "1,500.50",
        "12.5%",
        True,
        "2024-02-29",
        "2024-02-29T10:11:12Z",
        ["=x", "b"],
        {"k": "v", "n": [1, 2]},
    ],
    [
        "\tTab",
        "\rcarriage",
        None,
        None,
        "555-123-4567",
        "-minus",
        Decimal("1234567890123456789.25"),
        0,
        "0.10",
        False,
        "0099-01-01",
        "2024-01-01T00:00:00.123456+02:00",
        [],
        "=string in json",
    ],
    ["plain", "", None, None, None, "+plus", 100, "7", None, None, None, None, None, 42],
    [None, None, None, None, None, None, None, None, None, None, None, None, None, None],
    ["'quoted", "ünïcødé ✓", None, None, None, None, 1e-7, None, None, None, None, None, ["a,b"], [1, "=2"]],
    ["zzz", None, None, None, None, None, 3, None, None, None, None, None, None, True],
]


async def _table(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> tuple[dict[str, str], str, str, dict[str, str]]:
    owner, ws, table, ids = await seeded_table(client, sessions, "Everything", COLUMNS, ROWS)
    return owner.headers, ws, table, ids


# Numbers as exact decimals without trailing zeros (never 1e-07), times in UTC, JSON objects and
# arrays as JSON text; text that begins like a formula (= + - @ tab CR) behind an apostrophe.
EXPECTED = [
    [
        "'=1+1",
        'line one\nline two, with "quotes"',
        "https://acme.com/a?b=1",
        "a@acme.com",
        "'+1 555 000 1111",
        "'@cmd",
        "-5",
        "1500.5",
        "12.5",
        "true",
        "2024-02-29",
        "2024-02-29T10:11:12+00:00",
        "'=x, b",
        '{"k": "v", "n": [1, 2]}',
    ],
    [
        "'\tTab",
        "'\rcarriage",
        "",
        "",
        "555-123-4567",
        "'-minus",
        "1234567890123456789.25",
        "0",
        "0.1",
        "false",
        "0099-01-01",
        "2023-12-31T22:00:00.123456+00:00",
        "",
        "'=string in json",
    ],
    ["plain", "", "", "", "", "'+plus", "100", "7", "", "", "", "", "", "42"],
    [""] * 14,
    ["'quoted", "ünïcødé ✓", "", "", "", "", "0.0000001", "", "", "", "", "", "a,b", '[1, "=2"]'],
    ["zzz", "", "", "", "", "", "3", "", "", "", "", "", "", "true"],
]
PYTHON_RENDERED = [i for i, (_, t) in enumerate(COLUMNS) if t not in _NUMERIC and t is not ColumnType.JSON]


async def _python_rendering(
    sessions: async_sessionmaker[AsyncSession], workspace_id: str, table_id: str, view: RowView | None
) -> list[list[str]]:
    """The rows through the Python path: the rows API's values written by `cell_text`."""
    async with sessions() as session:
        out: list[list[str]] = []
        async for columns, batch in RowService(session).stream_rows(uuid.UUID(workspace_id), uuid.UUID(table_id), view):
            keys = [str(c.id) for c in columns]
            out.extend([cell_text(row.cells.get(k)) for k in keys] for row in batch)
        return out


async def test_copy_export_writes_what_the_python_rendering_writes(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers, workspace_id, table_id, _ = await _table(client, sessions)
    rows = parsed_csv(await client.get(f"/api/v1/workspaces/{workspace_id}/tables/{table_id}/export", headers=headers))
    assert rows[0] == [name for name, _ in COLUMNS]
    assert rows[1:] == EXPECTED
    # Text, dates, times, checkboxes and selects agree with the Python rendering of the same rows
    # (numbers and JSON are written more exactly than the API's floats and Python's repr).
    python = await _python_rendering(sessions, workspace_id, table_id, None)
    assert [[r[i] for i in PYTHON_RENDERED] for r in rows[1:]] == [[r[i] for i in PYTHON_RENDERED] for r in python]


async def test_copy_export_of_a_filtered_sorted_view(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers, workspace_id, table_id, ids = await _table(client, sessions)
    view = RowView(
        filter=FilterGroup(
            conditions=[FilterCondition(column_id=uuid.UUID(ids["Number"]), operator=FilterOperator.GT, value=0)]
        ),
        sort=[SortKey(column_id=uuid.UUID(ids["Text"]), direction=SortDirection.DESC)],
    )
    response = await client.post(
        f"/api/v1/workspaces/{workspace_id}/tables/{table_id}/export",
        json={"format": "csv", "view": view.model_dump(mode="json")},
        headers=headers,
    )
    rows = parsed_csv(response)
    # Number > 0, sorted by text descending ("'quoted" sorts by its stored text, an apostrophe).
    assert rows[1:] == [EXPECTED[5], EXPECTED[2], EXPECTED[4], EXPECTED[1]]
