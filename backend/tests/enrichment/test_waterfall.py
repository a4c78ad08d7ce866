"""Properties of the waterfall, with a scripted provider call in place of the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from morket.enrichment.waterfall import run_waterfall
from morket.providers.base import Operation, Outcome, ProviderAdapter, ProviderResult
from morket.providers.registry import get_provider

RECORD = {"first_name": "Ada", "last_name": "Lovelace", "domain": "acme.com"}
CHAIN = ["apollo", "hunter"]
ADAPTERS = {slug: get_provider(slug) for slug in ("apollo", "hunter", "clearbit")}
OUTCOMES = [Outcome.SUCCESS, Outcome.NO_MATCH, Outcome.TRANSIENT_ERROR, Outcome.RATE_LIMITED, Outcome.AUTH_FAILED]


class ScriptedCall:
    """Answers each provider from a script (one outcome per call, the last one repeating)."""

    def __init__(self, script: Mapping[str, list[Outcome]]) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: list[str] = []

    async def __call__(
        self, adapter: ProviderAdapter, operation: Operation, inputs: Mapping[str, Any]
    ) -> ProviderResult:
        self.calls.append(adapter.slug)
        queue = self.script[adapter.slug]
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        value = f"{adapter.slug}@acme.com"
        fields = {"email": value, "company_name": "Acme", "industry": "Software"} if outcome is Outcome.SUCCESS else {}
        return adapter.result(operation, outcome, fields=fields, raw={"from": adapter.slug}, retry_after=0.0)


async def no_sleep(_: float) -> None:
    return None


@settings(max_examples=150, deadline=None)
@given(
    apollo=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=6),
    hunter=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=6),
)
async def test_first_value_wins_and_only_successes_cost(apollo: list[Outcome], hunter: list[Outcome]) -> None:
    call = ScriptedCall({"apollo": apollo, "hunter": hunter})
    outcome = await run_waterfall(RECORD, ["email"], {"email": CHAIN}, ADAPTERS, call, sleep=no_sleep)
    field = outcome.fields["email"]
    # Every attempt that did not produce the value costs nothing; the value's attempt costs its price.
    for attempt in outcome.attempts:
        if attempt.outcome != "success":
            assert attempt.cost == 0
    assert outcome.cost == field.cost == sum(a.cost for a in outcome.attempts)
    if field.status == "found":
        assert field.value == f"{field.provider}@acme.com"
        assert field.cost > 0
        winning = [a for a in outcome.attempts if a.outcome == "success"]
        assert len(winning) == 1 and winning[0].provider == field.provider
        # Nothing is asked after the value is found.
        assert outcome.attempts[-1].provider == field.provider
    else:
        assert field.cost == 0
    # A provider that said "no match" is not asked again for the same field.
    if apollo[0] is Outcome.NO_MATCH:
        assert call.calls.count("apollo") == 1
    if field.status == "not_found":
        last = {a.provider: a.outcome for a in outcome.attempts}
        assert set(last.values()) <= {"no_match", "invalid_input", "no_value"}


async def test_error_falls_through_to_the_next_provider() -> None:
    call = ScriptedCall({"apollo": [Outcome.TRANSIENT_ERROR], "hunter": [Outcome.SUCCESS]})
    outcome = await run_waterfall(RECORD, ["email"], {"email": CHAIN}, ADAPTERS, call, sleep=no_sleep)
    assert outcome.fields["email"].provider == "hunter"
    assert [a.outcome for a in outcome.attempts] == ["transient_error", "success"]
    assert outcome.status == "completed"


async def test_all_failing_is_failed_after_rounds() -> None:
    call = ScriptedCall({"apollo": [Outcome.TRANSIENT_ERROR], "hunter": [Outcome.TRANSIENT_ERROR]})
    outcome = await run_waterfall(RECORD, ["email"], {"email": CHAIN}, ADAPTERS, call, sleep=no_sleep)
    assert outcome.fields["email"].status == "failed"
    assert outcome.status == "failed"
    assert call.calls == ["apollo", "hunter"] * 3


async def test_one_call_answers_two_fields_and_each_field_is_charged_once() -> None:
    call = ScriptedCall({"clearbit": [Outcome.SUCCESS]})
    waterfall = {"company_name": ["clearbit"], "industry": ["clearbit"]}
    outcome = await run_waterfall(RECORD, list(waterfall), waterfall, ADAPTERS, call, sleep=no_sleep)
    assert call.calls == ["clearbit"]
    assert outcome.output == {"company_name": "Acme", "industry": "Software"}
    # The answer is reused, not a cache hit: each cell is charged, none is marked cached.
    assert [a.cached for a in outcome.attempts] == [False, False]
    assert all(f.cost > 0 for f in outcome.fields.values())
