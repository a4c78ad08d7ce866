"""Inline job records go into a table (issue 10, item 3): one store of prospect data.

`POST /enrichment-jobs` with `records` keeps its contract, but the records become rows of a
table: a new one named after the job, or the `table_id` the caller names (its columns matched by
name, case-insensitively; missing ones created). Each record key is a data column, each field
asked for is an enrichment column (its config says how it is filled, so the grid can run it
again), one row per record. The job is then a column run over those rows: its records name
their row, and its `target` says which column each field fills and which column each input key
was read from (`inputs`), so the job's record endpoints read input and output from the table.
See docs/enrichment.md, "Inline records live in a table".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.columns import sink
from morket.columns.kinds import WritePolicy, input_keys
from morket.core.errors import Unprocessable
from morket.models import CellSource, ColumnKind, ColumnType
from morket.tables.schemas import ColumnCreate, TableCreate
from morket.tables.service import RowService, TableService

MAX_KEYS = 200  # distinct record keys (data columns) of one job
ENRICHED_SUFFIX = " (enriched)"
YIELD_EVERY = 500  # rows parsed between two yields to the event loop


@dataclass(frozen=True)
class InlineTable:
    table_id: uuid.UUID
    target: dict[str, Any]  # sink.target_for(...) plus "inputs": {record key: column id}
    row_ids: list[int]


def record_keys(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every key of the records, in first-seen order; refused past MAX_KEYS (a column each)."""
    keys: dict[str, None] = {}
    for record in records:
        for key in record:
            if key not in keys:
                keys[key] = None
                if len(keys) > MAX_KEYS:
                    raise Unprocessable(
                        f"The records use more than {MAX_KEYS} different keys; each becomes a table column.",
                        code="invalid_enrichment_request",
                        details=[{"field": "records", "message": f"more than {MAX_KEYS} distinct keys"}],
                    )
    return list(keys)


def key_type(records: Sequence[Mapping[str, Any]], key: str) -> ColumnType:
    """Text when every value of the key is text (or missing), else JSON: values keep their shape."""
    for record in records:
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            return ColumnType.JSON
    return ColumnType.TEXT


def field_column_name(field: str, keys: Sequence[str]) -> str:
    """A field asked for that is also a record key (an input) gets its own column."""
    folded = {k.strip().casefold() for k in keys}
    return field + ENRICHED_SUFFIX if field.casefold() in folded else field


def _unique(name: str, taken: set[str]) -> str:
    base = name.strip() or "column"
    candidate, n = base[:200], 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 200 - len(suffix)] + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


class InlineTableBuilder:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tables = TableService(session)
        self.rows = RowService(session)

    async def build(
        self,
        workspace_id: uuid.UUID,
        user_id: uuid.UUID | None,
        *,
        table_id: uuid.UUID | None,
        name: str,
        records: Sequence[Mapping[str, Any]],
        fields: Sequence[str],
        waterfall: Mapping[str, Sequence[str]],
    ) -> InlineTable:
        keys = record_keys(records)
        if table_id is None:
            table_id = (await self.tables.create_table(workspace_id, user_id, TableCreate(name=name[:200]))).id
        existing = {c.name.casefold(): c for c in await self.tables.columns(workspace_id, table_id)}
        taken = set(existing)
        problems: list[dict[str, Any]] = []

        inputs: dict[str, uuid.UUID] = {}
        for key in keys:
            column = existing.get(key.strip().casefold())
            if column is None:
                spec = ColumnCreate(name=_unique(key, taken), type=key_type(records, key))
                inputs[key] = await self._add(workspace_id, table_id, spec)
                continue
            if column.kind not in (ColumnKind.DATA, ColumnKind.ENRICHMENT):
                problems.append({"field": "records", "message": f"'{key}' is a {column.kind.value} column"})
            inputs[key] = column.id

        readable = {k: str(c) for k, c in inputs.items() if k in input_keys()}
        outputs: dict[str, uuid.UUID] = {}
        for field in fields:
            wanted = field_column_name(field, keys)
            column = existing.get(wanted.casefold())
            if column is None:
                config = {
                    "field": field,
                    "waterfall": list(waterfall[field]),
                    "inputs": readable,
                    "auto_run": False,
                    "write_policy": WritePolicy.FILL_EMPTY.value,
                }
                spec = ColumnCreate(
                    name=_unique(wanted, taken), type=ColumnType.JSON, kind=ColumnKind.ENRICHMENT, config=config
                )
                outputs[field] = await self._add(workspace_id, table_id, spec)
                continue
            if column.kind not in (ColumnKind.DATA, ColumnKind.ENRICHMENT):
                problems.append({"field": f"fields.{field}", "message": f"'{wanted}' is a {column.kind.value} column"})
            outputs[field] = column.id
        if problems:
            raise Unprocessable(
                "The records do not fit the table.", code="invalid_enrichment_request", details=problems
            )

        try:
            appended = await self.rows.append_rows(
                workspace_id, table_id, _cells(records, inputs), actor_id=user_id, source=CellSource.IMPORT
            )
        except Unprocessable as exc:  # a value that does not fit a named table's column type
            key_of = {str(c): k for k, c in inputs.items()}
            details = exc.details if isinstance(exc.details, list) else []
            raise Unprocessable(
                "Some records do not fit the table's columns; nothing was written.",
                code="invalid_records",
                details=[
                    {
                        "field": f"records.{d.get('row')}.{key_of.get(str(d.get('column_id')), '')}",
                        "index": d.get("row"),
                        "message": d.get("message"),
                    }
                    for d in details
                ],
            ) from None
        target = sink.target_for(outputs[fields[0]], outputs, WritePolicy.FILL_EMPTY)
        target["inputs"] = {k: str(c) for k, c in inputs.items()}
        return InlineTable(table_id=table_id, target=target, row_ids=list(appended.row_ids))

    async def _add(self, workspace_id: uuid.UUID, table_id: uuid.UUID, spec: ColumnCreate) -> uuid.UUID:
        return (await self.tables.add_column(workspace_id, table_id, spec)).id


async def _cells(
    records: Sequence[Mapping[str, Any]], inputs: Mapping[str, uuid.UUID]
) -> AsyncIterator[dict[str, Any]]:
    """Rows keyed by column id; yields to the event loop now and then (100,000 records)."""
    for index, record in enumerate(records):
        if index and index % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        yield {str(inputs[key]): value for key, value in record.items()}
