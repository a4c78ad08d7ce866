"""Routes of lookup and HTTP API columns (issue 10 items 7-8): recompute a lookup now; run an
HTTP column on rows, follow the run, cancel it. Enrichment runs are `columns/router.py`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from morket.columns.http_run import HttpRunOut, HttpRunRequest, HttpRunService
from morket.columns.lookup import recompute_now
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.runs.routes import start_after_commit
from morket.workspaces.deps import MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["columns"])


class RecomputeOut(BaseModel):
    column_id: uuid.UUID
    rows_changed: int


@router.post("/tables/{table_id}/columns/{column_id}/recompute")
async def recompute_lookup(
    table_id: uuid.UUID, column_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> Envelope[RecomputeOut]:
    """Recompute a lookup column on every row now (one set-based UPDATE); free."""
    changed = await recompute_now(session, access.workspace_id, table_id, column_id)
    return ok(RecomputeOut(column_id=column_id, rows_changed=changed))


@router.post("/tables/{table_id}/columns/{column_id}/http-runs", status_code=status.HTTP_201_CREATED)
async def start_http_run(
    table_id: uuid.UUID,
    column_id: uuid.UUID,
    body: HttpRunRequest,
    request: Request,
    access: MemberAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Envelope[HttpRunOut]:
    """Run an HTTP API column on all rows, the given rows, the rows matching a filter or the empty
    cells: a durable run at the column's rate limit; never charged."""
    service = HttpRunService(session, settings)
    out, run = await service.start(access.workspace_id, access.user_id, table_id, column_id, body)
    if run is not None:
        await start_after_commit(
            request, session, lambda temporal: service.start_workflow(temporal, run), f"HTTP column run {run.id}"
        )
    return ok(out)


@router.get("/http-runs/{run_id}")
async def get_http_run(
    run_id: uuid.UUID, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[HttpRunOut]:
    """An HTTP column run: status and counts (done, no data, errors)."""
    return ok(await HttpRunService(session, settings).get(access.workspace_id, run_id))


@router.post("/http-runs/{run_id}/cancel")
async def cancel_http_run(
    run_id: uuid.UUID, access: MemberAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[HttpRunOut]:
    """Stop a run: requests stop within a second; rows not reached show `cancelled`."""
    return ok(await HttpRunService(session, settings).cancel(access.workspace_id, run_id))
