"""Route glue shared by the durable runs' routers: start the run's workflow after the commit
that makes the run true (STYLE 16); a start that fails is the reconciler's (docs/runs.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from morket.core.db import after_commit
from morket.enrichment.deps import get_temporal_client

log = logging.getLogger("morket.runs")


async def start_after_commit(
    request: Request, session: AsyncSession, start: Callable[[Client], Awaitable[None]], what: str
) -> None:
    """Get the Temporal client now (a 503 here rolls the uncommitted run back) and start the
    workflow once the session dependency has committed; a failed start is logged, not raised."""
    temporal = await get_temporal_client(request)

    async def started() -> None:
        try:
            await start(temporal)
        except (RPCError, RuntimeError):
            log.exception("could not start the workflow of %s (the reconciler will)", what)

    after_commit(session, started)
