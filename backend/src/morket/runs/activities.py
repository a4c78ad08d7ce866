"""The base of a paced run kind's activities class: what every step needs besides its own rules
(the worker's sessions, settings and HTTP client, and the run's cancel flag)."""

from __future__ import annotations

import uuid
from typing import Generic

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.runs.repository import R, RunRepository


class PacedRunActivities(Generic[R]):
    """Subclasses set `model` (their run table) and define the step and finish activities."""

    model: type[R]

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, http: httpx.AsyncClient) -> None:
        self.sessions = sessions
        self.settings = settings
        self.http = http

    async def cancelled(self, run_id: uuid.UUID) -> bool:
        """Whether a cancel was asked (read in a short session of its own, between requests)."""
        async with self.sessions() as session:
            return await RunRepository(session, self.model).cancel_requested(run_id)
