"""A table with given columns and rows, built through the tables services in real PostgreSQL,
owned by a fresh user in a fresh workspace: the starting point of the export and dedupe tests."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.models import CellSource, ColumnType
from morket.tables.schemas import ColumnCreate, TableCreate
from morket.tables.service import RowService, TableService
from tests.factories import TestUser, create_workspace, register


async def seeded_table(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    columns: Sequence[tuple[str, ColumnType]],
    rows: Sequence[Sequence[Any]],
) -> tuple[TestUser, str, str, dict[str, str]]:
    """(owner, workspace id, table id, column ids by name)."""
    owner = await register(client)
    ws = await create_workspace(client, owner)
    workspace_id = uuid.UUID(ws["id"])
    async with unit_of_work(sessions) as session:
        table = await TableService(session).create_table(
            workspace_id,
            uuid.UUID(owner.id),
            TableCreate(name=name, columns=[ColumnCreate(name=n, type=t) for n, t in columns]),
        )
        ids = {c.name: str(c.id) for c in table.columns or []}
        await RowService(session).append_rows(
            workspace_id,
            table.id,
            [{ids[n]: v for (n, _), v in zip(columns, row, strict=True)} for row in rows],
            actor_id=uuid.UUID(owner.id),
            source=CellSource.BULK,
        )
    return owner, ws["id"], str(table.id), ids


def parsed_csv(response: httpx.Response) -> list[list[str]]:
    """An export's CSV rows: a 200 whose body starts with the UTF-8 BOM (Excel reads it as UTF-8)."""
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
