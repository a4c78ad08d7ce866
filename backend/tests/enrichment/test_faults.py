"""Sandbox with 30% errors and 10% 429s: the job finishes, every record ends for a reason the faults
explain, the breaker opens and recovers, the waterfall falls through, and no failed call is charged.

How many records complete is not asserted: it depends on timing, not on the seed. The seed fixes
the sandbox's sequence of verdicts, but which record's call draws which verdict depends on the
order calls arrive in. And the breaker opens on a count of failures, but its way back is timed:
1 s of cooldown, then one probe while every other caller is told to come back in a second. The
waterfall's rounds are timed too (again after 1 s, then 2 s). With 64 records in flight, a breaker
that opens refuses a whole wave of records at once; they come back together at about the moment
it turns half-open, when only the probe goes through. How many of a field's three rounds fall into
an open or half-open window is decided by how fast calls run, so a loaded machine sees a different
share of failed records (87 of 200 completed once, against more than half alone). What the product
promises holds at any speed, and is what this test checks: a record fails only when, for a field,
some provider was tried in every round and each time hit an injected fault or an open breaker, and
no provider found the value; every call the sandbox answered is accounted for; only found values
are charged, each once.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from morket_sandbox.server import SandboxServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from morket.core.config import Settings
from morket.enrichment.gateway_access import GatewayProviderAccess
from morket.enrichment.waterfall import FIELD_ROUNDS
from morket.providers.breaker import BreakerConfig, BreakerState, InMemoryCircuitBreaker, Permit
from morket.providers.gateway import ProviderGateway
from morket.worker import build_worker
from tests.enrichment.helpers import all_records, balance, create_job, funded_workspace, ledger, people, wait_for_job

WATERFALL = {"email": ["apollo", "hunter"], "company_name": ["clearbit"], "industry": ["clearbit"]}
# Outcomes of a call the provider answered (HTTP) with what it knows.
ANSWERED = {"success", "no_match", "no_value"}
# Outcomes the injected faults and the breaker leave: a 5xx or an open breaker (transient_error),
# a 429 (rate_limited; Hunter's 429 means its plan's quota, quota_exhausted).
FAULTED = {"transient_error", "rate_limited", "quota_exhausted"}
# The reasons those attempts carry: a 500/502/503, a paused (open or half-open) breaker, or a 429 in
# the provider's words (Apollo names the window that ran out, Hunter its plan, Clearbit its limit).
FAULT_REASON = re.compile(
    r"answered 50[023]$|calls are paused \((open|half_open)\)$|api calls allowed|usage limit|quota|rate limit",
    re.IGNORECASE,
)


class RecordingBreaker(InMemoryCircuitBreaker):
    """A real breaker (short cooldown, so the test sees it recover) that remembers its states."""

    def __init__(self, slug: str, states: dict[str, list[str]]) -> None:
        super().__init__(BreakerConfig(cooldown=1.0, probe_timeout=5.0))
        self.trail = states.setdefault(slug, [])

    async def record(self, permit: Permit, *, failure: bool) -> None:
        await super().record(permit, failure=failure)
        state = (await self.snapshot()).state.value
        if not self.trail or self.trail[-1] != state:
            self.trail.append(state)


@dataclass
class FaultyWorker:
    gateway: ProviderGateway
    # provider -> the breaker's states, in the order it took them
    trails: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture
async def faulty_worker(
    enrichment_settings: Settings, temporal_client: Client, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FaultyWorker]:
    trails: dict[str, list[str]] = {}
    gateway = ProviderGateway(
        enrichment_settings,
        sessions,
        breaker_factory=lambda slug: RecordingBreaker(slug, trails),
    )
    async with (
        gateway,
        build_worker(temporal_client, enrichment_settings, sessions, GatewayProviderAccess(gateway)) as w,
        w,
    ):
        yield FaultyWorker(gateway, trails)


def failed_field_explained(attempts: list[dict[str, Any]], name: str) -> str | None:
    """Why a failed field's attempts do not explain its failure, or None when they do."""
    mine = [a for a in attempts if a["field"] == name]
    if any(a["outcome"] == "success" for a in mine):
        return "a provider found the value"
    unexplained = [a for a in mine if a["outcome"] not in ANSWERED and a["outcome"] not in FAULTED]
    if unexplained:
        return f"outcomes the faults cannot cause: {unexplained}"
    bad_reason = [a for a in mine if a["outcome"] in FAULTED and not FAULT_REASON.search(a["error"] or "")]
    if bad_reason:
        return f"reasons that are not an injected fault or an open breaker: {bad_reason}"
    # A field fails after its last round still had an error, so a provider that never answered
    # was asked in every round and faulted each time; one that answered is not asked again.
    faults_by_provider = Counter(a["provider"] for a in mine if a["outcome"] in FAULTED)
    answered = {a["provider"] for a in mine if a["outcome"] in ANSWERED}
    if not any(n == FIELD_ROUNDS and p not in answered for p, n in faults_by_provider.items()):
        return f"no provider was tried in all {FIELD_ROUNDS} rounds: {mine}"
    return None


async def test_faults_fall_through_and_cost_nothing(
    api: httpx.AsyncClient,
    faulty_worker: FaultyWorker,
    sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        faults = {"default": {"error_rate": 0.3, "rate_429": 0.1, "seed": 7}}
        assert (await http.put("/_admin/faults", json=faults)).status_code == 200
    user, ws = await funded_workspace(api, credits=100_000)
    start = await balance(api, user, ws)
    total = 200
    job = await create_job(
        api, user, ws, {"records": people(total, tag="flt"), "fields": list(WATERFALL), "waterfall": WATERFALL}
    )
    done = await wait_for_job(api, user, ws, job["id"], timeout=120)
    assert done["status"] in ("completed", "partially_completed"), done
    assert done["counts"]["completed"] + done["counts"]["failed"] == total

    # The breaker opened under the errors and closed again once a probe went through.
    assert any(
        BreakerState.OPEN.value in trail and BreakerState.CLOSED.value in trail[trail.index(BreakerState.OPEN.value) :]
        for trail in faulty_worker.trails.values()
    ), faulty_worker.trails

    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        stats: dict[str, Any] = (await http.get("/_admin/stats")).json()

    async with sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT record_id, field, provider, outcome, cost, cached, error FROM enrichment_attempts"
                    " WHERE job_id = :j ORDER BY id"
                ),
                {"j": job["id"]},
            )
        ).all()
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        attempts[str(row.record_id)].append(dict(row._mapping))
    all_attempts = [a for mine in attempts.values() for a in mine]
    outcomes = Counter(a["outcome"] for a in all_attempts)
    assert set(outcomes) <= ANSWERED | FAULTED, outcomes
    assert outcomes["transient_error"] > 0, outcomes
    # No failed call is charged; a found value is charged its price.
    assert all(a["cost"] == 0 for a in all_attempts if a["outcome"] != "success"), outcomes
    assert all(a["cost"] > 0 for a in all_attempts if a["outcome"] == "success" and not a["cached"]), outcomes

    # Every record ended for a reason: completed with each field found or known-absent, or failed
    # with each failed field explained by injected faults and the open breaker.
    records = await all_records(api, user, ws, job["id"])
    assert len(records) == total
    for record in records:
        mine = attempts[record["id"]]
        failed = [name for name in WATERFALL if record["results"][name]["status"] == "failed"]
        assert record["status"] == ("failed" if failed else "completed"), record
        if failed:
            assert record["error"] == f"no provider could answer for: {', '.join(failed)}", record
        for name in failed:
            why = failed_field_explained(mine, name)
            assert why is None, (record, name, why)
        for name, result in record["results"].items():
            if result["status"] == "not_found":
                # Every provider of the field answered that it does not know.
                answered = {a["provider"] for a in mine if a["field"] == name and a["outcome"] in ANSWERED}
                assert answered == set(WATERFALL[name]), (record, mine)
            if result["status"] == "found":
                # The value came from the last attempt on the field, which found it.
                last = [a for a in mine if a["field"] == name][-1]
                assert (last["provider"], last["outcome"]) == (result["provider"], "success"), (record, mine)
        # Apollo could not answer the email (fault or open breaker) and Hunter was asked next.
        email = [a for a in mine if a["field"] == "email"]
        apollo_faulted = any(a["provider"] == "apollo" and a["outcome"] in FAULTED for a in email)
        if apollo_faulted and record["results"]["email"]["provider"] != "apollo":
            assert any(a["provider"] == "hunter" for a in email), (record, email)
    assert any(r["results"]["email"]["provider"] == "hunter" for r in records)

    # The sandbox's own log. Every call the worker's gateway made reached it, and its answers
    # (what is neither a 429 nor a 5xx) are the gateway's successes and no-matches (less cache
    # hits, which never reach it; every record differs, so there are none). Every answer
    # the attempts record (a call answering several fields, Clearbit's, counts once per record) is
    # one of those; the two counts are equal unless a chunk ran twice (its first run's calls are
    # in the log but not in the attempts), which a starved heartbeat can cause on a loaded machine.
    gateway_stats = faulty_worker.gateway.stats
    providers: dict[str, dict[str, Any]] = stats["providers"]
    for slug in ("apollo", "hunter", "clearbit"):
        by_status: dict[str, int] = providers[slug]["by_status"]
        fault_answers = sum(n for status, n in by_status.items() if status == "429" or status.startswith("5"))
        answers = providers[slug]["total"] - fault_answers
        assert providers[slug]["total"] == gateway_stats.http_calls[slug], (slug, stats, gateway_stats)
        gateway_answers = (
            gateway_stats.outcomes[(slug, "success")]
            + gateway_stats.outcomes[(slug, "no_match")]
            - gateway_stats.cache_hits[slug]
        )
        assert answers == gateway_answers, (slug, by_status, gateway_stats)
        recorded_answers = sum(
            1 for mine in attempts.values() if any(a["provider"] == slug and a["outcome"] in ANSWERED for a in mine)
        )
        assert 0 < recorded_answers <= answers, (slug, by_status, recorded_answers)
    assert sum(p["by_status"].get("429", 0) for p in providers.values()) > 0, stats

    # Money: exactly one debit per found, paid cell; the ledger, the records and the job agree.
    debits, spent = await ledger(sessions, job["id"])
    found_cells = sum(1 for r in records for f in r["results"].values() if f["status"] == "found" and f["cost"] > 0)
    paid_attempts = sum(1 for a in all_attempts if a["outcome"] == "success" and a["cost"] > 0)
    assert debits == found_cells == paid_attempts
    assert spent == sum(r["credits_spent"] for r in records) == done["credits"]["spent"]
    assert spent == sum(a["cost"] for a in all_attempts)
    end = await balance(api, user, ws)
    assert end["reserved"] == 0
    assert end["balance"] == start["balance"] - spent
