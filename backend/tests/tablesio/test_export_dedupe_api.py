"""Export (CSV/XLSX, whole table and filtered+sorted view) and dedupe (preview, merge, history)
over HTTP, on tables built through the tables services in real PostgreSQL."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.models import CellSource, ColumnType
from morket.tables.service import RowService
from tests.factories import TestUser, add_member, create_workspace, register
from tests.tablesio.helpers import parsed_csv, seeded_table

pytestmark = pytest.mark.usefixtures("clean_db")

COLUMNS = [
    ("Name", ColumnType.TEXT),
    ("Website", ColumnType.URL),
    ("Revenue", ColumnType.NUMBER),
    ("Phone", ColumnType.PHONE),
    ("Notes", ColumnType.TEXT),
]
ROWS: list[list[Any]] = [
    ["Acme Inc", "https://www.acme.com", 100, None, '=HYPERLINK("http://evil")'],
    ["Beta", "beta.io", -5, "+1 555 000 1111", "+SUM(A1:A2)"],
    ["ACME Inc.", "acme.com/about", None, "555-123-4567", None],
    ["Gamma", "gamma.co.uk", 7.5, None, "@cmd"],
    ["Delta", None, 0, None, "\tindented"],
    ["acme inc", "http://blog.acme.com", 300, "555 222 3333", "-minus"],
]


async def _setup(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> tuple[TestUser, str, str, dict[str, str]]:
    return await seeded_table(client, sessions, "Leads", COLUMNS, ROWS)


async def test_export_csv_escapes_formulas_and_keeps_numbers(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner, ws, table, _ = await _setup(client, sessions)
    response = await client.get(f"/api/v1/workspaces/{ws}/tables/{table}/export", headers=owner.headers)
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="Leads.csv"' in response.headers["content-disposition"]
    assert parsed_csv(response) == [
        ["Name", "Website", "Revenue", "Phone", "Notes"],
        ["Acme Inc", "https://www.acme.com", "100", "", '\'=HYPERLINK("http://evil")'],
        ["Beta", "beta.io", "-5", "'+1 555 000 1111", "'+SUM(A1:A2)"],
        ["ACME Inc.", "acme.com/about", "", "555-123-4567", ""],
        ["Gamma", "gamma.co.uk", "7.5", "", "'@cmd"],
        ["Delta", "", "0", "", "'\tindented"],
        ["acme inc", "http://blog.acme.com", "300", "555 222 3333", "'-minus"],
    ]


async def test_export_view_filtered_and_sorted_csv_and_xlsx(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner, ws, table, ids = await _setup(client, sessions)
    view = {
        "filter": {"conjunction": "and", "conditions": [{"column_id": ids["Revenue"], "operator": "gte", "value": 0}]},
        "sort": [{"column_id": ids["Revenue"], "direction": "desc"}],
    }
    url = f"/api/v1/workspaces/{ws}/tables/{table}/export"
    rows = parsed_csv(await client.post(url, json={"format": "csv", "view": view}, headers=owner.headers))
    assert [r[0] for r in rows] == ["Name", "acme inc", "Acme Inc", "Gamma", "Delta"]

    response = await client.post(url, json={"format": "xlsx", "view": view}, headers=owner.headers)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    values = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert values == [
        ["Name", "Website", "Revenue", "Phone", "Notes"],
        ["acme inc", "http://blog.acme.com", 300, "555 222 3333", "'-minus"],
        ["Acme Inc", "https://www.acme.com", 100, None, '\'=HYPERLINK("http://evil")'],
        ["Gamma", "gamma.co.uk", 7.5, None, "'@cmd"],
        ["Delta", None, 0, None, "'\tindented"],
    ]

    bad = {"filter": {"conditions": [{"column_id": str(uuid.uuid4()), "operator": "eq", "value": 1}]}}
    refused = await client.post(url, json={"view": bad}, headers=owner.headers)
    assert refused.status_code == 422 and refused.json()["success"] is False

    outsider = await register(client)
    other_ws = await create_workspace(client, outsider)
    foreign = await client.get(f"/api/v1/workspaces/{other_ws['id']}/tables/{table}/export", headers=outsider.headers)
    assert foreign.status_code == 404


async def test_dedupe_preview_and_merge_fill_blanks_with_history(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner, ws, table, ids = await _setup(client, sessions)
    base = f"/api/v1/workspaces/{ws}/tables/{table}/dedupe"
    rule = {"key_column_ids": [ids["Website"]], "fuzzy_column_id": ids["Name"], "threshold": 85}
    preview = await client.post(f"{base}/preview", json=rule, headers=owner.headers)
    assert preview.status_code == 200, preview.text
    data = preview.json()["data"]
    assert (data["group_count"], data["duplicate_rows"]) == (1, 2)
    group = data["groups"][0]
    assert group["row_ids"] == [1, 3, 6] and group["keep_id"] == 1
    assert [r["cells"][ids["Name"]] for r in group["rows"]] == ["Acme Inc", "ACME Inc.", "acme inc"]

    merged = await client.post(f"{base}/merge", json=rule, headers=owner.headers)
    assert merged.status_code == 200, merged.text
    assert merged.json()["data"] == {"groups_merged": 1, "rows_merged": 2}
    rows = parsed_csv(await client.get(f"/api/v1/workspaces/{ws}/tables/{table}/export", headers=owner.headers))
    # The oldest row stays; its blank phone is filled from the next row that has one (row 3).
    assert rows[1] == ["Acme Inc", "https://www.acme.com", "100", "555-123-4567", '\'=HYPERLINK("http://evil")']
    assert [r[0] for r in rows[1:]] == ["Acme Inc", "Beta", "Gamma", "Delta"]
    async with sessions() as session:
        history, total = await RowService(session).cell_history(
            uuid.UUID(ws), uuid.UUID(table), 1, uuid.UUID(ids["Phone"]), 0, 10
        )
    assert total == 1
    assert (history[0].old_value, history[0].new_value, history[0].source) == (None, "555-123-4567", CellSource.DEDUPE)

    again = await client.post(f"{base}/preview", json=rule, headers=owner.headers)
    assert again.json()["data"]["group_count"] == 0
    nothing = await client.post(f"{base}/preview", json={}, headers=owner.headers)
    assert nothing.status_code == 422


async def test_dedupe_is_member_only_for_merge(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    owner, ws, table, ids = await _setup(client, sessions)
    viewer = await register(client)
    await add_member(client, owner, ws, viewer, "viewer")
    rule = {"key_column_ids": [ids["Website"]]}
    base = f"/api/v1/workspaces/{ws}/tables/{table}/dedupe"
    assert (await client.post(f"{base}/preview", json=rule, headers=viewer.headers)).status_code == 200
    refused = await client.post(f"{base}/merge", json=rule, headers=viewer.headers)
    assert refused.status_code == 403
    rows = parsed_csv(await client.get(f"/api/v1/workspaces/{ws}/tables/{table}/export", headers=viewer.headers))
    assert len(rows) == 7  # nothing merged
