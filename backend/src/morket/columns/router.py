"""Routes of column runs: run enrichment and AI columns on rows, preview what a run would cost,
and preview a formula's values or an AI column's prompts before the column is saved.

A run's progress, records and cancel are the enrichment job's routes (`/enrichment-jobs/{id}`);
its cells fill in on the table's event stream.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, Request, status
from temporalio.service import RPCError

from morket.columns.preview import ColumnPreviewService
from morket.columns.schemas import RunOut, RunPreview, RunRequest, ValuesPreview, ValuesPreviewRequest
from morket.columns.service import ColumnRunService
from morket.core.db import after_commit
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.enrichment.deps import get_temporal_client
from morket.enrichment.service import EnrichmentService
from morket.workspaces.deps import MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/tables", tags=["columns"])
log = logging.getLogger("morket.columns")


@router.post("/{table_id}/runs/preview")
async def preview_run(
    table_id: uuid.UUID, body: RunRequest, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[RunPreview]:
    """Rows affected, calls per provider, worst-case and expected credits, expected cache hits, balance."""
    return ok(await ColumnRunService(session, settings).preview(access.workspace_id, table_id, body))


@router.post("/{table_id}/runs", status_code=status.HTTP_201_CREATED)
async def start_run(
    table_id: uuid.UUID,
    body: RunRequest,
    request: Request,
    access: MemberAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Envelope[RunOut]:
    """Run enrichment columns on all rows, the given rows, the rows matching a filter or the empty
    cells: one enrichment job per column; 402 before anything starts when credits do not cover it."""
    runs = await ColumnRunService(session, settings).start(access.workspace_id, access.user_id, table_id, body)
    enrichment = EnrichmentService(session, settings)
    jobs = [job for _, job in runs if job is not None]
    if jobs:
        temporal = await get_temporal_client(request)  # a 503 here rolls the uncommitted run back

        async def start() -> None:
            for job in jobs:
                try:
                    await enrichment.start_workflow(temporal, job)
                except (RPCError, RuntimeError):
                    log.exception("could not start the workflow of job %s (the reconciler will)", job.id)

        after_commit(session, start)
    out = []
    for run, maybe_job in runs:
        job_out = await enrichment.job_out(maybe_job) if maybe_job is not None else None
        out.append(run.model_copy(update={"job": job_out}))
    return ok(RunOut(runs=out))


@router.post("/{table_id}/columns/preview")
async def preview_values(
    table_id: uuid.UUID, body: ValuesPreviewRequest, access: MemberAccess, session: SessionDep
) -> Envelope[ValuesPreview]:
    """A formula's values (or an AI column's rendered prompts, no model call) on the first rows."""
    return ok(await ColumnPreviewService(session).preview(access.workspace_id, table_id, body))
