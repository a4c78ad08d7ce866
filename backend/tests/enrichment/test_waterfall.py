"""Properties of the waterfall, with a scripted provider call in place of the gateway."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from morket.enrichment.activities import to_rows
from morket.enrichment.repository import PendingRecord
from morket.enrichment.waterfall import run_waterfall
from morket.providers.base import Operation, Outcome, ProviderAdapter, ProviderResult
from morket.providers.registry import get_provider

RECORD = {"first_name": "Ada", "last_name": "Lovelace", "domain": "acme.com"}
CHAIN = ["apollo", "hunter"]
ADAPTERS = {slug: get_provider(slug) for slug in ("apollo", "hunter", "clearbit")}
OUTCOMES = [Outcome.SUCCESS, Outcome.NO_MATCH, Outcome.TRANSIENT_ERROR, Outcome.RATE_LIMITED, Outcome.AUTH_FAILED]
# A "success" that carries no value: the provider answered, but there is nothing to charge for.
VALUELESS = "valueless"


class ScriptedCall:
    """Answers each provider from a script (one outcome per call, the last one repeating)."""

    def __init__(self, script: Mapping[str, list[Outcome | str]]) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: list[str] = []

    async def __call__(
        self, adapter: ProviderAdapter, operation: Operation, inputs: Mapping[str, Any]
    ) -> ProviderResult:
        self.calls.append(adapter.slug)
        queue = self.script[adapter.slug]
        scripted = queue.pop(0) if len(queue) > 1 else queue[0]
        value = f"{adapter.slug}@acme.com"
        fields = {"email": value, "company_name": "Acme", "industry": "Software"} if scripted is Outcome.SUCCESS else {}
        outcome = Outcome.SUCCESS if scripted == VALUELESS else Outcome(scripted)
        return adapter.result(operation, outcome, fields=fields, raw={"from": adapter.slug}, retry_after=0.0)


async def no_sleep(_: float) -> None:
    return None


@settings(max_examples=150, deadline=None)
@given(
    apollo=st.lists(st.sampled_from([*OUTCOMES, VALUELESS]), min_size=1, max_size=6),
    hunter=st.lists(st.sampled_from([*OUTCOMES, VALUELESS]), min_size=1, max_size=6),
)
async def test_first_value_wins_and_only_successes_cost(
    apollo: list[Outcome | str], hunter: list[Outcome | str]
) -> None:
    call = ScriptedCall({"apollo": apollo, "hunter": hunter})
    outcome = await run_waterfall(RECORD, ["email"], {"email": CHAIN}, ADAPTERS, call, sleep=no_sleep)
    field = outcome.fields["email"]
    # Every attempt that did not produce the value costs nothing; the value's attempt costs its price.
    for attempt in outcome.attempts:
        if attempt.outcome != "success":
            assert attempt.cost == 0
    assert outcome.cost == field.cost == sum(a.cost for a in outcome.attempts)
    # Only an answer with a value is ever charged; "no_value" attempts cost nothing.
    assert all(a.cost == 0 for a in outcome.attempts if a.outcome == "no_value")
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


class ValuelessCall(ScriptedCall):
    """A provider that answers "success" without the field (or with an empty value)."""

    def __init__(self, value: Any) -> None:
        super().__init__({})
        self.value = value

    async def __call__(
        self, adapter: ProviderAdapter, operation: Operation, inputs: Mapping[str, Any]
    ) -> ProviderResult:
        self.calls.append(adapter.slug)
        fields = {} if self.value is _MISSING else {"email": self.value}
        return adapter.result(operation, Outcome.SUCCESS, fields=fields, raw={"from": adapter.slug})


_MISSING = object()


@pytest.mark.parametrize("value", [_MISSING, None, "", [], {}])
async def test_success_without_a_value_is_never_charged(value: Any) -> None:
    call = ValuelessCall(value)
    outcome = await run_waterfall(RECORD, ["email"], {"email": CHAIN}, ADAPTERS, call, sleep=no_sleep)
    assert call.calls == CHAIN  # fell through to the next provider, then gave up
    assert outcome.fields["email"].status == "not_found"
    assert outcome.cost == 0 and all(a.cost == 0 for a in outcome.attempts)
    assert [a.outcome for a in outcome.attempts] == ["no_value", "no_value"]
    # And the engine turns it into no debit at all.
    _, _, debits = to_rows([(PendingRecord(uuid.uuid4(), 0, RECORD), outcome)])
    assert debits == []


class ExplodingCall(ScriptedCall):
    """A provider call that raises something no adapter was written to expect."""

    async def __call__(
        self, adapter: ProviderAdapter, operation: Operation, inputs: Mapping[str, Any]
    ) -> ProviderResult:
        if adapter.slug == "apollo":
            self.calls.append(adapter.slug)
            raise ValueError("Invalid URL: too long")
        return await super().__call__(adapter, operation, inputs)


async def test_an_unexpected_error_is_that_fields_failure_with_a_reason() -> None:
    call = ExplodingCall({"hunter": [Outcome.NO_MATCH], "clearbit": [Outcome.SUCCESS]})
    waterfall = {"email": ["apollo", "hunter"], "company_name": ["clearbit"]}
    outcome = await run_waterfall(RECORD, list(waterfall), waterfall, ADAPTERS, call, sleep=no_sleep)
    # Asked once: an unexpected error is not retried in later rounds.
    assert call.calls == ["apollo", "hunter", "clearbit"]
    email = outcome.fields["email"]
    assert email.status == "failed" and email.cost == 0
    broken = [a for a in outcome.attempts if a.provider == "apollo"]
    assert len(broken) == 1 and broken[0].cost == 0
    assert broken[0].error is not None and "ValueError" in broken[0].error and "too long" in broken[0].error
    # The other field of the record is unaffected, and the record says why it failed.
    assert outcome.fields["company_name"].status == "found"
    assert outcome.status == "failed"
    assert outcome.error is not None and "email" in outcome.error


async def test_an_unexpected_error_falls_through_to_a_provider_that_knows() -> None:
    call = ExplodingCall({"hunter": [Outcome.SUCCESS]})
    outcome = await run_waterfall(RECORD, ["email"], {"email": CHAIN}, ADAPTERS, call, sleep=no_sleep)
    assert outcome.fields["email"].status == "found" and outcome.fields["email"].provider == "hunter"
    assert outcome.cost == outcome.fields["email"].cost > 0
