"""Inbound endpoints' rules: one live secret URL per table, and what a POST to it stores.

Invariants (tests in tests/inbound/):
- the token is shown once (create, rotate); only its SHA-256 is stored; a rotated or revoked
  token answers 404 from the next request on (each process remembers token -> endpoint, but
  every write re-reads the endpoint in its own transaction and refuses a stale token);
- a payload is stored whole or not at all, and the 201 is sent after the commit: concurrent
  POSTs share one transaction (inbound/batcher.py), each under its own savepoint;
- with a key column, a row whose key exists updates that row (the table's row lock serialises
  concurrent senders, so a burst of the same key makes one row);
- rows land through `RowService.append_rows`, so they emit the same `rows.created` /
  `rows.updated` events as any write, and auto-run columns run on them (columns/autorun.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.errors import Conflict, NotFound, Unprocessable
from morket.core.text import json_problem
from morket.inbound.repository import InboundRepository
from morket.inbound.schemas import InboundConfig, InboundCreated, InboundOut, InboundUpdate
from morket.models import InboundEndpoint, TableColumn
from morket.tables.service import TableService

TOKEN_PREFIX = "minb_"
_DISPLAY = len(TOKEN_PREFIX) + 6
INBOUND_PATH = "/api/v1/inbound/"
MAX_IGNORED_REPORTED = 50
GONE = "No inbound URL with this token (it may have been rotated or revoked)."


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_payload(body: bytes, max_rows: int) -> list[dict[str, Any]]:
    """A JSON object (one row) or an array of objects; anything else is 422 with the reason."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Unprocessable(f"The body is not valid JSON: {exc}"[:300], code="invalid_json") from None
    rows = [payload] if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise Unprocessable("Send a JSON object (one row) or an array of objects.", code="invalid_payload")
    if not rows:
        raise Unprocessable("The array has no rows.", code="invalid_payload")
    if len(rows) > max_rows:
        raise Unprocessable(
            f"At most {max_rows} rows per request; send the rest in further requests.",
            code="too_many_rows",
            details={"max_rows": max_rows, "rows": len(rows)},
        )
    problems = [
        {"row": i, "message": "a row is a JSON object"} for i, row in enumerate(rows) if not isinstance(row, dict)
    ]
    if not problems:
        problems = [
            {"row": i, "message": problem} for i, row in enumerate(rows) if (problem := json_problem(row)) is not None
        ]
    if problems:
        raise Unprocessable("Some rows cannot be stored.", code="invalid_rows", details=problems[:100])
    return rows


def map_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[TableColumn], mapping: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows keyed by column id, and the payload fields that matched no column.

    With a mapping, only mapped fields are stored. Without one a field matches the column of the
    same name (exactly, else ignoring case) or a column id.
    """
    exact: dict[str, str]
    folded: dict[str, str] = {}
    if mapping is not None:
        live = {str(c.id) for c in columns}
        exact = {field: str(col) for field, col in mapping.items() if str(col) in live}
    else:
        exact = {c.name: str(c.id) for c in columns}
        exact.update({str(c.id): str(c.id) for c in columns})
        for column in columns:  # the first column in display order wins a clash of case
            folded.setdefault(column.name.casefold(), str(column.id))
    mapped: list[dict[str, Any]] = []
    ignored: dict[str, None] = {}
    for row in rows:
        cells: dict[str, Any] = {}
        for field, value in row.items():
            column_id = exact.get(field) or folded.get(field.casefold())
            if column_id is None:
                ignored.setdefault(field[:200], None)
                continue
            # JSON objects and arrays go to json columns as they are; a scalar column refuses them.
            cells[column_id] = value
        mapped.append(cells)
    return mapped, list(ignored)[:MAX_IGNORED_REPORTED]


class InboundService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = InboundRepository(session)
        self.tables = TableService(session)

    async def _check_columns(self, workspace_id: uuid.UUID, table_id: uuid.UUID, config: InboundConfig) -> None:
        columns = {c.id for c in await self.tables.columns(workspace_id, table_id)}
        wanted = set((config.mapping or {}).values())
        if config.key_column_id is not None:
            wanted.add(config.key_column_id)
        unknown = sorted(str(c) for c in wanted - columns)
        if unknown:
            raise Unprocessable(
                "The mapping or key names columns this table does not have.",
                code="unknown_column",
                details={"column_ids": unknown},
            )

    async def create(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, actor_id: uuid.UUID, body: InboundConfig, default_limit: int
    ) -> InboundCreated:
        await self.tables.get(workspace_id, table_id, lock=True)  # one creation at a time per table
        await self._check_columns(workspace_id, table_id, body)
        if await self.repo.live_for_table(workspace_id, table_id) is not None:
            raise Conflict("This table already has an inbound URL; rotate or revoke it.", code="inbound_exists")
        token = new_token()
        try:
            endpoint = await self.repo.add(
                InboundEndpoint(
                    workspace_id=workspace_id,
                    table_id=table_id,
                    token_hash=hash_token(token),
                    token_prefix=token[:_DISPLAY],
                    mapping={k: str(v) for k, v in body.mapping.items()} if body.mapping is not None else None,
                    key_column_id=body.key_column_id,
                    rate_limit_per_minute=body.rate_limit_per_minute or default_limit,
                    created_by=actor_id,
                )
            )
        except IntegrityError:
            raise Conflict("This table already has an inbound URL.", code="inbound_exists") from None
        return self._created(endpoint, token)

    async def get(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> InboundOut:
        return InboundOut.model_validate(await self._live(workspace_id, table_id))

    async def update(self, workspace_id: uuid.UUID, table_id: uuid.UUID, body: InboundUpdate) -> InboundOut:
        endpoint = await self._live(workspace_id, table_id, lock=True)
        merged = InboundConfig(
            mapping=body.mapping if "mapping" in body.model_fields_set else endpoint.mapping,
            key_column_id=body.key_column_id if "key_column_id" in body.model_fields_set else endpoint.key_column_id,
            rate_limit_per_minute=body.rate_limit_per_minute or endpoint.rate_limit_per_minute,
        )
        await self._check_columns(workspace_id, table_id, merged)
        endpoint.mapping = {k: str(v) for k, v in merged.mapping.items()} if merged.mapping is not None else None
        endpoint.key_column_id = merged.key_column_id
        endpoint.rate_limit_per_minute = merged.rate_limit_per_minute or endpoint.rate_limit_per_minute
        return InboundOut.model_validate(await self.repo.save(endpoint, datetime.now(UTC)))

    async def rotate(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> InboundCreated:
        """A new token; the old one stops working when this commits."""
        endpoint = await self._live(workspace_id, table_id, lock=True)
        token = new_token()
        endpoint.token_hash = hash_token(token)
        endpoint.token_prefix = token[:_DISPLAY]
        return self._created(await self.repo.save(endpoint, datetime.now(UTC)), token)

    async def revoke(self, workspace_id: uuid.UUID, table_id: uuid.UUID) -> InboundOut:
        endpoint = await self._live(workspace_id, table_id, lock=True)
        now = datetime.now(UTC)
        endpoint.revoked_at = now
        return InboundOut.model_validate(await self.repo.save(endpoint, now))

    async def endpoint_for(self, token: str) -> InboundEndpoint:
        """The live endpoint of a token; unknown, rotated and revoked tokens are all 404."""
        endpoint = await self.repo.live_by_hash(hash_token(token)) if token.startswith(TOKEN_PREFIX) else None
        if endpoint is None:
            raise NotFound(GONE, code="not_found")
        return endpoint

    async def _live(self, workspace_id: uuid.UUID, table_id: uuid.UUID, *, lock: bool = False) -> InboundEndpoint:
        await self.tables.get(workspace_id, table_id)
        endpoint = await self.repo.live_for_table(workspace_id, table_id, lock=lock)
        if endpoint is None:
            raise NotFound("This table has no inbound URL.")
        return endpoint

    @staticmethod
    def _created(endpoint: InboundEndpoint, token: str) -> InboundCreated:
        out = InboundOut.model_validate(endpoint)
        return InboundCreated(**out.model_dump(), token=token, path=INBOUND_PATH + token)
