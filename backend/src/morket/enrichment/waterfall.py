"""The waterfall of one record: for each field, ask its providers in order, stop at the first value.

Pure orchestration over a `ProviderCall` (the gateway in production, anything in tests), so the
rules can be tested on their own:
- a success that carries the field stops the field's waterfall and costs that operation's price;
- a no-match, a success without the field, an input the provider cannot use, a refused key or an
  error (after the gateway's own protection) falls through to the next provider and costs nothing;
- a rate limit (or a provider's "still working, ask again") is waited out and retried a few times
  on the same provider before falling through;
- when no provider could answer (errors, open breakers), the field's waterfall is run again after
  a pause, up to FIELD_ROUNDS times, skipping providers that already answered;
- one provider call can answer several fields of the record (Clearbit's company lookup gives
  `company_name` and `industry`): it is made once and its answer reused;
- an exception nobody expected (an adapter bug, an input httpx refuses, ...) is recorded as an
  `unexpected_error` attempt with its reason, costs nothing, is not retried, and falls through to
  the next provider; if no provider finds a value, the field is `failed`. It never escapes the
  record, so one poisoned record cannot fail the records around it;
- an answer that does not fit the shape the request asked for (`invalid_answer`, an AI column's
  output schema) costs nothing, is not asked again, and fails the field with its reason unless a
  later provider finds the value.
A field is `found`, `not_found` (every provider answered and none knew) or `failed` (at least one
provider could not answer). A record with a failed field is `failed`, otherwise `completed`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from morket.enrichment.result import Attempt, FieldOutcome, FieldStatus
from morket.providers.base import InvalidInput, Operation, Outcome, ProviderAdapter, ProviderResult

MAX_WAIT_RETRIES = 3
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 5.0
# A field whose providers all failed (errors, open breakers) is tried again this many times in all.
FIELD_ROUNDS = 3
ROUND_BACKOFF = 1.0

# Outcomes after which asking the same provider again cannot help and no value was learned.
_DEFINITIVE = {Outcome.NO_MATCH, Outcome.SUCCESS, Outcome.INVALID_INPUT}
UNEXPECTED_ERROR = "unexpected_error"
MAX_REASON = 500


def unexpected(exc: BaseException) -> str:
    """A bounded reason for an exception nobody handled (its message may echo a huge input)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


class ProviderCall(Protocol):
    async def __call__(
        self, adapter: ProviderAdapter, operation: Operation, inputs: Mapping[str, Any]
    ) -> ProviderResult:
        """One protected provider call (cache, breaker, rate limiter, adapter)."""


@dataclass
class RecordOutcome:
    fields: dict[str, FieldOutcome] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    reason: str | None = None  # why the record failed as a whole, when it did

    @property
    def status(self) -> str:
        return "failed" if any(f.status is FieldStatus.FAILED for f in self.fields.values()) else "completed"

    @property
    def cost(self) -> int:
        return sum(f.cost for f in self.fields.values())

    @property
    def output(self) -> dict[str, Any]:
        return {name: f.value for name, f in self.fields.items() if f.found}

    @property
    def error(self) -> str | None:
        if self.reason is not None:
            return self.reason
        failed = [name for name, f in self.fields.items() if f.status is FieldStatus.FAILED]
        if not failed:
            return None
        invalid = [a for a in self.attempts if a.field in failed and a.outcome == Outcome.INVALID_ANSWER.value]
        if invalid:  # the reason the answer was refused says more than "no provider could answer"
            return f"{invalid[-1].provider}: {invalid[-1].error or 'the answer does not fit the requested shape'}"
        return f"no provider could answer for: {', '.join(failed)}"


@dataclass
class _Call:
    result: ProviderResult
    duration_ms: int
    used: bool = False


def _has_value(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


async def run_waterfall(
    inputs: Mapping[str, Any],
    fields: Sequence[str],
    waterfall: Mapping[str, Sequence[str]],
    adapters: Mapping[str, ProviderAdapter],
    call: ProviderCall,
    *,
    rounds: int = FIELD_ROUNDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RecordOutcome:
    outcome = RecordOutcome()
    calls: dict[tuple[str, str], _Call] = {}
    for name in fields:
        answered: set[str] = set()  # providers that gave a definitive answer for this field
        broken = False  # a provider raised an unexpected error for this field
        result_for_field: FieldOutcome | None = None
        for round_no in range(rounds):
            errored = False
            wait = 0.0
            for slug in waterfall[name]:
                if slug in answered:
                    continue
                adapter = adapters[slug]
                try:
                    operation = adapter.resolve(name, inputs)
                except InvalidInput as exc:
                    outcome.attempts.append(
                        Attempt(name, slug, Outcome.INVALID_INPUT.value, 0, False, None, str(exc), 0)
                    )
                    answered.add(slug)
                    continue
                except Exception as exc:  # noqa: BLE001 - any error stays in its field (see the module doc)
                    outcome.attempts.append(Attempt(name, slug, UNEXPECTED_ERROR, 0, False, None, unexpected(exc), 0))
                    answered.add(slug)
                    broken = True
                    continue
                key = (slug, operation.name)
                made = calls.get(key)
                reused = made is not None
                if made is None:
                    started = time.monotonic()
                    try:
                        made = await _call_with_waits(call, adapter, operation, inputs, sleep)
                    except Exception as exc:  # noqa: BLE001 - any error stays in its field (see the module doc)
                        # Not retried: the same input would raise the same way (and a retry could pay twice).
                        duration = int((time.monotonic() - started) * 1000)
                        outcome.attempts.append(
                            Attempt(name, slug, UNEXPECTED_ERROR, 0, False, None, unexpected(exc), duration)
                        )
                        answered.add(slug)
                        broken = True
                        continue
                    calls[key] = made
                result = made.result
                value = result.fields.get(name) if result.outcome is Outcome.SUCCESS else None
                found = _has_value(value)
                cost = result.cost if found else 0
                outcome.attempts.append(
                    Attempt(
                        field=name,
                        provider=slug,
                        outcome=result.outcome.value
                        if (found or result.outcome is not Outcome.SUCCESS)
                        else "no_value",
                        cost=cost,
                        # Only a real cache hit (free) is "cached"; an answer reused within the
                        # record was paid for by this job and is charged per cell.
                        cached=result.cached,
                        raw=result.raw,
                        error=result.error,
                        duration_ms=0 if reused else made.duration_ms,
                    )
                )
                if found:
                    result_for_field = FieldOutcome(FieldStatus.FOUND, value, slug, cost, result.cached)
                    break
                if result.outcome in _DEFINITIVE:
                    answered.add(slug)
                elif result.outcome is Outcome.INVALID_ANSWER:
                    # An answer that breaks the requested shape: asking again would get the same
                    # answer; the field fails with the reason unless a later provider finds it.
                    answered.add(slug)
                    broken = True
                else:
                    errored = True
                    wait = max(wait, result.retry_after or 0.0)
                    # Another field may ask this provider again in a later round: do not reuse the error.
                    calls.pop(key, None)
            if result_for_field is not None or not errored:
                if result_for_field is None and broken:
                    result_for_field = FieldOutcome(FieldStatus.FAILED)
                break
            if round_no < rounds - 1:
                # Every provider that could still know was unavailable: give them (and their breakers) a moment.
                await sleep(min(max(wait, ROUND_BACKOFF * (round_no + 1)), MAX_RETRY_AFTER))
            else:
                result_for_field = FieldOutcome(FieldStatus.FAILED)
        outcome.fields[name] = result_for_field or FieldOutcome(FieldStatus.NOT_FOUND)
    return outcome


async def _call_with_waits(
    call: ProviderCall,
    adapter: ProviderAdapter,
    operation: Operation,
    inputs: Mapping[str, Any],
    sleep: Callable[[float], Awaitable[None]],
) -> _Call:
    started = time.monotonic()
    result = await call(adapter, operation, inputs)
    for _ in range(MAX_WAIT_RETRIES):
        if result.outcome not in (Outcome.RATE_LIMITED, Outcome.PENDING):
            break
        wait = result.retry_after if result.retry_after is not None else DEFAULT_RETRY_AFTER
        await sleep(min(max(wait, 0.0), MAX_RETRY_AFTER))
        result = await call(adapter, operation, inputs)
    return _Call(result, int((time.monotonic() - started) * 1000))
