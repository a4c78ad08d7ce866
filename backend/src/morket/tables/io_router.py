"""Export and dedupe routes of a table (next to the tables router, in their own module)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.deps import SessionDep
from morket.core.envelope import Envelope, ok
from morket.core.errors import Unprocessable
from morket.models import TableColumn
from morket.tables.bulk import BulkRowService
from morket.tables.dedupe_service import DedupeRule, DedupeService
from morket.tables.export import XLSX_MAX_ROWS, ExportFormat, csv_header_line, xlsx_value
from morket.tables.io_schemas import (
    DedupeMergeRequest,
    DedupePreview,
    DedupePreviewRequest,
    DedupeRequest,
    DedupeResult,
    ExportRequest,
)
from morket.tables.query import RowView
from morket.tables.service import RowService, TableService
from morket.workspaces.deps import MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/tables/{table_id}", tags=["tables"])

EXPORT_BATCH = 5_000
EXPORT_QUEUE_CHUNKS = 64
EXPORT_CHUNK_BYTES = 256 * 1024
_MEDIA = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _filename(name: str, file_format: ExportFormat) -> str:
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip() or "table"
    return f"{safe[:100]}.{file_format.value}"


async def _export(
    request: Request,
    session: AsyncSession,
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    body: ExportRequest,
) -> StreamingResponse:
    tables = TableService(session)
    table = await tables.describe(workspace_id, table_id)
    columns = [c for c in await tables.columns(workspace_id, table_id) if body.include_hidden or not c.hidden]
    view = body.view or RowView()
    rows = RowService(session)
    # Validates the view now (a bad filter is a 422 before any byte is sent).
    await rows.query(workspace_id, table_id, view, 0, 1, count=False)
    if body.format is ExportFormat.XLSX:
        count = await rows.count_rows(workspace_id, table_id, body.view)
        if count.total >= XLSX_MAX_ROWS:
            raise Unprocessable(
                f"XLSX holds at most {XLSX_MAX_ROWS - 1} rows; export this view as CSV.", code="too_many_rows"
            )
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    names = [c.name for c in columns]
    if body.format is ExportFormat.CSV:
        stream = _csv_copy_stream(sessions, workspace_id, table_id, view, columns)
    else:
        stream = _xlsx_stream(names, _row_batches(sessions, workspace_id, table_id, view, columns))
    headers = {"content-disposition": f'attachment; filename="{_filename(table.name, body.format)}"'}
    return StreamingResponse(stream, media_type=_MEDIA[body.format], headers=headers)


async def _row_batches(
    sessions: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    view: RowView,
    columns: Sequence[TableColumn],
) -> AsyncIterator[list[Sequence[Any]]]:
    """The view's rows as value lists, from a session of its own: the request's is closed by now."""
    keys = [str(c.id) for c in columns]
    async with sessions() as session:
        # One snapshot for the whole file, read-only.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        async for _, batch in RowService(session).stream_rows(workspace_id, table_id, view, batch_size=EXPORT_BATCH):
            yield [[row.cells.get(k) for k in keys] for row in batch]


_END = object()


async def _csv_copy_stream(
    sessions: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    view: RowView,
    columns: Sequence[TableColumn],
) -> AsyncIterator[bytes]:
    """The CSV file: our header, then the rows as PostgreSQL's COPY writes them (BulkRowService).

    The COPY runs in a task of its own (session of its own: the request's is closed by now) and
    hands its chunks over a small queue, so a slow client holds the COPY back instead of letting
    the chunks pile up in memory; a client that goes away cancels the COPY.
    """
    yield csv_header_line([c.name for c in columns])
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=EXPORT_QUEUE_CHUNKS)

    async def copy() -> None:
        try:
            async with sessions() as session:
                await BulkRowService(session).export_csv(
                    workspace_id, table_id, view, [c.id for c in columns], queue.put
                )
                await session.rollback()
        except BaseException as exc:
            # Never wait here: after a cancel nobody reads the queue any more.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(exc)
            raise
        await queue.put(_END)

    task = asyncio.create_task(copy())
    try:
        pending: list[bytes] = []
        size = 0
        while True:
            item = await queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            # COPY hands over what each socket read brought; send ~256 KiB at a time.
            pending.append(item)
            size += len(item)
            if size >= EXPORT_CHUNK_BYTES or queue.empty():
                yield b"".join(pending)
                pending.clear()
                size = 0
        if pending:
            yield b"".join(pending)
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _xlsx_stream(names: list[str], batches: AsyncIterator[list[Sequence[Any]]]) -> AsyncIterator[bytes]:
    """XLSX is a zip written at the end: rows go to disk as they come (constant memory), then the file."""
    import xlsxwriter

    fd, path = tempfile.mkstemp(prefix="morket-export-", suffix=".xlsx")
    os.close(fd)
    try:
        workbook = xlsxwriter.Workbook(
            path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        sheet = workbook.add_worksheet("Export")
        sheet.write_row(0, 0, [xlsx_value(n) for n in names])
        row_index = 1

        def write(batch: list[Sequence[Any]], first: int) -> None:
            for offset, values in enumerate(batch):
                for col, value in enumerate(values):
                    cell = xlsx_value(value)
                    if isinstance(cell, str):
                        sheet.write_string(first + offset, col, cell)
                    elif cell is not None:
                        sheet.write(first + offset, col, cell)

        async for batch in batches:
            # Off the event loop: xlsxwriter is pure Python, a batch takes a while.
            await asyncio.to_thread(write, batch, row_index)
            row_index += len(batch)
        await asyncio.to_thread(workbook.close)
        with open(path, "rb") as handle:  # noqa: ASYNC230 - a local temp file, read a chunk at a time
            while chunk := await asyncio.to_thread(handle.read, 1024 * 1024):
                yield chunk
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@router.get("/export", response_class=StreamingResponse)
async def export_table(
    table_id: uuid.UUID,
    request: Request,
    access: ViewerAccess,
    session: SessionDep,
    format: ExportFormat = Query(default=ExportFormat.CSV),
) -> StreamingResponse:
    """Download the whole table as CSV or XLSX, streamed."""
    return await _export(request, session, access.workspace_id, table_id, ExportRequest(format=format))


@router.post("/export", response_class=StreamingResponse)
async def export_view(
    table_id: uuid.UUID, body: ExportRequest, request: Request, access: ViewerAccess, session: SessionDep
) -> StreamingResponse:
    """Download the filtered and sorted view of the table as CSV or XLSX, streamed."""
    return await _export(request, session, access.workspace_id, table_id, body)


def _rule(body: DedupeRequest) -> DedupeRule:
    return DedupeRule(
        key_column_ids=list(dict.fromkeys(body.key_column_ids)),
        normalization=body.normalization,
        fuzzy_column_id=body.fuzzy_column_id,
        threshold=body.threshold,
    )


@router.post("/dedupe/preview")
async def dedupe_preview(
    table_id: uuid.UUID, body: DedupePreviewRequest, access: ViewerAccess, session: SessionDep
) -> Envelope[DedupePreview]:
    """The duplicate groups the rule finds, with their rows; nothing is changed."""
    service = DedupeService(session)
    return ok(await service.preview(access.workspace_id, table_id, _rule(body), body.groups_limit))


@router.post("/dedupe/merge")
async def dedupe_merge(
    table_id: uuid.UUID, body: DedupeMergeRequest, access: MemberAccess, session: SessionDep
) -> Envelope[DedupeResult]:
    """Merge each duplicate group into its oldest row (blank cells filled from the others), all or nothing."""
    service = DedupeService(session)
    keep = set(body.keep_ids) if body.keep_ids is not None else None
    return ok(await service.merge(access.workspace_id, table_id, _rule(body), actor_id=access.user_id, keep_ids=keep))
