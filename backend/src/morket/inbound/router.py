"""Inbound URLs: members create, rotate and revoke a table's; anyone holding the token posts rows."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status

from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.core.errors import TooManyRequests
from morket.core.ratelimit import RateLimiter, retry_after_header
from morket.inbound.batcher import InboundBatcher
from morket.inbound.schemas import InboundAccepted, InboundConfig, InboundCreated, InboundOut, InboundUpdate
from morket.inbound.service import InboundService, parse_payload
from morket.workspaces.deps import MemberAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/tables/{table_id}/inbound", tags=["inbound"])
public_router = APIRouter(prefix="/api/v1/inbound", tags=["inbound"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_inbound(
    table_id: uuid.UUID, body: InboundConfig, access: MemberAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[InboundCreated]:
    """Give the table an inbound URL (member+); the token is in the answer this once."""
    return ok(
        await InboundService(session).create(
            access.workspace_id, table_id, access.user_id, body, settings.inbound_rate_limit_per_minute
        )
    )


@router.get("")
async def get_inbound(table_id: uuid.UUID, access: ViewerAccess, session: SessionDep) -> Envelope[InboundOut]:
    """The table's inbound URL settings (any member); never the token."""
    return ok(await InboundService(session).get(access.workspace_id, table_id))


@router.patch("")
async def update_inbound(
    table_id: uuid.UUID, body: InboundUpdate, access: MemberAccess, session: SessionDep
) -> Envelope[InboundOut]:
    """Change the mapping, the dedupe key or the rate limit (member+)."""
    return ok(await InboundService(session).update(access.workspace_id, table_id, body))


@router.post("/rotate")
async def rotate_inbound(table_id: uuid.UUID, access: MemberAccess, session: SessionDep) -> Envelope[InboundCreated]:
    """A new token (member+); the old one answers 404 from now on."""
    return ok(await InboundService(session).rotate(access.workspace_id, table_id))


@router.delete("")
async def revoke_inbound(table_id: uuid.UUID, access: MemberAccess, session: SessionDep) -> Envelope[InboundOut]:
    """Revoke the table's inbound URL (member+)."""
    return ok(await InboundService(session).revoke(access.workspace_id, table_id))


_PAYLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object", "description": "one row: field -> value"},
                        {"type": "array", "items": {"type": "object"}, "description": "rows"},
                    ]
                }
            }
        },
    }
}


@public_router.post("/{token}", status_code=status.HTTP_201_CREATED, openapi_extra=_PAYLOAD)
async def receive_inbound(
    token: Annotated[str, Path(max_length=200, description="the table's inbound token")],
    request: Request,
    settings: SettingsDep,
) -> Envelope[InboundAccepted]:
    """Append (or upsert) the JSON object or array of objects as rows; 201 only once they are stored."""
    # The token is looked up in a read session (no transaction), or remembered; the rows are written
    # by the endpoint's batcher, which groups concurrent POSTs into one transaction (inbound/batcher.py).
    state = request.app.state
    batcher: InboundBatcher = state.inbound_batcher
    async with state.read_sessions() as session:
        target = await batcher.target(session, token)
    limiter: RateLimiter = state.rate_limiter
    decision = await limiter.hit(f"inbound:{target.endpoint_id}", target.rate_limit_per_minute, 60.0)
    if not decision.allowed:
        raise TooManyRequests(
            f"This inbound URL takes {target.rate_limit_per_minute} requests a minute.",
            code="inbound_rate_limited",
            headers={"Retry-After": retry_after_header(decision)},
        )
    rows = parse_payload(await request.body(), settings.inbound_max_rows)
    return ok(await batcher.submit(target, rows))
