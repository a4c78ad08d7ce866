"""The engine's fault test on table rows: a column run while the sandbox answers 30% errors and
10% 429s. Every run settles, cells end in a final state that matches their job record, the
ledger holds exactly one debit per paid cell (none for failures, none twice), the balance moves
by exactly that, and nothing stays reserved."""

from __future__ import annotations

from typing import Any

import httpx
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.providers.breaker import BreakerState
from tests.columns.helpers import leads_table, wait_for_run
from tests.enrichment.helpers import all_records, balance, funded_workspace
from tests.enrichment.test_faults import FaultyWorker, faulty_worker  # noqa: F401

ROWS = 200


async def test_column_run_under_faults_charges_exactly_the_paid_cells(
    api: httpx.AsyncClient,
    faulty_worker: FaultyWorker,  # noqa: F811
    sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        faults = {"default": {"error_rate": 0.3, "rate_429": 0.1, "seed": 11}}
        assert (await http.put("/_admin/faults", json=faults)).status_code == 200
    user, ws = await funded_workspace(api, credits=100_000)
    leads = await leads_table(api, user, ws, ROWS, tag="cflt")
    industry = await leads.add_column({"name": "Industry", "type": "text"})
    assert industry.status_code == 201, industry.text
    email = await leads.add_column(leads.enrichment())
    company_body = leads.enrichment(
        "Company",
        field="company_name",
        waterfall=["clearbit"],
        inputs={"domain": leads.col["Domain"]},
        outputs={"industry": leads.col["Industry"]},
    )
    company = await leads.add_column({**company_body, "type": "text"})
    assert email.status_code == 201 and company.status_code == 201, (email.text, company.text)
    start = await balance(api, user, ws)

    run = await leads.run({"column_ids": [leads.col["Work email"], leads.col["Company"]]})
    jobs = {r["column_id"]: r["job"]["id"] for r in run["runs"]}
    assert all(r["rows"] == ROWS for r in run["runs"])
    # Same rows, same write policy, no budget: the two columns share one job (one record per row).
    assert len(set(jobs.values())) == 1
    finished = {job_id: await wait_for_run(api, user, ws, job_id) for job_id in set(jobs.values())}
    for job in finished.values():
        assert job["status"] in ("completed", "partially_completed"), job
        assert job["counts"]["completed"] + job["counts"]["failed"] == ROWS
        assert job["credits"]["settled"] is True

    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        stats: dict[str, Any] = (await http.get("/_admin/stats")).json()
    assert "429" in str(stats), stats
    # The breakers opened under the errors and closed again.
    assert any(
        BreakerState.OPEN.value in trail and BreakerState.CLOSED.value in trail[trail.index(BreakerState.OPEN.value) :]
        for trail in faulty_worker.trails.values()
    ), faulty_worker.trails

    rows = {r["id"]: r for r in await leads.rows()}
    targets = {
        leads.col["Work email"]: {"email": leads.col["Work email"]},
        leads.col["Company"]: {"company_name": leads.col["Company"], "industry": leads.col["Industry"]},
    }
    paid_cells = 0
    spent = 0
    spent_per_record: dict[str, int] = {}
    for column, job_id in jobs.items():
        records = await all_records(api, user, ws, job_id)
        assert sorted(r["row_id"] for r in records) == sorted(rows)
        for record in records:
            row = rows[record["row_id"]]
            for field, target in targets[column].items():
                result = record["results"][field]
                state = row["meta"][target]
                if result["status"] == "found":
                    assert state["state"] == "done", (record, state)
                    assert row["cells"][target] == result["value"]
                    assert (state["provider"], state["cost"]) == (result["provider"], result["cost"])
                    paid_cells += result["cost"] > 0
                    spent += result["cost"]
                elif result["status"] == "not_found":
                    assert state["state"] == "no_data" and row["cells"][target] is None
                else:  # every provider failed: an error with its reason, an empty cell, no charge
                    assert result["cost"] == 0
                    assert state["state"] == "error" and state["reason"] and row["cells"][target] is None
            spent_per_record[record["id"]] = record["credits_spent"]
            assert set(record["results"]) == {f for fields in targets.values() for f in fields}
    every_record = [r for job_id in set(jobs.values()) for r in await all_records(api, user, ws, job_id)]
    assert sum(spent_per_record.values()) == sum(
        r["results"][f]["cost"] for r in every_record for f in r["results"] if r["results"][f]["status"] == "found"
    )
    assert paid_cells > ROWS // 2  # the waterfall got through most of the faults

    async with sessions() as session:
        ledger = (
            await session.execute(
                text(
                    "SELECT count(*), count(DISTINCT (record_id, field)), coalesce(sum(-amount), 0)"
                    " FROM credit_transactions WHERE job_id = ANY(CAST(:jobs AS uuid[])) AND type = 'debit'"
                ),
                {"jobs": list(set(jobs.values()))},
            )
        ).one()
        charged_failures = (
            await session.execute(
                text(
                    "SELECT count(*) FROM enrichment_attempts"
                    " WHERE job_id = ANY(CAST(:jobs AS uuid[])) AND outcome <> 'success' AND cost > 0"
                ),
                {"jobs": list(set(jobs.values()))},
            )
        ).scalar_one()
        outcomes = dict(
            (
                await session.execute(
                    text(
                        "SELECT outcome, count(*) FROM enrichment_attempts"
                        " WHERE job_id = ANY(CAST(:jobs AS uuid[])) GROUP BY outcome"
                    ),
                    {"jobs": list(set(jobs.values()))},
                )
            ).all()
        )
    debits, distinct_cells, debited = ledger
    assert debits == distinct_cells == paid_cells  # one debit per paid cell, none twice
    assert debited == spent == sum(job["credits"]["spent"] for job in finished.values())
    assert charged_failures == 0
    assert outcomes.get("transient_error", 0) > 0, outcomes
    end = await balance(api, user, ws)
    assert end["reserved"] == 0
    assert end["balance"] == start["balance"] - spent
