"""Routes of CRM export: connect a CRM (OAuth), list and delete connections, define exports
(column -> property mappings), start, follow and cancel export runs. docs/crm.md."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, Query, Request, status

from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.crm.schemas import (
    ConnectCallback,
    ConnectionOut,
    ConnectStart,
    ConnectStartOut,
    Deleted,
    ExportCreate,
    ExportOut,
    ExportRunOut,
    ExportRunRequest,
)
from morket.crm.service import CrmConnectionService, CrmExportService
from morket.runs.routes import start_after_commit
from morket.workspaces.deps import AdminAccess, MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/crm", tags=["crm"])


@router.post("/connections/start", status_code=status.HTTP_201_CREATED)
async def start_connect(
    body: ConnectStart, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ConnectStartOut]:
    """Begin connecting a CRM: the authorize URL to send the browser to, with a one-time state."""
    return ok(
        await CrmConnectionService(session, settings).start_connect(access.workspace_id, access.user_id, body.crm)
    )


@router.post("/connections/callback", status_code=status.HTTP_201_CREATED)
async def complete_connect(
    body: ConnectCallback, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ConnectionOut]:
    """Finish connecting: trade the code the CRM redirected back with for tokens (kept in the vault)."""
    async with httpx.AsyncClient(timeout=settings.provider_timeout_seconds, follow_redirects=False) as http:
        out = await CrmConnectionService(session, settings).complete_connect(
            access.workspace_id, access.user_id, body, http
        )
    return ok(out)


@router.get("/connections")
async def list_connections(
    access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[list[ConnectionOut]]:
    """The workspace's CRM connections (never their tokens)."""
    return ok(await CrmConnectionService(session, settings).list_all(access.workspace_id))


@router.delete("/connections/{connection_id}")
async def delete_connection(
    connection_id: uuid.UUID, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[Deleted]:
    """Disconnect: delete the tokens, the connection and its exports."""
    await CrmConnectionService(session, settings).delete(access.workspace_id, connection_id, access.user_id)
    return ok(Deleted(id=connection_id))


@router.post("/exports", status_code=status.HTTP_201_CREATED)
async def create_export(
    body: ExportCreate, access: MemberAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ExportOut]:
    """Define an export: a table's columns mapped to a CRM object's properties, upserted on a key;
    adds (or reuses) the result columns "<CRM> <object> id/status/error"."""
    return ok(await CrmExportService(session, settings).create(access.workspace_id, access.user_id, body))


@router.get("/exports")
async def list_exports(
    access: ViewerAccess,
    session: SessionDep,
    settings: SettingsDep,
    table_id: uuid.UUID | None = Query(default=None, description="only this table's exports"),
) -> Envelope[list[ExportOut]]:
    """The workspace's exports (or one table's)."""
    return ok(await CrmExportService(session, settings).list_all(access.workspace_id, table_id))


@router.get("/exports/{export_id}")
async def get_export(
    export_id: uuid.UUID, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ExportOut]:
    """One export and its mapping."""
    return ok(await CrmExportService(session, settings).get(access.workspace_id, export_id))


@router.delete("/exports/{export_id}")
async def delete_export(
    export_id: uuid.UUID, access: MemberAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[Deleted]:
    """Delete an export and its runs; its result columns stay in the table."""
    await CrmExportService(session, settings).delete(access.workspace_id, export_id)
    return ok(Deleted(id=export_id))


@router.post("/exports/{export_id}/runs", status_code=status.HTTP_201_CREATED)
async def start_run(
    export_id: uuid.UUID,
    body: ExportRunRequest,
    request: Request,
    access: MemberAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Envelope[ExportRunOut]:
    """Push all rows, the given rows or the rows matching a filter as upserts: a durable run;
    rows whose mapped values did not change since their last push are skipped."""
    service = CrmExportService(session, settings)
    out, run = await service.start_run(access.workspace_id, access.user_id, export_id, body)
    if run is not None:
        await start_after_commit(
            request, session, lambda temporal: service.start_workflow(temporal, run), f"CRM run {run.id}"
        )
    return ok(out)


@router.get("/runs/{run_id}")
async def get_run(
    run_id: uuid.UUID, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ExportRunOut]:
    """An export run: status and counts (pushed, created, updated, failed, skipped)."""
    return ok(await CrmExportService(session, settings).get_run(access.workspace_id, run_id))


@router.post("/runs/{run_id}/cancel")
async def cancel_run(
    run_id: uuid.UUID, access: MemberAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ExportRunOut]:
    """Stop a run: no batch starts after this; rows not pushed show `cancelled`."""
    return ok(await CrmExportService(session, settings).cancel_run(access.workspace_id, run_id))
