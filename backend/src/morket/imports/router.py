from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError

from morket.core.config import Settings
from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, PageMeta, ok
from morket.core.errors import ServiceUnavailable
from morket.enrichment.deps import get_temporal_client
from morket.imports.schemas import ImportCommit, ImportOut, PreviewOptions, RejectOut
from morket.imports.service import ImportService, PayloadTooLarge
from morket.tables.export import escape_formula
from morket.workspaces.deps import MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/imports", tags=["imports"])
log = logging.getLogger("morket.imports")

Page = Annotated[int, Query(ge=1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Filename = Annotated[str, Query(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f/\\]+$")]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=_UPLOAD_BODY)
async def upload_import(
    request: Request, access: MemberAccess, session: SessionDep, settings: SettingsDep, filename: Filename
) -> Envelope[ImportOut]:
    """Upload a CSV or XLSX file as the raw request body (streamed); answers with its preview."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.import_max_upload_bytes:
        raise PayloadTooLarge(
            f"The file is larger than the {settings.import_max_upload_bytes} byte limit.",
            details={"limit_bytes": settings.import_max_upload_bytes},
        )
    service = ImportService(session, settings)
    return ok(await service.upload(access.workspace_id, access.user_id, filename, request.stream()))


@router.get("")
async def list_imports(
    access: ViewerAccess, session: SessionDep, settings: SettingsDep, page: Page = 1, limit: Limit = 20
) -> Envelope[list[ImportOut]]:
    """The workspace's imports, newest first."""
    items, total = await ImportService(session, settings).list_imports(access.workspace_id, (page - 1) * limit, limit)
    return ok(items, PageMeta(page=page, limit=limit, total=total))


@router.get("/{import_id}")
async def get_import(
    import_id: uuid.UUID, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ImportOut]:
    """One import: its preview, status, progress and counts."""
    return ok(await ImportService(session, settings).get(access.workspace_id, import_id))


@router.post("/{import_id}/preview")
async def preview_import(
    import_id: uuid.UUID, body: PreviewOptions, access: MemberAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[ImportOut]:
    """Preview the file again with overrides of the detected encoding, delimiter, header or sheet."""
    return ok(await ImportService(session, settings).repreview(access.workspace_id, import_id, body))


async def _start(request: Request, settings: Settings, import_id: uuid.UUID) -> None:
    """Start the import's workflow; if Temporal cannot be reached, the worker's sweep starts it later."""
    try:
        temporal = await get_temporal_client(request)
        async with request.app.state.sessions() as session:
            await ImportService(session, settings).start_workflow(temporal, import_id)
    except (RPCError, ServiceUnavailable):
        log.exception("could not start the workflow of import %s", import_id)


@router.post("/{import_id}/commit", status_code=status.HTTP_202_ACCEPTED)
async def commit_import(
    import_id: uuid.UUID,
    body: ImportCommit,
    request: Request,
    background: BackgroundTasks,
    access: MemberAccess,
    session: SessionDep,
    settings: SettingsDep,
) -> Envelope[ImportOut]:
    """Import the rows with a column mapping, into a new or an existing table, as a background job."""
    out = await ImportService(session, settings).commit(access.workspace_id, access.user_id, import_id, body)
    # Background tasks run after the response, so after the session dependency's commit.
    background.add_task(_start, request, settings, out.id)
    return ok(out)


@router.get("/{import_id}/rejects")
async def list_rejects(
    import_id: uuid.UUID,
    access: ViewerAccess,
    session: SessionDep,
    settings: SettingsDep,
    page: Page = 1,
    limit: Limit = 100,
) -> Envelope[list[RejectOut]]:
    """The rows the import did not take, by line, with the reason."""
    items, total = await ImportService(session, settings).rejects(
        access.workspace_id, import_id, (page - 1) * limit, limit
    )
    return ok(items, PageMeta(page=page, limit=limit, total=total))


@router.get("/{import_id}/rejects.csv", response_class=StreamingResponse)
async def download_rejects(
    import_id: uuid.UUID, request: Request, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> StreamingResponse:
    """Download the rejected rows as CSV: line, reason, message and the row as it was in the file."""
    await ImportService(session, settings).get(access.workspace_id, import_id)
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    workspace_id = access.workspace_id

    async def body() -> AsyncIterator[bytes]:
        yield "\ufeffline,reason,message,raw\r\n".encode()
        async with sessions() as own:
            async for batch in ImportService(own, settings).stream_rejects(workspace_id, import_id):
                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\r\n")
                writer.writerows([r.line, r.reason, escape_formula(r.message), escape_formula(r.raw)] for r in batch)
                yield buffer.getvalue().encode()

    headers = {"content-disposition": f'attachment; filename="import-{import_id}-rejects.csv"'}
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)
