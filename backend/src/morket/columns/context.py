"""What a kind's validation needs from outside the table, loaded before it runs (issue 10,
items 7-8): the other table a lookup reads (only when it is a live table of the same workspace;
another workspace's table looks exactly like a missing one) and the names of the vault secrets
an HTTP column may reference. Validation itself stays synchronous (`columns/kinds.py`)."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.columns.kinds import KindContext
from morket.core.errors import NotFound
from morket.models import ColumnKind, ColumnType


async def prepare(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    kind: ColumnKind,
    column_type: ColumnType,
    config: Mapping[str, Any],
    ctx: KindContext,
) -> KindContext:
    """`ctx` with the facts `kind` checks its config against."""
    if kind is ColumnKind.LOOKUP:
        from morket.tables.service import TableService

        foreign: dict[uuid.UUID, Any] = {}
        try:
            other_id = uuid.UUID(str(config.get("table_id")))
        except ValueError:
            other_id = None
        if other_id is not None and other_id != ctx.table_id:
            with contextlib.suppress(NotFound):
                foreign[other_id] = await TableService(session).columns(workspace_id, other_id)
        return dataclasses.replace(ctx, column_type=column_type, foreign_tables=foreign)
    if kind is ColumnKind.HTTP:
        from morket.columns.http import secret_names

        return dataclasses.replace(ctx, column_type=column_type, secret_names=await secret_names(session, workspace_id))
    return ctx
