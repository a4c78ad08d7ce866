from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, PageMeta, ok
from morket.core.errors import Unprocessable
from morket.models import CellSource
from morket.tables.deps import EventStreamAccess
from morket.tables.live import OutboxListener, issue_event_token, start_position, table_event_stream
from morket.tables.query import FilterGroup, RowView, SortDirection, SortKey
from morket.tables.schemas import (
    CellHistoryOut,
    CellWrite,
    ColumnCreate,
    ColumnOrder,
    ColumnOut,
    ColumnUpdate,
    Deleted,
    EventToken,
    RowOut,
    RowsCreate,
    RowsDelete,
    RowsUpdate,
    RowsWritten,
    TableCreate,
    TableOut,
    TableUpdate,
)
from morket.tables.service import RowService, TableService
from morket.workspaces.deps import AdminAccess, MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/tables", tags=["tables"])

Page = Annotated[int, Query(ge=1, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=200)]


# tables ------------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_table(body: TableCreate, access: MemberAccess, session: SessionDep) -> Envelope[TableOut]:
    """Create an empty table with the given columns."""
    return ok(await TableService(session).create_table(access.workspace_id, access.user_id, body))


@router.get("")
async def list_tables(
    access: ViewerAccess, session: SessionDep, page: Page = 1, limit: Limit = 50, deleted: bool = False
) -> Envelope[list[TableOut]]:
    """The workspace's tables with their row counts, newest first; `deleted=true` lists the trash."""
    items, total = await TableService(session).list_tables(
        access.workspace_id, deleted=deleted, offset=(page - 1) * limit, limit=limit
    )
    return ok(items, PageMeta(page=page, limit=limit, total=total))


@router.get("/{table_id}")
async def get_table(table_id: uuid.UUID, access: ViewerAccess, session: SessionDep) -> Envelope[TableOut]:
    """One table with its columns in display order."""
    return ok(await TableService(session).describe(access.workspace_id, table_id))


@router.patch("/{table_id}")
async def rename_table(
    table_id: uuid.UUID, body: TableUpdate, access: MemberAccess, session: SessionDep
) -> Envelope[TableOut]:
    """Rename a table and/or switch its auto-run (off: no column of the table auto-runs)."""
    return ok(await TableService(session).update(access.workspace_id, table_id, body))


@router.delete("/{table_id}")
async def delete_table(table_id: uuid.UUID, access: AdminAccess, session: SessionDep) -> Envelope[TableOut]:
    """Move a table to the trash (admins); restorable for 30 days, then purged."""
    return ok(await TableService(session).soft_delete(access.workspace_id, table_id, access.user_id))


@router.post("/{table_id}/restore")
async def restore_table(table_id: uuid.UUID, access: AdminAccess, session: SessionDep) -> Envelope[TableOut]:
    """Bring a table back from the trash (admins)."""
    return ok(await TableService(session).restore(access.workspace_id, table_id))


# columns -----------------------------------------------------------------------------------


@router.post("/{table_id}/columns", status_code=status.HTTP_201_CREATED)
async def add_column(
    table_id: uuid.UUID, body: ColumnCreate, access: MemberAccess, session: SessionDep
) -> Envelope[ColumnOut]:
    """Add a column at the end of the table."""
    return ok(await TableService(session).add_column(access.workspace_id, table_id, body))


@router.put("/{table_id}/columns/order")
async def reorder_columns(
    table_id: uuid.UUID, body: ColumnOrder, access: MemberAccess, session: SessionDep
) -> Envelope[list[ColumnOut]]:
    """Set the display order of all columns."""
    return ok(await TableService(session).reorder_columns(access.workspace_id, table_id, body.column_ids))


@router.patch("/{table_id}/columns/{column_id}")
async def update_column(
    table_id: uuid.UUID, column_id: uuid.UUID, body: ColumnUpdate, access: MemberAccess, session: SessionDep
) -> Envelope[ColumnOut]:
    """Rename, hide, move, reconfigure or retype a column; `meta.type_change` reports unconverted cells."""
    column, report = await TableService(session).update_column(access.workspace_id, table_id, column_id, body)
    return ok(column, {"type_change": report.model_dump()} if report else None)


@router.delete("/{table_id}/columns/{column_id}")
async def delete_column(
    table_id: uuid.UUID, column_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> Envelope[Deleted]:
    """Delete a column and its cells."""
    await TableService(session).delete_column(access.workspace_id, table_id, column_id)
    return ok(Deleted(id=column_id))


# rows --------------------------------------------------------------------------------------


def parse_view(filter: str | None, sort: str | None, q: str | None) -> RowView:
    """The view from query parameters: `filter` is the JSON filter tree, `sort` is `col:desc,col2`."""
    errors: list[dict[str, Any]] = []
    tree = None
    if filter:
        try:
            tree = FilterGroup.model_validate(json.loads(filter))
        except (ValueError, ValidationError) as exc:
            errors.append({"field": "filter", "message": str(exc).splitlines()[0][:300]})
    keys: list[SortKey] = []
    for index, part in enumerate(p for p in (sort or "").split(",") if p.strip()):
        name, _, direction = part.strip().partition(":")
        try:
            keys.append(SortKey(column_id=uuid.UUID(name), direction=SortDirection(direction or "asc")))
        except ValueError:
            errors.append({"field": f"sort.{index}", "message": "expected <column id>[:asc|:desc]"})
    if errors:
        raise Unprocessable("The view is not valid.", code="invalid_view", details=errors)
    try:
        return RowView(filter=tree, sort=keys, q=q)
    except ValidationError as exc:
        raise Unprocessable(
            "The view is not valid.", code="invalid_view", details=[{"message": str(exc)[:300]}]
        ) from None


@router.get("/{table_id}/rows")
async def list_rows(
    table_id: uuid.UUID,
    access: ViewerAccess,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    filter: Annotated[str | None, Query(max_length=50_000, description="JSON filter tree")] = None,
    sort: Annotated[str | None, Query(max_length=1000, description="col_id[:asc|:desc],...")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Quick search in text columns")] = None,
    count: bool = True,
    cursor: Annotated[
        str | None, Query(max_length=4000, description="`meta.next_cursor` of the previous page (keyset)")
    ] = None,
) -> Envelope[list[RowOut]]:
    """A page of rows, filtered, searched and sorted; `meta.total_estimated` flags an estimated total.

    `meta.next_cursor` continues after this page at any depth for the same cost (pass it as
    `cursor` with the same sort); `offset` is for small jumps.
    """
    view = parse_view(filter, sort, q)
    rows, meta = await RowService(session).query(
        access.workspace_id, table_id, view, offset, limit, count=count, cursor=cursor
    )
    return ok(rows, meta)


@router.post("/{table_id}/rows", status_code=status.HTTP_201_CREATED)
async def create_rows(
    table_id: uuid.UUID, body: RowsCreate, access: MemberAccess, session: SessionDep
) -> Envelope[RowsWritten]:
    """Append up to 50,000 rows (cells by column id), all or nothing; errors per row in `details`."""
    result = await RowService(session).append_rows(
        access.workspace_id, table_id, body.rows, actor_id=access.user_id, source=CellSource.BULK
    )
    return ok(RowsWritten(count=result.inserted, ids=result.row_ids))


@router.patch("/{table_id}/rows")
async def update_rows(
    table_id: uuid.UUID, body: RowsUpdate, access: MemberAccess, session: SessionDep
) -> Envelope[RowsWritten]:
    """Update up to 50,000 rows, all or nothing; a patch with `version` must match the row's."""
    versions = await RowService(session).update_rows(access.workspace_id, table_id, body.rows, actor_id=access.user_id)
    ids = list(versions)
    return ok(RowsWritten(count=len(ids), ids=ids, versions=[versions[i] for i in ids]))


@router.post("/{table_id}/rows/delete")
async def delete_rows(
    table_id: uuid.UUID, body: RowsDelete, access: MemberAccess, session: SessionDep
) -> Envelope[RowsWritten]:
    """Delete up to 50,000 rows by id, all or nothing."""
    count = await RowService(session).delete_rows(access.workspace_id, table_id, body.ids, actor_id=access.user_id)
    return ok(RowsWritten(count=count, ids=sorted(set(body.ids))))


@router.get("/{table_id}/rows/{row_id}")
async def get_row(table_id: uuid.UUID, row_id: int, access: ViewerAccess, session: SessionDep) -> Envelope[RowOut]:
    """One row with its version (send it back to edit a cell)."""
    return ok(await RowService(session).get_row(access.workspace_id, table_id, row_id))


@router.put("/{table_id}/rows/{row_id}/cells/{column_id}")
async def write_cell(
    table_id: uuid.UUID,
    row_id: int,
    column_id: uuid.UUID,
    body: CellWrite,
    access: MemberAccess,
    session: SessionDep,
) -> Envelope[RowOut]:
    """Edit one cell; a stale `version` answers 409 with the current value and version."""
    row = await RowService(session).write_cell(
        access.workspace_id, table_id, row_id, column_id, body.value, body.version, actor_id=access.user_id
    )
    return ok(row)


@router.get("/{table_id}/rows/{row_id}/history")
async def row_history(
    table_id: uuid.UUID,
    row_id: int,
    access: ViewerAccess,
    session: SessionDep,
    column_id: uuid.UUID | None = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Envelope[list[CellHistoryOut]]:
    """Changes of a row's cells (or of one cell with `column_id`), newest first: who, when, old, new."""
    items, total = await RowService(session).cell_history(
        access.workspace_id, table_id, row_id, column_id, (page - 1) * limit, limit
    )
    return ok(items, PageMeta(page=page, limit=limit, total=total))


# live events -------------------------------------------------------------------------------


@router.post("/{table_id}/events/token")
async def event_token(
    table_id: uuid.UUID, access: ViewerAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[EventToken]:
    """A one-minute token to open this table's event stream from EventSource (`?token=`)."""
    await TableService(session).get(access.workspace_id, table_id)
    token, expires = issue_event_token(settings, access.user_id, access.workspace_id, table_id)
    return ok(EventToken(token=token, expires_at=expires))


@router.get(
    "/{table_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def table_events(
    table_id: uuid.UUID,
    request: Request,
    access: EventStreamAccess,
    session: SessionDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**62)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Resume after this event id")] = None,
) -> StreamingResponse:
    """Row, cell, column and table events of this table as Server-Sent Events; resumes from Last-Event-ID."""
    await TableService(session).get(access.workspace_id, table_id)
    sessions = request.app.state.sessions
    listener: OutboxListener = request.app.state.outbox_listener
    position = await start_position(sessions, last_event_id if last_event_id is not None else after)
    return StreamingResponse(
        table_event_stream(sessions, listener, table_id, position),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
