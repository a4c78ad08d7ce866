"""The analytics consumer: the outbox drained in order into ClickHouse, in micro-batches.

The fast path (AnalyticsConsumer): PostgreSQL hands over the batch as JSON lines per event type,
and ClickHouse reads them into a Null table per type whose materialized view writes the fact
rows (schema.INGEST_TABLES): no Python object per event. When any event of the batch is already
in ClickHouse (a batch replayed after a crash), when ClickHouse refuses a block (a payload it
cannot read), and for the event types without an ingest table (job lifecycle), the batch goes
through the path below, event by event in Python.

Per batch (inside the outbox consumer's transaction, before its position is saved):
1. turn each followed event into fact rows (an unreadable payload is a dead letter);
2. ask ClickHouse which of the batch's event ids each fact table already holds (a batch replayed
   after a crash between the insert and the position commit) and drop those rows;
3. insert the rest per table with an insert deduplication token naming its event ids (a retried
   identical insert is dropped by ClickHouse itself);
4. if an insert fails for a reason other than a connection problem, insert event by event and
   dead-letter the events that still fail (PostgreSQL `analytics_dead_letters`); connection
   problems raise, so the batch is retried later and the position does not move.
So each committed event's facts arrive once, and materialized-view rollups count them once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from clickhouse_connect.driver.exceptions import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.analytics.engine import AnalyticsEngine
from morket.analytics.facts import COLUMNS, TABLE_OF, Row, credit_row, job_row, rows_of
from morket.analytics.repository import AnalyticsRepository, EventLines, LineBatch
from morket.analytics.schema import FACT_TABLES, INGEST_SETTINGS, INGEST_TABLES, ROLLUP_TABLES
from morket.core.db import unit_of_work
from morket.models import OutboxEventType
from morket.outbox.consumer import OutboxConsumer
from morket.outbox.repository import OutboxRepository, Position, StoredEvent
from morket.outbox.service import OutboxService

CONSUMER_NAME = "analytics"
log = logging.getLogger("morket.analytics")


def _token(table: str, event_ids: Sequence[int]) -> str:
    digest = hashlib.sha256(",".join(map(str, event_ids)).encode()).hexdigest()[:32]
    return f"{table}:{event_ids[0]}-{event_ids[-1]}:{len(event_ids)}:{digest}"


FOLLOWED = tuple(kind.value for kind in TABLE_OF)


def stored_event(line: dict[str, Any]) -> StoredEvent:
    """An event back from its JSON line (PostgreSQL's json_build_object in read_lines)."""
    table_id = line["table_id"]
    return StoredEvent(
        id=int(line["event_id"]),
        xid=int(line["xid"]),
        workspace_id=uuid.UUID(line["workspace_id"]),
        table_id=uuid.UUID(table_id) if table_id else None,
        event_type=OutboxEventType(line["event_type"]),
        aggregate_id=str(line["aggregate_id"]),
        payload=line["payload"],
        created_at=datetime.fromisoformat(line["created_at"]),
    )


def events_of(groups: Sequence[EventLines]) -> list[StoredEvent]:
    events = [stored_event(orjson.loads(line)) for group in groups for line in group.lines.split("\n")]
    events.sort(key=lambda e: (e.xid, e.id))
    return events


class AnalyticsSink:
    def __init__(self, engine: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.engine = engine
        self.sessions = sessions
        self.fallbacks = 0  # batches of fast types that went through the Python path (logged)

    async def handle_lines(self, batch: LineBatch) -> None:
        """A batch as JSON lines: the types with an ingest table straight into ClickHouse, the rest
        (and all of it when a fast insert is refused or the batch was partly inserted) in Python."""
        fast = [g for g in batch.groups if g.event_type in INGEST_TABLES]
        slow = [g for g in batch.groups if g.event_type not in INGEST_TABLES]
        if fast and await self._none_present(fast):
            try:
                for group in fast:
                    await self.engine.insert_raw(
                        INGEST_TABLES[group.event_type], group.lines.encode(), "JSONEachRow", INGEST_SETTINGS
                    )
            except OperationalError:
                raise
            except Exception as exc:  # noqa: BLE001 - a refused block: the Python path finds the events
                log.info("analytics: fast insert refused (%s); inserting event by event", str(exc)[:300])
                self.fallbacks += 1
                slow = batch.groups
        elif fast:
            log.info("analytics: part of the batch is in ClickHouse already; inserting event by event")
            self.fallbacks += 1
            slow = batch.groups
        if slow:
            await self.handle(events_of(slow))

    async def _none_present(self, groups: Sequence[EventLines]) -> bool:
        """True when ClickHouse holds none of these events' facts (so a blind insert counts each once)."""
        for group in groups:
            table = TABLE_OF[OutboxEventType(group.event_type)]
            if await self._present(table, group.ids):
                return False
        return True

    async def handle(self, events: Sequence[StoredEvent]) -> None:
        failed = await self.insert(events)
        if failed:
            async with unit_of_work(self.sessions) as session:
                await AnalyticsRepository(session).add_dead_letters(failed)
            log.warning("analytics: %d events dead-lettered", len(failed))

    async def insert(self, events: Sequence[StoredEvent]) -> list[tuple[StoredEvent, str]]:
        """Insert the events' facts once; returns the events that could not be inserted, with why."""
        by_id = {e.id: e for e in events}
        failed: list[tuple[StoredEvent, str]] = []
        tables: dict[str, dict[int, list[Row]]] = {}
        for event in events:
            try:
                found = rows_of(event)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                failed.append((event, f"unreadable payload: {type(exc).__name__}: {exc}"))
                continue
            if found is not None:
                tables.setdefault(found[0], {})[event.id] = found[1]
        for table, per_event in tables.items():
            try:
                await self._insert_new(table, per_event)
            except OperationalError:
                raise
            except Exception:  # noqa: BLE001 - a refused block: find the events that cause it
                for eid, rows in per_event.items():
                    try:
                        await self._insert_new(table, {eid: rows})
                    except OperationalError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - this event's facts cannot go in
                        failed.append((by_id[eid], f"{type(exc).__name__}: {str(exc)[:1500]}"))
        return failed

    async def _insert_new(self, table: str, per_event: dict[int, list[Row]]) -> None:
        """Insert the rows of the events this table does not hold yet."""
        present = await self._present(table, list(per_event))
        todo = {eid: rows for eid, rows in per_event.items() if eid not in present}
        if todo:
            await self._insert(table, todo)

    async def _present(self, table: str, event_ids: list[int]) -> set[int]:
        # A range, not `IN (20,000 ids)`: binding the list cost more than the insert; the minmax
        # index on event_id skips every part outside it, and the answer is intersected here.
        rows = await self.engine.query(
            f"SELECT DISTINCT event_id FROM {table} WHERE event_id BETWEEN {{low:UInt64}} AND {{high:UInt64}}",
            {"low": min(event_ids), "high": max(event_ids)},
        )
        wanted = set(event_ids)
        return {int(r[0]) for r in rows} & wanted

    async def _insert(self, table: str, per_event: dict[int, list[Row]]) -> None:
        ids = sorted(per_event)
        rows = [row for eid in ids for row in per_event[eid]]
        await self.engine.insert(table, rows, COLUMNS[table], token=_token(table, ids))


class AnalyticsConsumer(OutboxConsumer):
    """The outbox consumer whose batches are read as JSON lines (AnalyticsSink.handle_lines).

    Pipelined: while a full batch is inserted, the next one is read on another connection. The
    events after a position never change (an event becomes readable only once every older
    transaction has finished, so it sorts after everything readable before it: docs/outbox.md),
    so the batch read ahead is the one a fresh read would return, as long as the consumer's
    position is still the one it was read after when its turn comes (another instance may have
    moved it); otherwise, or when the read ahead found nothing, it is read again.
    """

    def __init__(
        self, engine: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], batch_size: int = 20_000
    ) -> None:
        self.sink = AnalyticsSink(engine, sessions)
        super().__init__(CONSUMER_NAME, self.sink.handle, sessions, batch_size=batch_size)
        self._ahead: tuple[Position, asyncio.Task[LineBatch | None]] | None = None

    async def _read(self, after: Position) -> LineBatch | None:
        async with self.sessions() as session:
            return await AnalyticsRepository(session).read_lines(after, self.batch_size, FOLLOWED)

    async def _read_ahead(self, position: Position) -> LineBatch | None:
        """The batch read ahead after `position`, if there is one (any other is dropped)."""
        if self._ahead is None:
            return None
        after, task = self._ahead
        self._ahead = None
        if after != position:
            task.cancel()
            return None
        try:
            return await task
        except Exception:
            log.debug("analytics: the read ahead failed", exc_info=True)
            return None

    async def run_once(self) -> int:
        async with unit_of_work(self.sessions) as session:
            position = await OutboxRepository(session).lock_consumer(self.name)
            if position is None:
                await self._read_ahead(Position(-1, -1))  # another instance runs: drop it
                return 0
            batch = await self._read_ahead(position)
            if batch is None:
                batch = await AnalyticsRepository(session).read_lines(position, self.batch_size, FOLLOWED)
            if batch is None:
                return 0
            if batch.more:
                self._ahead = (batch.last, asyncio.create_task(self._read(batch.last)))
            await self.sink.handle_lines(batch)
            await OutboxRepository(session).save_consumer(self.name, batch.last)
            return batch.count


def analytics_consumer(
    engine: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], batch_size: int = 20_000
) -> OutboxConsumer:
    return AnalyticsConsumer(engine, sessions, batch_size)


async def replay_dead_letters(
    engine: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], batch: int = 1000
) -> tuple[int, int]:
    """Insert dead-lettered events again; those that go in are deleted. Returns (replayed, still failing)."""
    sink = AnalyticsSink(engine, sessions)
    replayed = failing = 0
    seen: set[int] = set()
    while True:
        async with unit_of_work(sessions) as session:
            repo = AnalyticsRepository(session)
            events = [e for e in await repo.dead_letters(batch + len(seen)) if e.id not in seen]
            if not events:
                break
            failed = await sink.insert(events)
            bad = {e.id for e, _ in failed}
            await repo.remove_dead_letters([e.id for e in events if e.id not in bad])
            if failed:
                await repo.add_dead_letters(failed)
            replayed += len(events) - len(bad)
            failing += len(bad)
            seen.update(bad)
    return replayed, failing


@dataclass(frozen=True)
class Lag:
    seconds: float
    pending_events: int
    dead_letters: int
    position: Position | None


async def consumer_lag(sessions: async_sessionmaker[AsyncSession]) -> Lag:
    """How far the analytics consumer is behind: age of the oldest event it has not handled."""
    async with sessions() as session:
        position, backlog = await OutboxService(session).consumer_backlog(CONSUMER_NAME)
        dead = await AnalyticsRepository(session).dead_letter_count()
    oldest = backlog.oldest
    seconds = max(0.0, (backlog.now - oldest).total_seconds()) if oldest is not None else 0.0
    return Lag(seconds=seconds, pending_events=backlog.pending, dead_letters=dead, position=position)


class BackfillBusy(RuntimeError):
    pass


async def backfill(
    engine: AnalyticsEngine, sessions: async_sessionmaker[AsyncSession], *, page: int = 20_000
) -> dict[str, int]:
    """Rebuild ClickHouse from PostgreSQL (ledger, attempts, jobs), then follow the outbox from there.

    Holds the consumer's row (a running consumer skips its batches meanwhile) and reads the source
    tables in one REPEATABLE READ snapshot, keeping only rows written by transactions older than
    the snapshot's xmin (by the rows' `xmin`). Every later transaction's events are after the
    position (xmin - 1, max) that the consumer is then given, so each fact comes either from the
    backfill or from the stream, never both, without waiting for a moment with no open transaction.
    """
    async with unit_of_work(sessions) as lock_session:
        lock_repo = AnalyticsRepository(lock_session)
        if await lock_repo.lock_position(CONSUMER_NAME) is None:
            raise BackfillBusy("the analytics consumer is busy; try again")
        async with sessions() as snap:
            await snap.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            repo = AnalyticsRepository(snap)
            xmin = await repo.snapshot_xmin()
            for table in (*FACT_TABLES, *ROLLUP_TABLES):
                await engine.command(f"TRUNCATE TABLE IF EXISTS {table}")
            counts = await _copy_sources(engine, repo, xmin, page)
            await snap.rollback()
        await lock_repo.save_position(CONSUMER_NAME, Position(xmin - 1, 2**63 - 1))
    return counts


async def _copy_sources(engine: AnalyticsEngine, repo: AnalyticsRepository, xmin: int, page: int) -> dict[str, int]:
    from morket.analytics.capture import scrape_of
    from morket.analytics.facts import attempt_row, scrape_row

    counts = dict.fromkeys(TABLE_OF.values(), 0)
    after = 0
    while rows := await repo.backfill_attempts(xmin, after, page):
        facts = [
            attempt_row(
                r.workspace_id,
                r.created_at,
                0,
                r.id,
                r.job_id,
                r.record_id,
                r.field,
                r.provider,
                r.outcome,
                r.cost,
                r.cached,
                r.duration_ms,
            )
            for r in rows
        ]
        await engine.insert("enrichment_attempts", facts, COLUMNS["enrichment_attempts"])
        counts["enrichment_attempts"] += len(facts)
        after = rows[-1].id
    after = 0
    while rows := await repo.backfill_ledger(xmin, after, page):
        facts = [
            credit_row(
                r.workspace_id,
                r.created_at,
                r.seq,
                0,
                str(r.type),
                r.amount,
                r.reserved_delta,
                r.balance_after,
                r.job_id,
                r.field,
                r.idempotency_key,
            )
            for r in rows
        ]
        await engine.insert("credit_transactions", facts, COLUMNS["credit_transactions"])
        counts["credit_transactions"] += len(facts)
        after = rows[-1].seq
    after = 0
    while rows := await repo.backfill_scrapes(xmin, after, page):
        facts = []
        for r in rows:
            domain, outcome, fetched_with = scrape_of(r.raw, r.outcome)
            facts.append(
                scrape_row(
                    r.workspace_id,
                    r.created_at,
                    0,
                    r.id,
                    r.job_id,
                    r.record_id,
                    domain,
                    r.field,
                    outcome,
                    fetched_with,
                    r.duration_ms,
                )
            )
        await engine.insert("scrape_tasks", facts, COLUMNS["scrape_tasks"])
        counts["scrape_tasks"] += len(facts)
        after = rows[-1].id
    jobs: list[Row] = []
    for r in await repo.backfill_jobs(xmin):
        base = {
            "job_id": r.id,
            "kind": "column_run" if r.table_id is not None else "enrichment",
            "record_count": r.record_count,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "created_at": r.created_at,
        }
        jobs.append(job_row(r.workspace_id, r.created_at, 0, {**base, "status": "queued"}))
        if r.started_at is not None:
            jobs.append(job_row(r.workspace_id, r.started_at, 0, {**base, "status": "running"}))
        if r.finished_at is not None:
            final = {
                **base,
                "status": r.status,
                "completed": r.completed_count,
                "failed": r.failed_count,
                "cancelled": r.cancelled_count,
                "credits_spent": r.credits_spent,
            }
            jobs.append(job_row(r.workspace_id, r.finished_at, 0, final))
    await engine.insert("jobs", jobs, COLUMNS["jobs"])
    counts["jobs"] = len(jobs)
    return counts
