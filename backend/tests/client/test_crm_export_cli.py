"""`morket client crm-export` against the real stack: a uvicorn API process that starts the run
on the Temporal dev server, an in-process worker that pushes to the sandbox's HubSpot over HTTP,
and PostgreSQL. The connection and the export are made through the API first (OAuth needs a
signed-in admin); the CLI then works with a workspace API key, as a script would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from morket_client.cli import main as cli_main
from morket_sandbox.server import SandboxServer

from morket.core.config import Settings
from tests.crm.conftest import enrichment_settings  # noqa: F401
from tests.crm.helpers import Workspace, people
from tests.enrichment.conftest import api, reset_sandbox, sandbox, worker  # noqa: F401
from tests.tables.test_live_events import ApiProcess

HUBSPOT_CONTACTS = {"Email": "email", "First": "firstname", "Last": "lastname"}


@pytest.fixture
def crm_api_process(enrichment_settings: Settings) -> Iterator[ApiProcess]:  # noqa: F811
    """An API process that starts workflows on the test's Temporal server and task queue."""
    process = ApiProcess(
        enrichment_settings,
        {
            "TEMPORAL_ADDRESS": enrichment_settings.temporal_address,
            "TEMPORAL_NAMESPACE": enrichment_settings.temporal_namespace,
            "TEMPORAL_TASK_QUEUE": enrichment_settings.temporal_task_queue,
        },
    )
    try:
        yield process
    finally:
        process.stop()


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def test_list_run_and_follow_a_crm_export(
    api: httpx.AsyncClient,  # noqa: F811
    worker: None,  # noqa: F811
    sandbox: SandboxServer,  # noqa: F811
    crm_api_process: ApiProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    space = await Workspace.create(api, sandbox)
    await space.add_table(people(250))
    connection = await space.connect("hubspot")
    export = (await space.export(connection["id"], "contacts", HUBSPOT_CONTACTS)).json()["data"]
    # Starting a run is an "enrich" POST for API keys (it ends in /runs: apikeys.service.required_scope).
    key = await space.post("/api-keys", {"name": "cli", "role": "member", "scopes": ["read", "write", "enrich"]})
    assert key.status_code == 201, key.text
    await crm_api_process.wait_ready()
    monkeypatch.setenv("MORKET_API_KEY", key.json()["data"]["key"])
    monkeypatch.setenv("MORKET_URL", crm_api_process.url)

    async def cli(*argv: str) -> tuple[int, list[dict[str, Any]], str]:
        code = await asyncio.to_thread(cli_main, list(argv))
        out, err = capsys.readouterr()
        return code, _lines(out), err

    code, listed, _ = await cli("crm-export", "list", "--table", "People")
    assert code == 0
    assert listed == [
        {
            "id": export["id"],
            "table_id": space.table["id"],
            "crm": "hubspot",
            "object_type": "contacts",
            "key_property": "email",
        }
    ]

    # A run of 250 rows (three HubSpot batches), followed to its end: a line per change, the
    # counts only growing, the last one final.
    code, progress, _ = await cli("crm-export", "run", export["id"], "--follow", "--poll", "0.05", "--timeout", "90")
    assert code == 0, progress
    assert progress[-1] == {
        "run_id": progress[0]["run_id"],
        "status": "completed",
        "row_count": 250,
        "pushed_count": 250,
        "created_count": 250,
        "updated_count": 0,
        "failed_count": 0,
        "skipped_count": 0,
        "batches": 3,
        "error": None,
    }
    assert len({json.dumps(p, sort_keys=True) for p in progress}) == len(progress)
    pushed = [p["pushed_count"] for p in progress]
    assert pushed == sorted(pushed)
    assert len(await space.crm_records("hubspot")) == 250

    # Selected rows, forced: pushed again although unchanged; started without following, then followed.
    rows = [str(r["id"]) for r in (await space.rows())[:3]]
    code, started, _ = await cli("crm-export", "run", export["id"], "--rows", ",".join(rows), "--force")
    assert code == 0 and len(started) == 1 and started[0]["status"] == "queued"
    code, followed, _ = await cli("crm-export", "follow", started[0]["run_id"], "--poll", "0.05", "--timeout", "90")
    assert code == 0
    last = followed[-1]
    assert (last["status"], last["row_count"], last["updated_count"]) == ("completed", 3, 3)

    # Not a run of this workspace: the API's 404, as a message and exit status 1.
    code, _, err = await cli("crm-export", "follow", "00000000-0000-0000-0000-000000000000")
    assert code == 1 and err.startswith("morket client: 404 ")
    with pytest.raises(SystemExit):
        await cli("crm-export", "run", export["id"], "--rows", "1,x")
