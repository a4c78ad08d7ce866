"""Dependencies of the enrichment routes: the Temporal client (one per app, connected lazily)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

from morket.core.config import Settings
from morket.core.errors import ServiceUnavailable

_lock = asyncio.Lock()


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


async def get_temporal_client(request: Request) -> Client:
    client: Client | None = getattr(request.app.state, "temporal_client", None)
    if client is not None:
        return client
    async with _lock:
        client = getattr(request.app.state, "temporal_client", None)
        if client is None:
            settings: Settings = request.app.state.settings
            try:
                client = await connect_temporal(settings)
            except RuntimeError as exc:
                raise ServiceUnavailable(
                    "The workflow engine is not reachable.", code="temporal_unavailable", details=str(exc)
                ) from None
            request.app.state.temporal_client = client
    return client


TemporalClient = Annotated[Client, Depends(get_temporal_client)]
