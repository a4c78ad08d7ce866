"""Who reads what (docs/rbac.md): a viewer reads the workspace's enrichment jobs and records but
cannot create or cancel them; webhook subscriptions (URLs are often bearer secrets) are member+."""

from __future__ import annotations

import httpx

from tests.enrichment.helpers import create_job, funded_workspace, people
from tests.factories import add_member, register


async def test_viewer_reads_jobs_and_records_but_not_webhooks(api: httpx.AsyncClient) -> None:
    owner, ws = await funded_workspace(api, credits=10_000)
    job = await create_job(api, owner, ws, {"records": people(3, tag="view"), "fields": ["email"]})
    viewer = await register(api)
    await add_member(api, owner, ws, viewer, "viewer")
    base = f"/api/v1/workspaces/{ws}"

    listed = await api.get(f"{base}/enrichment-jobs", headers=viewer.headers)
    assert listed.status_code == 200, listed.text
    assert [j["id"] for j in listed.json()["data"]] == [job["id"]]
    one = await api.get(f"{base}/enrichment-jobs/{job['id']}", headers=viewer.headers)
    assert one.status_code == 200 and one.json()["data"]["record_count"] == 3
    records = await api.get(f"{base}/enrichment-jobs/{job['id']}/records", headers=viewer.headers)
    assert records.status_code == 200 and len(records.json()["data"]) == 3
    record_id = records.json()["data"][0]["id"]
    record = await api.get(f"{base}/enrichment-records/{record_id}", headers=viewer.headers)
    assert record.status_code == 200 and record.json()["data"]["id"] == record_id

    # Writes stay member+.
    cancel = await api.post(f"{base}/enrichment-jobs/{job['id']}/cancel", headers=viewer.headers)
    assert cancel.status_code == 403
    assert (await api.get(f"{base}/enrichment-jobs/{job['id']}", headers=owner.headers)).json()["data"][
        "cancel_requested_at"
    ] is None
    # Webhook destinations are not shown to viewers.
    hooks = await api.get(f"{base}/webhooks", headers=viewer.headers)
    assert hooks.status_code == 403
