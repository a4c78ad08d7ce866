"""Running an HTTP API column on rows: the run's rules (API side and worker side) and the
activities of its workflow (`http_workflows.py`). docs/columns.md.

A run is a row of `http_column_runs`; its rows are the cells whose state names it. Starting one
selects the rows (`row_ids` ∧ `filter` ∧ `only_if` ∧ empty cell under fill-empty or
`only_empty` ∧ every column the URL reads is non-empty), marks their cells `queued` and, after
the commit, starts the workflow. Each chunk marks its rows `running`, makes the requests at the
column's rate, and writes values, states, history and counters in one transaction. Nothing is
ever charged: no credit is reserved, debited or refunded on this path.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client

from morket.columns import context as kind_context
from morket.columns.http import (
    HttpConfig,
    HttpKind,
    Outcome,
    RenderError,
    parse_path,
    render,
    sample_url,
    secret_refs,
    send,
    url_refs,
)
from morket.columns.http_repository import HttpRunRepository
from morket.columns.http_workflows import FINISH_HTTP_RUN, HTTP_RUN_WORKFLOW, RUN_HTTP_CHUNK
from morket.columns.kinds import KindContext
from morket.columns.policy import WritePolicy
from morket.columns.repository import ColumnsRepository
from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.core.errors import NotFound, Unprocessable
from morket.core.netsafety import DestinationRefused, parse_destination, resolve_public
from morket.credentials.service import CredentialService
from morket.models import (
    CellSource,
    ColumnKind,
    DataTable,
    HttpColumnRun,
    HttpRunStatus,
    TableColumn,
)
from morket.runs import lifecycle
from morket.runs.activities import PacedRunActivities
from morket.runs.pacing import PacingClock, heartbeat
from morket.runs.workflow import FinishInput, StepInput, StepResult
from morket.tables.query import Conjunction, FilterCondition, FilterGroup, FilterOperator
from morket.tables.service import RowService, TableService
from morket.tables.types import TEXT_LIKE
from morket.webhooks.destinations import loopback_allowance

# A chunk is about this many seconds of requests at the column's rate (rows = rate x this).
CHUNK_SECONDS = 5
MIN_CHUNK_ROWS = 5
# Requests start a little under the limit, so jitter on the way does not push the server over it.
RATE_MARGIN = 0.95
FINISH_BATCH = 5000
CANCEL_POLL_SECONDS = 1.0
MAX_IN_FLIGHT = 10
_SENTINEL = "zzmorkettemplatezz"


class HttpRunRequest(BaseModel):
    """Which rows to run an HTTP column on. No `row_ids` and no `filter`: every row."""

    model_config = ConfigDict(extra="forbid")

    row_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(default=None, min_length=1, max_length=50_000)
    filter: FilterGroup | None = None
    only_empty: bool = Field(default=False, description="only rows whose cell in the column is empty")


class HttpRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    table_id: uuid.UUID
    column_id: uuid.UUID
    status: HttpRunStatus
    row_count: int
    done_count: int
    no_data_count: int
    error_count: int
    rate_limit_per_second: int
    error: str | None
    cancel_requested_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    rows_missing_inputs: int | None = Field(
        default=None, description="on start: selected rows the URL cannot be built for"
    )


def _all(*parts: FilterCondition | FilterGroup | None) -> FilterGroup:
    return FilterGroup(conjunction=Conjunction.AND, conditions=[p for p in parts if p is not None])


def _now() -> str:
    return datetime.now(UTC).isoformat()


def cell_state(name: str, run_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {"state": name, "run_id": str(run_id), "at": _now(), **{k: v for k, v in extra.items() if v is not None}}


def workflow_id_of(run_id: uuid.UUID) -> str:
    return f"http-column-run-{run_id}"


@dataclass
class ChunkWork:
    """One chunk's rows and what it needs to make their requests (secrets only in memory)."""

    run: HttpColumnRun
    config: HttpConfig | None = None
    refs: dict[str, uuid.UUID] = field(default_factory=dict)
    rows: list[tuple[int, dict[uuid.UUID, Any]]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    finished: bool = False
    error: str | None = None
    limit: int = MIN_CHUNK_ROWS


def _empty_run(table: DataTable, column: TableColumn, config: HttpConfig, user_id: uuid.UUID | None) -> HttpColumnRun:
    """A run with no row, not stored (an auto-run whose rows did not qualify)."""
    now = datetime.now(UTC)
    return HttpColumnRun(
        id=uuid.uuid4(),
        workspace_id=table.workspace_id,
        table_id=table.id,
        column_id=column.id,
        status=HttpRunStatus.COMPLETED,
        row_count=0,
        done_count=0,
        no_data_count=0,
        error_count=0,
        rate_limit_per_second=config.rate_limit_per_second,
        created_by=user_id,
        started_at=None,
        finished_at=now,
        created_at=now,
    )


class HttpRunService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.tables = TableService(session)
        self.repo = HttpRunRepository(session)

    async def _column(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, column_id: uuid.UUID
    ) -> tuple[DataTable, list[TableColumn], TableColumn]:
        table = await self.tables.get(workspace_id, table_id)
        columns = await self.tables.columns(workspace_id, table_id)
        column = next((c for c in columns if c.id == column_id), None)
        if column is None:
            raise NotFound("Column not found.")
        return table, columns, column

    async def _checked_config(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, columns: Sequence[TableColumn], column: TableColumn
    ) -> HttpConfig:
        """The stored config checked again: a column it reads or a secret may be gone since."""
        ctx = await kind_context.prepare(
            self.session,
            workspace_id,
            ColumnKind.HTTP,
            column.type,
            column.config,
            KindContext(table_id, columns, column.id),
        )
        stored = HttpKind().validate(column.config, ctx)
        return HttpConfig.model_validate({k: v for k, v in stored.items() if k != "refs"})

    # -- API side -------------------------------------------------------------------------------

    async def start(
        self,
        workspace_id: uuid.UUID,
        user_id: uuid.UUID | None,
        table_id: uuid.UUID,
        column_id: uuid.UUID,
        body: HttpRunRequest,
        *,
        record_empty: bool = True,
    ) -> tuple[HttpRunOut, HttpColumnRun | None]:
        """Select the rows, queue their cells, record the run. The caller commits, then starts
        the workflow (`start_workflow`). No row qualifying: no run to start (`None`); it is
        recorded as completed with 0 rows unless `record_empty` is off (auto-run)."""
        table, columns, column = await self._column(workspace_id, table_id, column_id)
        if column.kind is not ColumnKind.HTTP:
            raise Unprocessable(
                f"A {column.kind.value} column is not an HTTP column.",
                code="invalid_run",
                details=[{"field": "column_id", "message": "not an HTTP column"}],
            )
        config = await self._checked_config(workspace_id, table_id, columns, column)
        await self._check_static_host(config)
        selection, runnable = self._selection(column, config, body)
        repo = ColumnsRepository(self.session)
        rows = [r for r, _ in await repo.run_rows(table_id, columns, runnable, body.row_ids, [])]
        if not rows and not record_empty:
            return HttpRunOut.model_validate(_empty_run(table, column, config, user_id)), None
        if body.row_ids is None:
            selected = await repo.count_rows(table_id, columns, selection)
        else:
            selected = len(await repo.run_rows(table_id, columns, selection, body.row_ids, []))
        run = HttpColumnRun(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            table_id=table.id,
            column_id=column.id,
            status=HttpRunStatus.QUEUED,
            row_count=len(rows),
            done_count=0,
            no_data_count=0,
            error_count=0,
            rate_limit_per_second=config.rate_limit_per_second,
            created_by=user_id,
        )
        run.workflow_id = workflow_id_of(run.id)
        if not rows:
            run.status = HttpRunStatus.COMPLETED
            run.finished_at = datetime.now(UTC)
        run = await self.repo.add(run)
        if rows:
            rows_service = RowService(self.session)
            await rows_service.set_cell_states(
                workspace_id, table_id, column.id, [(r, cell_state("queued", run.id)) for r in rows]
            )
        out = HttpRunOut.model_validate(run).model_copy(update={"rows_missing_inputs": selected - len(rows)})
        return out, (run if rows else None)

    @staticmethod
    def _selection(column: TableColumn, config: HttpConfig, body: HttpRunRequest) -> tuple[FilterGroup, FilterGroup]:
        """(rows selected, rows runnable): runnable rows also have every cell the URL reads."""
        refs = {name: uuid.UUID(c) for name, c in column.config.get("refs", {}).items()}
        empty = None
        if body.only_empty or config.write_policy is WritePolicy.FILL_EMPTY:
            empty = FilterCondition(column_id=column.id, operator=FilterOperator.IS_EMPTY)
        selection = _all(body.filter, config.only_if, empty)
        needed = [
            FilterCondition(column_id=refs[name], operator=FilterOperator.IS_NOT_EMPTY)
            for name in sorted(url_refs(config))
            if name in refs
        ]
        return selection, _all(selection, *needed)

    async def count(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, column_id: uuid.UUID, body: HttpRunRequest
    ) -> tuple[int, int]:
        """(rows a run would request, selected rows the URL cannot be built for): the preview."""
        _, columns, column = await self._column(workspace_id, table_id, column_id)
        config = await self._checked_config(workspace_id, table_id, columns, column)
        selection, runnable = self._selection(column, config, body)
        repo = ColumnsRepository(self.session)
        if body.row_ids is None:
            rows = await repo.count_rows(table_id, columns, runnable)
            selected = await repo.count_rows(table_id, columns, selection)
        else:
            rows = len(await repo.run_rows(table_id, columns, runnable, body.row_ids, []))
            selected = len(await repo.run_rows(table_id, columns, selection, body.row_ids, []))
        return rows, selected - rows

    async def _check_static_host(self, config: HttpConfig) -> None:
        """A URL whose host is fixed is checked now (a refused destination is a 422 before anything
        starts); a host built from cells is checked before each request."""
        sample = sample_url(config.url, _SENTINEL)
        try:
            if _SENTINEL in parse_destination(sample).host:
                return
            await resolve_public(sample, loopback_allowance(self.settings))
        except DestinationRefused as exc:
            raise Unprocessable(
                f"The URL cannot be called: {exc}.",
                code="destination_refused",
                details=[{"field": "config.url", "message": str(exc)}],
            ) from None

    async def start_workflow(self, client: Client, run: HttpColumnRun) -> None:
        await lifecycle.start_workflow(client, self.settings, HTTP_RUN_WORKFLOW, run)

    async def get(self, workspace_id: uuid.UUID, run_id: uuid.UUID) -> HttpRunOut:
        return HttpRunOut.model_validate(await lifecycle.find(self.repo, workspace_id, run_id))

    async def cancel(self, workspace_id: uuid.UUID, run_id: uuid.UUID) -> HttpRunOut:
        """Ask the run to stop: the current chunk stops sending within a second, the rows not
        reached show `cancelled`. A finished run is a 409."""
        return HttpRunOut.model_validate(await lifecycle.cancel(self.repo, workspace_id, run_id))

    # -- worker side ----------------------------------------------------------------------------

    async def begin_chunk(self, run_id: uuid.UUID) -> ChunkWork:
        run = await self.repo.get_for_worker(run_id, lock=True)
        if run is None:
            return ChunkWork(run=HttpColumnRun(id=run_id), finished=True, error="the run no longer exists")
        work = ChunkWork(run=run)
        if lifecycle.is_final(run) or run.cancel_requested_at is not None:
            work.finished = True
            return work
        try:
            _, columns, column = await self._column(run.workspace_id, run.table_id, run.column_id)
        except NotFound:
            work.finished, work.error = True, "the table or the column was deleted"
            return work
        try:
            work.config = await self._checked_config(run.workspace_id, run.table_id, columns, column)
        except Unprocessable as exc:
            details = exc.details if isinstance(exc.details, list) else []
            work.finished = True
            work.error = "the column's configuration is no longer valid: " + "; ".join(
                str(d.get("message")) for d in details[:3]
            )
            return work
        work.refs = {name: uuid.UUID(c) for name, c in column.config.get("refs", {}).items()}
        read = [c for c in columns if c.id in set(work.refs.values())]
        work.limit = max(MIN_CHUNK_ROWS, work.config.rate_limit_per_second * CHUNK_SECONDS)
        work.rows = await self.repo.pending_rows(
            run.table_id, columns, column.id, run.id, read, work.limit, states=("queued", "running")
        )
        if not work.rows:
            work.finished = True
            return work
        lifecycle.mark_running(run)
        await RowService(self.session).set_cell_states(
            run.workspace_id, run.table_id, column.id, [(r, cell_state("running", run.id)) for r, _ in work.rows]
        )
        credentials = CredentialService(self.session, self.settings)
        for name in secret_refs(work.config):
            secret = await credentials.get_decrypted_by_name(run.workspace_id, "http", name)
            if secret is not None:
                work.secrets[name] = secret.api_key
        await self.session.flush()
        return work

    async def save_chunk(self, run: HttpColumnRun, config: HttpConfig, outcomes: Mapping[int, Outcome]) -> None:
        """Values, states (with provenance), history and counters of a chunk, in one transaction."""
        try:
            _, _columns, column = await self._column(run.workspace_id, run.table_id, run.column_id)
        except NotFound:
            return
        values: dict[int, dict[uuid.UUID, Any]] = {}
        states: dict[int, dict[str, Any]] = {}
        for row_id, outcome in outcomes.items():
            extra = {"host": outcome.host, "status": outcome.status}
            if outcome.state == "done":
                value = outcome.value
                if column.type in TEXT_LIKE and isinstance(value, (dict, list)):
                    value = json.dumps(value, separators=(",", ":"))
                values[row_id] = {column.id: value}
                states[row_id] = cell_state("done", run.id, **extra)
            else:
                states[row_id] = cell_state(outcome.state, run.id, reason=outcome.reason, **extra)
        only_empty = frozenset({column.id}) if config.write_policy is WritePolicy.FILL_EMPTY else frozenset()
        rows = RowService(self.session)
        written = await rows.write_computed(
            run.workspace_id, run.table_id, values, only_empty=only_empty, source=CellSource.HTTP
        )
        for row_id, _ in written.kept:
            states[row_id] = {**states[row_id], "state": "kept", "reason": "the cell already had a value (fill empty)"}
        for (row_id, _), message in written.invalid.items():
            states[row_id] = {
                **states[row_id],
                "state": "error",
                "reason": f"the value does not fit the column: {message}",
            }
        items = [(r, s) for r, s in states.items() if r not in written.missing_rows]
        if items:
            await rows.set_cell_states(run.workspace_id, run.table_id, column.id, items)
        counted = [s["state"] for _, s in items]
        await self.repo.add_counts(run.id, counted.count("done"), counted.count("no_data"), counted.count("error"))

    async def finish(self, run_id: uuid.UUID, error: str | None) -> HttpRunStatus | None:
        """Settle the run: completed, cancelled (cancel asked) or failed (`error`); the rows it
        did not reach show `cancelled` (or `error` with the reason). Idempotent."""
        run = await self.repo.get_for_worker(run_id, lock=True)
        if run is None:
            return None
        if not lifecycle.close(run, error):
            return run.status
        try:
            _, columns, column = await self._column(run.workspace_id, run.table_id, run.column_id)
        except NotFound:
            await self.session.flush()
            return run.status
        rows = RowService(self.session)
        left = "cancelled" if error is None else "error"
        while pending := await self.repo.pending_rows(
            run.table_id, columns, column.id, run.id, [], FINISH_BATCH, states=("queued", "running")
        ):
            await rows.set_cell_states(
                run.workspace_id,
                run.table_id,
                column.id,
                [(r, cell_state(left, run.id, reason=error)) for r, _ in pending],
            )
        await self.session.flush()
        return run.status


class HttpRunActivities(PacedRunActivities[HttpColumnRun]):
    """The activities of `HttpColumnRunWorkflow`; each opens its own units of work."""

    model = HttpColumnRun

    @activity.defn(name=RUN_HTTP_CHUNK)
    async def run_chunk(self, inp: StepInput) -> StepResult:
        run_id = uuid.UUID(inp.run_id)
        async with unit_of_work(self.sessions) as session:
            work = await HttpRunService(session, self.settings).begin_chunk(run_id)
        if work.finished or work.config is None:
            return StepResult(done=True, not_before=inp.not_before, error=work.error)
        config = work.config
        outcomes, next_at, cancelled = await self._requests(run_id, work, config, inp.not_before)
        async with unit_of_work(self.sessions) as session:
            await HttpRunService(session, self.settings).save_chunk(work.run, config, outcomes)
        return StepResult(done=cancelled or len(work.rows) < work.limit, not_before=next_at)

    async def _requests(
        self, run_id: uuid.UUID, work: ChunkWork, config: HttpConfig, not_before: float
    ) -> tuple[dict[int, Outcome], float, bool]:
        """Every row's request, started at most `rate` per second (each start at least 1/rate after
        the previous one, the first not before `not_before`), a few in flight at a time."""
        steps = parse_path(config.extract)
        allowance = loopback_allowance(self.settings)
        clock = PacingClock(max(time.time(), not_before), 1.0 / (config.rate_limit_per_second * RATE_MARGIN))
        in_flight = asyncio.Semaphore(min(config.rate_limit_per_second, MAX_IN_FLIGHT))
        outcomes: dict[int, Outcome] = {}
        tasks: list[asyncio.Task[None]] = []
        last_check = time.monotonic()
        cancelled = False

        async def one(row_id: int, request: Any) -> None:
            try:
                outcomes[row_id] = await send(self.http, request, steps, allowance, config.timeout_s)
            finally:
                in_flight.release()
                heartbeat(row_id)

        for row_id, cells in work.rows:
            if time.monotonic() - last_check >= CANCEL_POLL_SECONDS:
                last_check = time.monotonic()
                if await self.cancelled(run_id):
                    cancelled = True
                    break
            try:
                request = render(config, work.refs, cells, work.secrets)
            except RenderError as exc:
                outcomes[row_id] = Outcome("error", reason=str(exc))
                continue
            await in_flight.acquire()
            await clock.turn()
            tasks.append(asyncio.create_task(one(row_id, request)))
        if tasks:
            await asyncio.gather(*tasks)
        return outcomes, clock.not_before, cancelled

    @activity.defn(name=FINISH_HTTP_RUN)
    async def finish_run(self, inp: FinishInput) -> str:
        async with unit_of_work(self.sessions) as session:
            status = await HttpRunService(session, self.settings).finish(uuid.UUID(inp.run_id), inp.error)
        return status.value if status is not None else "missing"
