"""Routes of column runs: run any computed column on rows (columns/runs.py), preview what a run
would cost, and preview a formula's values or an AI column's prompts before the column is saved.

A paid run's progress, records and cancel are the enrichment job's routes (`/enrichment-jobs/{id}`),
an HTTP run's are `/http-runs/{id}` (computed_router.py); cells fill in on the table's event stream.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, Request, status

from morket.columns.preview import ColumnPreviewService
from morket.columns.runs import ColumnRuns
from morket.columns.schemas import RunOut, RunPreview, RunRequest, ValuesPreview, ValuesPreviewRequest
from morket.core.db import after_commit
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.enrichment.deps import get_temporal_client
from morket.workspaces.deps import MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/tables", tags=["columns"])
log = logging.getLogger("morket.columns")


@router.post("/{table_id}/runs/preview")
async def preview_run(
    table_id: uuid.UUID, body: RunRequest, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[RunPreview]:
    """Rows affected, calls per provider, worst-case and expected credits, expected cache hits, balance
    (HTTP, formula and lookup columns: their rows, no calls, no credits)."""
    return ok(await ColumnRuns(session, settings).preview(access.workspace_id, table_id, body))


@router.post("/{table_id}/runs", status_code=status.HTTP_201_CREATED)
async def start_run(
    table_id: uuid.UUID,
    body: RunRequest,
    request: Request,
    access: MemberAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Envelope[RunOut]:
    """Run computed columns on all rows, the given rows, the rows matching a filter or the empty
    cells: an enrichment job per enrichment or AI column (402 before anything starts when credits
    do not cover it), an HTTP run per HTTP column; formula and lookup columns recompute now."""
    started = await ColumnRuns(session, settings).start(access.workspace_id, access.user_id, table_id, body)
    if started.jobs or started.http_runs:
        temporal = await get_temporal_client(request)  # a 503 here rolls the uncommitted run back

        async def start() -> None:
            await started.start_workflows(temporal, session, settings)

        after_commit(session, start)
    return ok(RunOut(runs=started.runs))


@router.post("/{table_id}/columns/preview")
async def preview_values(
    table_id: uuid.UUID, body: ValuesPreviewRequest, access: MemberAccess, session: SessionDep
) -> Envelope[ValuesPreview]:
    """A formula's values (or an AI column's rendered prompts, no model call) on the first rows."""
    return ok(await ColumnPreviewService(session).preview(access.workspace_id, table_id, body))
