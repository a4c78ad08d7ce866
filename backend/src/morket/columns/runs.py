"""One way to run any computed column (`POST .../tables/{id}/runs` and its preview, and the
auto-runner): the request's columns are split by kind and each part goes to what runs it.

- enrichment and AI columns: `ColumnRunService` (enrichment jobs, paid, previewed with costs);
- HTTP columns: `HttpRunService` (an HTTP run per column over the same rows, never charged);
- formula and lookup columns: recomputed now on every row, in the request's transaction.

Everything is decided inside the caller's transaction (a refusal of any column refuses the
whole request, details under `column_ids.<index>`); workflows start after the commit
(`Started.start_workflows`), and a start that fails is a reconciler's (enrichment jobs:
`enrichment/reconciler.py`, HTTP runs: `columns/http_reconciler.py`). docs/columns.md.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from morket.columns import lookup, recompute
from morket.columns.http_run import HttpRunRequest, HttpRunService
from morket.columns.schemas import ColumnPreview, ColumnRun, RunPreview, RunRequest
from morket.columns.service import ColumnRunService
from morket.core.config import Settings
from morket.core.errors import Unprocessable
from morket.credits.service import CreditService
from morket.enrichment.service import EnrichmentService
from morket.models import ColumnKind, EnrichmentJob, HttpColumnRun, TableColumn
from morket.tables.service import RowService, TableService

log = logging.getLogger("morket.columns")

PAID = frozenset({ColumnKind.ENRICHMENT, ColumnKind.AI})
RECOMPUTED = frozenset({ColumnKind.FORMULA, ColumnKind.LOOKUP})
_INDEX = re.compile(r"^column_ids\.(\d+)")


@dataclass
class Started:
    """What a run request started: one `ColumnRun` per column (request order), and the
    workflows to start once the transaction has committed."""

    runs: list[ColumnRun] = field(default_factory=list)
    jobs: list[EnrichmentJob] = field(default_factory=list)
    http_runs: list[HttpColumnRun] = field(default_factory=list)

    async def start_workflows(self, client: Client, session: AsyncSession, settings: Settings) -> None:
        """Start every workflow; one that fails is logged (its reconciler starts it)."""
        enrichment = EnrichmentService(session, settings)
        for job in self.jobs:
            try:
                await enrichment.start_workflow(client, job)
            except (RPCError, RuntimeError):
                log.exception("could not start the workflow of job %s (the reconciler will)", job.id)
        http = HttpRunService(session, settings)
        for run in self.http_runs:
            try:
                await http.start_workflow(client, run)
            except (RPCError, RuntimeError):
                log.exception("could not start the workflow of HTTP run %s (the reconciler will)", run.id)


def _refused(exc: Unprocessable, index: int, subset: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """`exc`'s details with their field under `column_ids.<index>` of the whole request (a
    detail of a part's own request, `column_ids.<i>`, is renumbered through `subset`)."""
    details = exc.details if isinstance(exc.details, list) else [{"field": "config", "message": exc.message}]
    out = []
    for detail in details:
        where = str(detail.get("field", "config"))
        if subset is not None and (found := _INDEX.match(where)):
            where = f"column_ids.{subset[int(found[1])]}{where[found.end() :]}"
        elif subset is None:
            where = f"column_ids.{index}.{where}"
        out.append({**detail, "field": where})
    return out


def _raise(refusals: Sequence[Unprocessable], problems: list[dict[str, Any]]) -> None:
    """Refuse the request with every part's problems; one part refusing keeps its message and
    code (`invalid_view` for a bad filter, `destination_refused`, ...)."""
    if not refusals:
        return
    first = refusals[0]
    if all((r.code, r.message) == (first.code, first.message) for r in refusals):
        raise Unprocessable(first.message, code=first.code, details=problems)
    raise Unprocessable("The run cannot start.", code="invalid_run", details=problems)


class ColumnRuns:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.tables = TableService(session)

    async def _kinds(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, body: RunRequest
    ) -> tuple[list[TableColumn], dict[ColumnKind, list[int]]]:
        """The table's columns, and the request's column indexes by kind (unknown, repeated and
        data columns refused here, with every problem at once)."""
        columns = await self.tables.columns(workspace_id, table_id)
        by_id = {c.id: c for c in columns}
        problems: list[dict[str, Any]] = []
        if len(set(body.column_ids)) != len(body.column_ids):
            problems.append({"field": "column_ids", "message": "a column appears twice"})
        parts: dict[ColumnKind, list[int]] = {}
        for index, column_id in enumerate(body.column_ids):
            column = by_id.get(column_id)
            if column is None:
                problems.append({"field": f"column_ids.{index}", "message": "no such column in this table"})
            elif column.kind is ColumnKind.DATA:
                problems.append({"field": f"column_ids.{index}", "message": "a data column does not run"})
            else:
                parts.setdefault(column.kind, []).append(index)
        if problems:
            raise Unprocessable("The run cannot start.", code="invalid_run", details=problems)
        return columns, parts

    @staticmethod
    def _paid(body: RunRequest, parts: dict[ColumnKind, list[int]]) -> tuple[list[int], RunRequest | None]:
        subset = sorted(i for kind in PAID for i in parts.get(kind, []))
        if not subset:
            return subset, None
        return subset, body.model_copy(update={"column_ids": [body.column_ids[i] for i in subset]})

    @staticmethod
    def _http_request(body: RunRequest) -> HttpRunRequest:
        return HttpRunRequest(row_ids=body.row_ids, filter=body.filter, only_empty=body.only_empty)

    async def start(
        self,
        workspace_id: uuid.UUID,
        user_id: uuid.UUID | None,
        table_id: uuid.UUID,
        body: RunRequest,
        *,
        record_empty: bool = True,
    ) -> Started:
        """Start every column of `body` on its rows. The caller commits, then calls
        `start_workflows`. `record_empty` off (auto-run): an HTTP column with no row to run
        records no run."""
        columns, parts = await self._kinds(workspace_id, table_id, body)
        by_id = {c.id: c for c in columns}
        runs: dict[int, ColumnRun] = {}
        started = Started()
        problems: list[dict[str, Any]] = []
        refusals: list[Unprocessable] = []
        subset, paid = self._paid(body, parts)
        if paid is not None:
            try:
                done = await ColumnRunService(self.session, self.settings).start(workspace_id, user_id, table_id, paid)
            except Unprocessable as exc:
                refusals.append(exc)
                problems.extend(_refused(exc, 0, subset))
            else:
                enrichment = EnrichmentService(self.session, self.settings)
                for index, (run, job) in zip(subset, done, strict=True):
                    job_out = await enrichment.job_out(job) if job is not None else None
                    kind = by_id[body.column_ids[index]].kind
                    runs[index] = run.model_copy(update={"job": job_out, "kind": kind})
                    if job is not None and job not in started.jobs:  # columns may share a job
                        started.jobs.append(job)
        http = HttpRunService(self.session, self.settings)
        for index in parts.get(ColumnKind.HTTP, []):
            column_id = body.column_ids[index]
            try:
                out, http_run = await http.start(
                    workspace_id, user_id, table_id, column_id, self._http_request(body), record_empty=record_empty
                )
            except Unprocessable as exc:
                refusals.append(exc)
                problems.extend(_refused(exc, index))
                continue
            if http_run is not None:
                started.http_runs.append(http_run)
            runs[index] = ColumnRun(
                column_id=column_id,
                kind=ColumnKind.HTTP,
                rows=out.row_count,
                rows_missing_inputs=out.rows_missing_inputs or 0,
                job=None,
                http_run=out,
            )
        _raise(refusals, problems)
        for index in sorted(i for kind in RECOMPUTED for i in parts.get(kind, [])):
            runs[index] = await self._recompute(workspace_id, table_id, by_id[body.column_ids[index]])
        started.runs = [runs[i] for i in range(len(body.column_ids))]
        return started

    async def _recompute(self, workspace_id: uuid.UUID, table_id: uuid.UUID, column: TableColumn) -> ColumnRun:
        table = await self.tables.get(workspace_id, table_id)
        if column.kind is ColumnKind.LOOKUP:
            changed = await lookup.recompute_now(self.session, workspace_id, table_id, column.id)
        else:
            columns = await self.tables.columns(workspace_id, table_id)
            changed = await recompute.recompute(RowService(self.session), table, columns, [column])
        return ColumnRun(
            column_id=column.id,
            kind=column.kind,
            rows=table.row_count,
            rows_missing_inputs=0,
            job=None,
            rows_changed=changed,
        )

    async def preview(self, workspace_id: uuid.UUID, table_id: uuid.UUID, body: RunRequest) -> RunPreview:
        """The paid columns' cost preview; free columns show their rows and cost nothing."""
        columns, parts = await self._kinds(workspace_id, table_id, body)
        by_id = {c.id: c for c in columns}
        out: dict[int, ColumnPreview] = {}
        problems: list[dict[str, Any]] = []
        refusals: list[Unprocessable] = []
        subset, paid = self._paid(body, parts)
        total: RunPreview | None = None
        if paid is not None:
            try:
                total = await ColumnRunService(self.session, self.settings).preview(workspace_id, table_id, paid)
            except Unprocessable as exc:
                refusals.append(exc)
                problems.extend(_refused(exc, 0, subset))
            else:
                for index, item in zip(subset, total.columns, strict=True):
                    out[index] = item.model_copy(update={"kind": by_id[body.column_ids[index]].kind})
        http = HttpRunService(self.session, self.settings)
        for index in parts.get(ColumnKind.HTTP, []):
            try:
                column_id = body.column_ids[index]
                rows, missing = await http.count(workspace_id, table_id, column_id, self._http_request(body))
            except Unprocessable as exc:
                refusals.append(exc)
                problems.extend(_refused(exc, index))
                continue
            out[index] = _free(body.column_ids[index], ColumnKind.HTTP, rows, missing)
        _raise(refusals, problems)
        table = await self.tables.get(workspace_id, table_id)
        for index in (i for kind in RECOMPUTED for i in parts.get(kind, [])):
            column = by_id[body.column_ids[index]]
            out[index] = _free(column.id, column.kind, table.row_count, 0)
        ordered = [out[i] for i in range(len(body.column_ids))]
        if total is not None:
            return total.model_copy(update={"columns": ordered})
        account = await CreditService(self.session).account(workspace_id)
        return RunPreview(columns=ordered, worst_case=0, expected=0, available=account.available, affordable=True)


def _free(column_id: uuid.UUID, kind: ColumnKind, rows: int, missing: int) -> ColumnPreview:
    return ColumnPreview(
        column_id=column_id,
        kind=kind,
        rows=rows,
        rows_missing_inputs=missing,
        calls=[],
        worst_case=0,
        expected=0,
        expected_cache_hits=0,
    )
