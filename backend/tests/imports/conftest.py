"""Fixtures for imports: the real Temporal dev server, a worker running the import workflow, the API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from morket.app import create_app
from morket.core.config import Settings
from morket.imports.activities import ImportActivities
from morket.imports.workflows import TableImportWorkflow
from tests.conftest import make_settings
from tests.factories import TestUser, create_workspace, register


@pytest.fixture
def import_settings(database_url: str, temporal_server: Any) -> Settings:
    return make_settings(
        database_url,
        temporal_address=temporal_server.address,
        temporal_task_queue=f"test-{uuid.uuid4().hex[:12]}",
        import_batch_rows=3,
        import_max_upload_bytes=200_000,
        import_max_rejected_rows=50,
    )


@pytest.fixture
async def api(import_settings: Settings, temporal_client: Client, clean_db: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(import_settings)
    app.state.temporal_client = temporal_client
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture
async def worker(
    import_settings: Settings, temporal_client: Client, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    activities = ImportActivities(sessions, import_settings)
    async with Worker(
        temporal_client,
        task_queue=import_settings.temporal_task_queue,
        workflows=[TableImportWorkflow],
        activities=[activities.run_import, activities.fail_import],
    ):
        yield


@dataclass
class Tenant:
    user: TestUser
    workspace_id: str

    @property
    def base(self) -> str:
        return f"/api/v1/workspaces/{self.workspace_id}"


@pytest.fixture
async def tenant(api: httpx.AsyncClient) -> Tenant:
    user = await register(api)
    workspace = await create_workspace(api, user)
    return Tenant(user, workspace["id"])


async def upload(api: httpx.AsyncClient, tenant: Tenant, filename: str, data: bytes) -> httpx.Response:
    return await api.post(
        f"{tenant.base}/imports",
        params={"filename": filename},
        content=data,
        headers={**tenant.user.headers, "content-type": "application/octet-stream"},
    )


async def wait_done(api: httpx.AsyncClient, tenant: Tenant, import_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = await api.get(f"{tenant.base}/imports/{import_id}", headers=tenant.user.headers)
        data: dict[str, Any] = response.json()["data"]
        if data["status"] in ("completed", "failed"):
            return data
        assert time.monotonic() < deadline, f"import still {data['status']} after {timeout}s"
        await asyncio.sleep(0.1)


async def all_rows(api: httpx.AsyncClient, tenant: Tenant, table_id: str) -> list[dict[str, Any]]:
    """Every row's cells by column name, in id order, through the export (CSV parsed back)."""
    import csv
    import io

    response = await api.get(f"{tenant.base}/tables/{table_id}/export", headers=tenant.user.headers)
    assert response.status_code == 200, response.text
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))
    return list(reader)
