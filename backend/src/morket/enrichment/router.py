from __future__ import annotations

import logging
import uuid
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, status
from temporalio.service import RPCError

from morket.core.db import after_commit
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, PageMeta, ok
from morket.core.errors import AppError
from morket.enrichment.deps import TemporalClient, get_temporal_client
from morket.enrichment.intake import BodyRejected, inline_schema, parse_job_body
from morket.enrichment.schemas import EnrichmentJobCreate, EnrichmentJobOut, EnrichmentRecordDetail, EnrichmentRecordOut
from morket.enrichment.service import EnrichmentService
from morket.models import JobStatus, RecordStatus
from morket.workspaces.deps import MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["enrichment"])
log = logging.getLogger("morket.enrichment")

Page = Annotated[int, Query(ge=1)]
Limit = Annotated[int, Query(ge=1, le=500)]


# The body is declared here and parsed by hand (intake.parse_job_body, in a thread): FastAPI would
# parse and validate 100,000 records on the event loop.
_JOB_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(EnrichmentJobCreate)}}}
}


@router.post("/enrichment-jobs", status_code=status.HTTP_201_CREATED, openapi_extra=_JOB_BODY)
async def create_job(
    request: Request,
    access: MemberAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Envelope[EnrichmentJobOut]:
    """Validate, estimate and reserve credits, store the records, then start the job's workflow."""
    raw = await request.body()
    try:
        body = await anyio.to_thread.run_sync(parse_job_body, raw, settings.enrichment_max_records)
    except BodyRejected as exc:
        raise AppError(exc.message, code=exc.code, details=exc.details, status_code=exc.status) from None
    service = EnrichmentService(session, settings)
    job = await service.create_job(access.workspace_id, access.user_id, body)
    # After every check: bad input is a 4xx whatever the state of the workflow engine. A 503 here
    # rolls the uncommitted job back.
    temporal = await get_temporal_client(request)

    async def start() -> None:
        try:
            await service.start_workflow(temporal, job)
        except (RPCError, RuntimeError):  # RuntimeError: the client could not (re)connect
            # The job stays queued; the worker starts queued jobs it finds on its sweep.
            log.exception("could not start the workflow of job %s", job.id)

    # The workflow may only see a job that is committed (with its reservation).
    after_commit(session, start)
    return ok(await service.job_out(job))


@router.get("/enrichment-jobs")
async def list_jobs(
    access: ViewerAccess,
    session: SessionDep,
    settings: SettingsDep,
    page: Page = 1,
    limit: Limit = 20,
    status: JobStatus | None = None,
) -> Envelope[list[EnrichmentJobOut]]:
    """The workspace's enrichment jobs, newest first, optionally filtered by status."""
    items, total = await EnrichmentService(session, settings).list_jobs(
        access.workspace_id, status.value if status else None, page, limit
    )
    return ok(items, PageMeta(page=page, limit=limit, total=total))


@router.get("/enrichment-jobs/{job_id}")
async def get_job(
    job_id: uuid.UUID, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[EnrichmentJobOut]:
    """One job: status, record counts, credits estimated/reserved/spent and timestamps."""
    return ok(await EnrichmentService(session, settings).get(access.workspace_id, job_id))


@router.post("/enrichment-jobs/{job_id}/cancel")
async def cancel_job(
    job_id: uuid.UUID, access: MemberAccess, session: SessionDep, settings: SettingsDep, temporal: TemporalClient
) -> Envelope[EnrichmentJobOut]:
    """Cancel a running job: running chunks stop, unstarted records are cancelled, credits released."""
    service = EnrichmentService(session, settings)
    job = await service.request_cancel(access.workspace_id, job_id)

    async def signal() -> None:
        try:
            await service.signal_cancel(temporal, job)
        except (RPCError, RuntimeError):  # RuntimeError: the client could not (re)connect
            # Chunks also read the cancel flag from the database, so the job still stops; a job
            # whose workflow never started is settled by the worker's reconciler.
            log.exception("could not signal the cancellation of job %s", job.id)

    after_commit(session, signal)  # the workflow must find the flag committed
    return ok(await service.job_out(job))


@router.get("/enrichment-jobs/{job_id}/records")
async def list_records(
    job_id: uuid.UUID,
    access: ViewerAccess,
    session: SessionDep,
    settings: SettingsDep,
    page: Page = 1,
    limit: Limit = 100,
    status: RecordStatus | None = None,
) -> Envelope[list[EnrichmentRecordOut]]:
    """The job's records in input order, with each field's result, provider, cost and status."""
    items, total = await EnrichmentService(session, settings).records(
        access.workspace_id, job_id, status.value if status else None, page, limit
    )
    return ok(items, PageMeta(page=page, limit=limit, total=total))


@router.get("/enrichment-records/{record_id}")
async def get_record(
    record_id: uuid.UUID, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[EnrichmentRecordDetail]:
    """One record with every provider attempt (outcome, cost, cached, raw response)."""
    return ok(await EnrichmentService(session, settings).record(access.workspace_id, record_id))
