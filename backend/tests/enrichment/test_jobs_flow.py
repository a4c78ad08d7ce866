"""A job end to end: API -> Temporal workflow -> chunk activities -> sandbox -> ledger."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.enrichment.helpers import all_records, balance, create_job, funded_workspace, ledger, people, wait_for_job

FIELDS = ["email", "company_name", "industry"]
WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"], "industry": ["clearbit"]}


async def test_job_completes_with_provenance_and_exact_ledger(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api, credits=10_000)
    start = await balance(api, user, ws)
    job = await create_job(api, user, ws, {"records": people(120), "fields": FIELDS, "waterfall": WATERFALL})
    assert job["status"] in ("queued", "running")
    assert job["record_count"] == 120
    assert job["credits"]["estimated"] > 0
    assert job["credits"]["reserved"] == job["credits"]["estimated"]

    done = await wait_for_job(api, user, ws, job["id"])
    counts = done["counts"]
    assert done["status"] in ("completed", "partially_completed"), done
    assert counts["completed"] + counts["failed"] + counts["cancelled"] == 120
    assert counts["pending"] == 0

    records = await all_records(api, user, ws, job["id"])
    assert [r["seq"] for r in records] == list(range(120))
    spent = sum(r["credits_spent"] for r in records)
    assert spent == done["credits"]["spent"]
    found_email = [r for r in records if r["results"]["email"]["status"] == "found"]
    assert found_email, "the waterfall found no email at all"
    assert {r["results"]["email"]["provider"] for r in found_email} <= {"apollo", "hunter"}
    # Hunter is only asked when Apollo did not know.
    for r in records:
        if r["results"]["email"]["provider"] == "apollo":
            assert r["output"]["email"]

    end = await balance(api, user, ws)
    assert end["reserved"] == 0
    assert end["balance"] == start["balance"] - spent

    debits = await ledger(sessions, job["id"])
    # The results are read from the table's cells and their provenance (one store).
    found_cells = sum(1 for r in records for f in r["results"].values() if f["status"] == "found" and f["cost"] > 0)
    assert debits[0] == found_cells
    assert debits[1] == spent

    detail = await api.get(f"/api/v1/workspaces/{ws}/enrichment-records/{found_email[0]['id']}", headers=user.headers)
    assert detail.status_code == 200
    attempts = detail.json()["data"]["attempts"]
    assert any(a["field"] == "email" and a["outcome"] == "success" and a["raw"] for a in attempts)
