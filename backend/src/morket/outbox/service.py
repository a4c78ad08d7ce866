"""Writing to the outbox and reading it: the only way other modules touch `outbox_events`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import OutboxEventType
from morket.outbox.repository import Backlog, OutboxRepository, Position, StoredEvent

# Bulk operations emit one event per this many rows (docs/outbox.md).
ROWS_PER_EVENT = 1000


class OutboxService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = OutboxRepository(session)

    async def emit(
        self,
        workspace_id: uuid.UUID,
        event_type: OutboxEventType,
        aggregate_id: str,
        payload: dict[str, Any],
        *,
        table_id: uuid.UUID | None = None,
    ) -> None:
        """Append one event in the caller's transaction (it becomes visible when that commits)."""
        await self.repo.append(workspace_id, table_id, event_type, aggregate_id, [payload])

    async def emit_row_batches(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        event_type: OutboxEventType,
        row_ids: Sequence[int],
        payload: dict[str, Any],
    ) -> None:
        """Compact events for a bulk change: one per ROWS_PER_EVENT rows, each listing its row ids."""
        payloads = [
            {**payload, "row_ids": list(row_ids[start : start + ROWS_PER_EVENT])}
            for start in range(0, len(row_ids), ROWS_PER_EVENT)
        ]
        if payloads:
            await self.repo.append(workspace_id, table_id, event_type, str(table_id), payloads)

    async def read(self, after: Position, limit: int = 500, table_id: uuid.UUID | None = None) -> list[StoredEvent]:
        return await self.repo.read(after, limit, table_id)

    async def head(self) -> Position:
        return await self.repo.head()

    async def resume_position(self, last_event_id: int) -> Position:
        """Where a reader that last saw event `last_event_id` continues."""
        found = await self.repo.position_of(last_event_id)
        if found is not None:
            return found
        # The event is gone (purged): continue from the next events by id, best effort.
        return Position(0, last_event_id)

    async def consumer_backlog(self, name: str) -> tuple[Position | None, Backlog]:
        """The consumer's position (None before its first batch) and what is left after it."""
        position = await self.repo.consumer_position(name)
        return position, await self.repo.backlog_after(position or Position(0, 0))

    async def purge(self, before: datetime) -> int:
        return await self.repo.purge_before(before)
