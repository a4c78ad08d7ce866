"""Outbox events (and, for the backfill, PostgreSQL rows) as ClickHouse fact rows. Pure functions.

Rows hold values ready for the Native insert, so the consumer spends as little as it can per fact:
timestamps as milliseconds since the epoch (DateTime64(3)), UUIDs as their text (every UUID
column gets text, never a mix: clickhouse-connect picks the encoding from a column's first value).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from morket.models import OutboxEventType
from morket.outbox.repository import StoredEvent

ATTEMPT_COLUMNS = (
    "workspace_id",
    "ts",
    "event_id",
    "item",
    "job_id",
    "record_id",
    "field",
    "provider",
    "outcome",
    "found",
    "cost",
    "cached",
    "latency_ms",
)
CREDIT_COLUMNS = (
    "workspace_id",
    "ts",
    "seq",
    "event_id",
    "type",
    "amount",
    "reserved_delta",
    "balance_after",
    "job_id",
    "field",
    "provider",
)
JOB_COLUMNS = (
    "workspace_id",
    "ts",
    "event_id",
    "job_id",
    "kind",
    "status",
    "record_count",
    "completed",
    "failed",
    "cancelled",
    "credits_spent",
    "duration_ms",
    "queue_ms",
)
SCRAPE_COLUMNS = (
    "workspace_id",
    "ts",
    "event_id",
    "item",
    "job_id",
    "record_id",
    "domain",
    "field",
    "outcome",
    "fetched_with",
    "latency_ms",
)
COLUMNS = {
    "enrichment_attempts": ATTEMPT_COLUMNS,
    "credit_transactions": CREDIT_COLUMNS,
    "jobs": JOB_COLUMNS,
    "scrape_tasks": SCRAPE_COLUMNS,
}
TABLE_OF = {
    OutboxEventType.ENRICHMENT_ATTEMPTS: "enrichment_attempts",
    OutboxEventType.CREDIT_TRANSACTIONS: "credit_transactions",
    OutboxEventType.JOB_LIFECYCLE: "jobs",
    OutboxEventType.SCRAPE_TASKS: "scrape_tasks",
}
# The scraper's own outcomes (morket_scraper.models.Outcome); a call that got no result is an error.
SCRAPE_OUTCOMES = ("success", "no_data", "refused", "blocked", "error")
FOUND = "success"

Row = list[Any]


def _ts(value: Any, default: datetime) -> datetime:
    if value is None:
        return default
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def millis(value: datetime) -> int:
    """Milliseconds since the epoch, exact (microseconds are exact in a double at this range)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1_000_000) // 1000


def _uuid(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def provider_of_debit_key(key: str | None, job_id: Any) -> str:
    """Enrichment debits are keyed `<job>:<record>:<field>:<provider>` (docs/enrichment.md)."""
    if not key or job_id in (None, ""):
        return ""
    parts = key.removeprefix("refund:").split(":")
    return parts[3] if len(parts) == 4 else ""


def attempt_row(
    workspace_id: uuid.UUID,
    ts: datetime,
    event_id: int,
    item: int,
    job_id: Any,
    record_id: Any,
    field: str,
    provider: str,
    outcome: str,
    cost: int,
    cached: bool,
    latency_ms: int,
) -> Row:
    found = outcome == FOUND
    return [
        str(workspace_id),
        millis(ts),
        event_id,
        item,
        str(job_id),
        str(record_id),
        str(field),
        str(provider),
        str(outcome),
        int(found),
        int(cost),
        int(bool(cached)),
        max(0, int(latency_ms)),
    ]


def credit_row(
    workspace_id: uuid.UUID,
    ts: datetime,
    seq: int,
    event_id: int,
    kind: str,
    amount: int,
    reserved_delta: int,
    balance_after: int,
    job_id: Any,
    field: str | None,
    key: str | None,
) -> Row:
    return [
        str(workspace_id),
        millis(ts),
        int(seq),
        event_id,
        str(kind),
        int(amount),
        int(reserved_delta),
        int(balance_after),
        _uuid(job_id),
        field or "",
        provider_of_debit_key(key, job_id) if kind in ("debit", "refund") else "",
    ]


def _between_ms(start: Any, end: Any, default: datetime) -> int:
    if not start or not end:
        return 0
    return max(0, int((_ts(end, default) - _ts(start, default)).total_seconds() * 1000))


def job_row(workspace_id: uuid.UUID, ts: datetime, event_id: int, payload: dict[str, Any]) -> Row:
    """A job entered a status: queued, running (its queue time) or final (its duration)."""
    status = str(payload["status"])
    started = payload.get("started_at")
    duration = _between_ms(started, payload.get("finished_at"), ts)
    # Queue time is counted on the "running" fact only, so each job counts it once.
    queue = _between_ms(payload.get("created_at"), started, ts) if status == "running" else 0
    return [
        str(workspace_id),
        millis(ts),
        event_id,
        str(uuid.UUID(str(payload["job_id"]))),
        str(payload.get("kind", "enrichment")),
        status,
        int(payload.get("record_count", 0)),
        int(payload.get("completed", 0)),
        int(payload.get("failed", 0)),
        int(payload.get("cancelled", 0)),
        int(payload.get("credits_spent", 0)),
        duration,
        queue,
    ]


def scrape_row(
    workspace_id: uuid.UUID,
    ts: datetime,
    event_id: int,
    item: int,
    job_id: Any,
    record_id: Any,
    domain: str,
    field: str,
    outcome: str,
    fetched_with: str | None,
    latency_ms: int,
) -> Row:
    outcome = str(outcome)
    if outcome not in SCRAPE_OUTCOMES:
        raise ValueError(f"unknown scrape outcome {outcome!r}")
    return [
        str(workspace_id),
        millis(ts),
        event_id,
        item,
        str(job_id),
        str(record_id),
        str(domain),
        str(field),
        outcome,
        str(fetched_with or ""),
        max(0, int(latency_ms)),
    ]


def rows_of(event: StoredEvent) -> tuple[str, list[Row]] | None:
    """The fact table and rows of one event; None for events analytics does not follow.

    Raises (KeyError, ValueError, TypeError) on a payload that cannot be read: a dead letter.
    """
    table = TABLE_OF.get(event.event_type)
    if table is None:
        return None
    p = event.payload
    ws = event.workspace_id
    if table == "enrichment_attempts":
        return table, [
            attempt_row(
                ws,
                event.created_at,
                event.id,
                i,
                p["job_id"],
                a["record_id"],
                a["field"],
                a["provider"],
                a["outcome"],
                a["cost"],
                a["cached"],
                a["latency_ms"],
            )
            for i, a in enumerate(p["attempts"])
        ]
    if table == "credit_transactions":
        return table, [
            credit_row(
                ws,
                _ts(r.get("created_at"), event.created_at),
                r["seq"],
                event.id,
                r["type"],
                r["amount"],
                r["reserved_delta"],
                r["balance_after"],
                r.get("job_id"),
                r.get("field"),
                r.get("key"),
            )
            for r in p["rows"]
        ]
    if table == "scrape_tasks":
        return table, [
            scrape_row(
                ws,
                event.created_at,
                event.id,
                i,
                p["job_id"],
                t["record_id"],
                t["domain"],
                t["field"],
                t["outcome"],
                t.get("fetched_with"),
                t["latency_ms"],
            )
            for i, t in enumerate(p["tasks"])
        ]
    status = p.get("status")
    moment = p.get("started_at") if status == "running" else None if status == "queued" else p.get("finished_at")
    return table, [job_row(ws, _ts(moment, event.created_at), event.id, p)]


def group_rows(events: Sequence[StoredEvent]) -> dict[str, dict[int, list[Row]]]:
    """table -> event id -> rows (events analytics does not follow are left out)."""
    out: dict[str, dict[int, list[Row]]] = {}
    for event in events:
        found = rows_of(event)
        if found is not None:
            out.setdefault(found[0], {})[event.id] = found[1]
    return out
