"""Group concurrent POSTs to one inbound URL into one transaction (group commit).

Every write to a table takes the table's row lock until it commits (tables/service.py), so
one-row POSTs from a sender fleet used to queue on that lock, one transaction and one commit
each: about 60 rows/s. Here the payloads that arrive while a transaction is running wait in
the endpoint's queue, and the next transaction takes them all (up to `max_rows` rows): one
lock, one column read, one commit for the group.

Each payload keeps its own outcome:
- the group is one append (with a dedupe key: after one key lookup, so each sender is told its
  own insert or update); if a payload is refused, each is written under its own SAVEPOINT, so
  a payload with a bad cell rolls back alone and its sender gets the 422 while the others are stored;
- every future is answered only after the group's COMMIT returned: accepted still means stored;
- if the commit (or anything outside a savepoint) fails, every sender of the group gets the
  error and nothing of the group is stored (503 `inbound_unavailable`, retry).
Payloads of one endpoint are written in arrival order, so a dedupe key posted twice updates
the row the first post made. One flusher task runs per endpoint per process; API processes
still serialise on the table lock between them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import unit_of_work
from morket.core.errors import AppError, NotFound, ServiceUnavailable
from morket.inbound.repository import InboundRepository
from morket.inbound.schemas import InboundAccepted
from morket.inbound.service import GONE as _GONE
from morket.inbound.service import InboundService, hash_token, map_rows
from morket.models import CellSource, InboundEndpoint, TableColumn
from morket.tables.service import RowService, TableService
from morket.tables.types import InvalidValue, parse_value

log = logging.getLogger("morket.inbound")
_MAX_KNOWN = 10_000


@dataclass(frozen=True)
class Target:
    """The endpoint a token named when the request arrived; re-checked in the group's transaction."""

    endpoint_id: uuid.UUID
    token_hash: str
    rate_limit_per_minute: int


@dataclass
class _Pending:
    target: Target
    rows: list[dict[str, Any]]
    answer: asyncio.Future[InboundAccepted] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _key(column: TableColumn, row: dict[str, Any]) -> Any:
    """A row's dedupe key as the append parses it (None: no key, the row is inserted)."""
    value = row.get(str(column.id))
    return None if value is None else parse_value(column.type, value)


class InboundBatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, max_rows: int = 1000) -> None:
        self._sessions = sessions
        self._max_rows = max_rows
        self._queues: dict[uuid.UUID, deque[_Pending]] = {}
        self._flushers: dict[uuid.UUID, asyncio.Task[None]] = {}
        # token hash -> endpoint, so a request needs no query of its own; every group re-reads its
        # endpoint in its transaction, so a rotated or revoked token is refused there (404) and dropped.
        self._known: dict[str, Target] = {}
        self.groups = 0  # transactions committed or failed (tests and benchmarks read it)

    async def target(self, session: AsyncSession, token: str) -> Target:
        """The endpoint of a token (404 if unknown, rotated or revoked), from memory when seen before."""
        token_hash = hash_token(token)
        known = self._known.get(token_hash)
        if known is not None:
            return known
        endpoint = await InboundService(session).endpoint_for(token)
        if len(self._known) >= _MAX_KNOWN:
            self._known.clear()
        known = self._known[token_hash] = Target(endpoint.id, token_hash, endpoint.rate_limit_per_minute)
        return known

    async def submit(self, target: Target, rows: list[dict[str, Any]]) -> InboundAccepted:
        """Store `rows` (already parsed) and return once they are committed; raises the payload's error."""
        pending = _Pending(target, rows)
        self._queues.setdefault(target.endpoint_id, deque()).append(pending)
        if target.endpoint_id not in self._flushers:
            task = asyncio.create_task(self._flush(target.endpoint_id), name=f"inbound-{target.endpoint_id}")
            self._flushers[target.endpoint_id] = task
        # A sender that disconnects does not cancel the write it handed over: shield the future.
        return await asyncio.shield(pending.answer)

    async def _flush(self, endpoint_id: uuid.UUID) -> None:
        queue = self._queues[endpoint_id]
        try:
            while queue:
                group = [queue.popleft()]
                rows = len(group[0].rows)
                while queue and rows + len(queue[0].rows) <= self._max_rows:
                    rows += len(queue[0].rows)
                    group.append(queue.popleft())
                await self._write(group)
        finally:
            del self._flushers[endpoint_id]
            if not queue:
                del self._queues[endpoint_id]
            else:  # only when cancelled at shutdown: answer whoever still waits
                for pending in queue:
                    pending.answer.set_exception(ServiceUnavailable("The server is shutting down; retry."))
                queue.clear()
                del self._queues[endpoint_id]

    @staticmethod
    async def _one(
        session: AsyncSession,
        rows_service: RowService,
        target: InboundEndpoint,
        cells: list[dict[str, Any]],
        ignored: list[str],
    ) -> InboundAccepted | AppError:
        """One payload under its own savepoint: its error rolls back only its rows."""
        try:
            async with session.begin_nested():
                result = await rows_service.append_rows(
                    target.workspace_id,
                    target.table_id,
                    cells,
                    actor_id=target.created_by,
                    source=CellSource.INBOUND,
                    key_column_id=target.key_column_id,
                )
        except AppError as exc:
            return exc
        return InboundAccepted(
            inserted=result.inserted, updated=result.updated, row_ids=result.row_ids, ignored_fields=ignored
        )

    @staticmethod
    async def _merged(
        session: AsyncSession,
        rows_service: RowService,
        target: InboundEndpoint,
        columns: list[TableColumn],
        mapped: list[tuple[list[dict[str, Any]], list[str]]],
    ) -> list[InboundAccepted] | None:
        """The whole group as one append (one COPY, one key lookup, one outbox batch).

        Without a dedupe key rows are inserted in order, so each payload's ids are its slice of
        the result. With one, the group's keys are looked up first under the table lock, so each
        payload is told what it would have been told alone in arrival order: a key that existed
        before it (in the table, or from an earlier payload of the group) is an update, a new one
        an insert with its row id; the append merges a repeated key's cells, the later ones win.
        None when a payload is refused (or its key cannot be read): the savepoint is rolled back
        and each payload is written on its own, so only the bad one fails.
        """
        cells = [row for payload, _ in mapped for row in payload]
        key_column = next((c for c in columns if c.id == target.key_column_id), None)
        if target.key_column_id is not None and key_column is None:
            return None
        try:
            async with session.begin_nested():
                keys: list[list[Any]] = []
                existing: dict[Any, int] = {}
                if key_column is not None:
                    table = await rows_service.tables.get(target.workspace_id, target.table_id, lock=True)
                    keys = [[_key(key_column, row) for row in payload] for payload, _ in mapped]
                    wanted = list(dict.fromkeys(k for payload in keys for k in payload if k is not None))
                    if wanted:
                        existing = await rows_service.storage.find_by_values(table.id, columns, key_column, wanted)
                result = await rows_service.append_rows(
                    target.workspace_id,
                    target.table_id,
                    cells,
                    actor_id=target.created_by,
                    source=CellSource.INBOUND,
                    key_column_id=target.key_column_id,
                    batch_size=max(len(cells), 1),  # one batch: the inserted ids come back in one known order
                )
        except (AppError, InvalidValue, TypeError):  # TypeError: a JSON key is no dict key
            return None
        answers: list[InboundAccepted] = []
        if key_column is None:
            start = 0
            for payload, ignored in mapped:
                ids = result.row_ids[start : start + len(payload)]
                start += len(payload)
                answers.append(InboundAccepted(inserted=len(ids), updated=0, row_ids=ids, ignored_fields=ignored))
            return answers
        # One batch inserts its keyless rows first, then each new key once, in order of first sight.
        keyless = sum(k is None for payload in keys for k in payload)
        unkeyed_ids = iter(result.row_ids[:keyless])
        new_ids = iter(result.row_ids[keyless:])
        created: dict[Any, int] = {}
        for (_, ignored), payload_keys in zip(mapped, keys, strict=True):
            fresh: list[int] = []
            updated = 0
            for key in dict.fromkeys(payload_keys):  # a key repeated within a payload is one row
                if key is None:
                    continue
                if key in existing or key in created:
                    updated += 1
                else:
                    created[key] = next(new_ids)
                    fresh.append(created[key])
            fresh = [next(unkeyed_ids) for k in payload_keys if k is None] + fresh
            answers.append(InboundAccepted(inserted=len(fresh), updated=updated, row_ids=fresh, ignored_fields=ignored))
        return answers

    async def _write(self, group: list[_Pending]) -> None:
        answers: list[tuple[_Pending, InboundAccepted | AppError]] = []
        self.groups += 1
        try:
            async with unit_of_work(self._sessions) as session:
                endpoint = await InboundRepository(session).live_by_id(group[0].target.endpoint_id)
                live = endpoint.token_hash if endpoint is not None else None
                for pending in group:
                    if pending.target.token_hash != live:  # rotated or revoked since the request read it
                        self._known.pop(pending.target.token_hash, None)
                        answers.append((pending, NotFound(_GONE, code="not_found")))
                valid = [pending for pending in group if pending.target.token_hash == live]
                if endpoint is not None and valid:
                    self._known[endpoint.token_hash] = Target(
                        endpoint.id, endpoint.token_hash, endpoint.rate_limit_per_minute
                    )
                    columns = await TableService(session).columns(endpoint.workspace_id, endpoint.table_id)
                    rows_service = RowService(session)
                    mapped = [map_rows(pending.rows, columns, endpoint.mapping) for pending in valid]
                    merged = (
                        await self._merged(session, rows_service, endpoint, columns, mapped) if len(valid) > 1 else None
                    )
                    if merged is not None:
                        answers.extend(zip(valid, merged, strict=True))
                    else:
                        for pending, (cells, ignored) in zip(valid, mapped, strict=True):
                            answers.append((pending, await self._one(session, rows_service, endpoint, cells, ignored)))
        except BaseException as exc:
            error: BaseException = exc
            if not isinstance(exc, AppError):
                log.exception("an inbound group of %d payload(s) failed; none of it is stored", len(group))
                error = ServiceUnavailable(
                    "The rows could not be stored; nothing was written, retry.", code="inbound_unavailable"
                )
            for pending in group:
                if not pending.answer.done():
                    pending.answer.set_exception(error)
            if not isinstance(exc, Exception):
                raise
            return
        # Committed: now, and only now, each sender hears its outcome.
        for pending, outcome in answers:
            if pending.answer.done():
                continue
            if isinstance(outcome, AppError):
                pending.answer.set_exception(outcome)
            else:
                pending.answer.set_result(outcome)
