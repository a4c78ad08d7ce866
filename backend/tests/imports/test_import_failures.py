"""An import whose table is deleted before the worker gets to it fails and says so (no retries)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from morket.core.config import Settings
from morket.imports.activities import ImportActivities
from morket.imports.workflows import TableImportWorkflow
from tests.imports.conftest import Tenant, upload, wait_done


async def test_table_deleted_before_the_run(
    api: httpx.AsyncClient,
    tenant: Tenant,
    import_settings: Settings,
    temporal_client: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    created = await api.post(
        f"{tenant.base}/tables",
        json={"name": "T", "columns": [{"name": "a", "type": "text"}]},
        headers=tenant.user.headers,
    )
    assert created.status_code == 201, created.text
    table = created.json()["data"]
    item = (await upload(api, tenant, "t.csv", b"a\n1\n2\n")).json()["data"]
    body = {
        "mode": "existing_table",
        "table_id": table["id"],
        "mapping": [{"source": 0, "column_id": table["columns"][0]["id"]}],
    }
    committed = await api.post(f"{tenant.base}/imports/{item['id']}/commit", json=body, headers=tenant.user.headers)
    assert committed.status_code == 202
    # No worker yet: the workflow waits on the task queue while the table goes away.
    deleted = await api.delete(f"{tenant.base}/tables/{table['id']}", headers=tenant.user.headers)
    assert deleted.status_code == 200, deleted.text
    activities = ImportActivities(sessions, import_settings)
    async with Worker(
        temporal_client,
        task_queue=import_settings.temporal_task_queue,
        workflows=[TableImportWorkflow],
        activities=[activities.run_import, activities.fail_import],
    ):
        done = await wait_done(api, tenant, item["id"])
    assert done["status"] == "failed"
    assert "deleted while the import ran" in done["error"]
    assert "No row was imported." in done["error"]
    assert done["progress"]["rows_inserted"] == 0
