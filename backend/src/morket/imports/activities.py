"""Import activities, run by the worker: the import itself and marking it failed."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.imports.service import ImportFailed, ImportRunner, ImportService
from morket.imports.workflows import FAIL_IMPORT, RUN_IMPORT, FailImportInput, TableImportInput

log = logging.getLogger("morket.imports")


class ImportActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.runner = ImportRunner(sessions, settings)

    @activity.defn(name=RUN_IMPORT)
    async def run_import(self, data: TableImportInput) -> None:
        try:
            await self.runner.run(uuid.UUID(data.import_id), activity.heartbeat)
        except ImportFailed as exc:
            raise ApplicationError(str(exc), type="ImportFailed", non_retryable=True) from exc

    @activity.defn(name=FAIL_IMPORT)
    async def fail_import(self, data: FailImportInput) -> None:
        await self.runner.fail(uuid.UUID(data.import_id), data.message)


async def expire_uploads(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> int:
    """Fail uploads never committed within IMPORT_UPLOAD_TTL_HOURS and delete their files."""
    async with unit_of_work(sessions) as session:
        return await ImportService(session, settings).expire_uploads()


async def start_unstarted_imports(
    client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> int:
    """Start the workflow of imports left `queued` (the API could not reach Temporal); idempotent."""
    async with unit_of_work(sessions) as session:
        service = ImportService(session, settings)
        started = 0
        for import_id in await service.unstarted():
            try:
                await service.start_workflow(client, import_id)
                started += 1
            except RPCError:
                log.exception("could not start the workflow of import %s", import_id)
    return started
