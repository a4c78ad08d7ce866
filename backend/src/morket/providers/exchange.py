"""What every HTTP provider adapter does, written once: send the request the adapter describes,
read the answer, and turn it into a `ProviderResult`.

A provider module says only what is its own (docs/providers.md, "What goes where"): the request
(URL, auth header, parameters: `ProviderRequest`), its rate-limit headers, what its statuses and
error codes mean (a table of `StatusRule`s, plus code for the few answers a table cannot say) and
its field mapping. Everything else (sending, reading the body, which results carry the
rate-limit feedback, Retry-After, the error text and code of a refusal) is here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from morket.providers.base import (
    Operation,
    Outcome,
    ProviderAdapter,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    header_int,
    parse_retry_after,
    read_body,
)


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """The one HTTP request of an operation, as the provider wants it."""

    method: str
    url: str
    headers: Mapping[str, str]
    params: Mapping[str, Any] | None = None
    json: Any = None
    timeout: float | None = None  # None: the client's (PROVIDER_TIMEOUT_SECONDS)

    async def send(self, http: httpx.AsyncClient) -> httpx.Response:
        return await http.request(
            self.method,
            self.url,
            params=self.params,
            json=self.json,
            headers=self.headers,
            timeout=httpx.USE_CLIENT_DEFAULT if self.timeout is None else self.timeout,
        )


@dataclass(frozen=True, slots=True)
class StatusRule:
    """One line of a provider's error table: an answer with one of `statuses`, or whose body names
    one of `codes`, means `outcome`. Rules are tried in order; the first that matches wins."""

    outcome: Outcome
    statuses: Collection[int] = ()
    codes: Collection[str] = ()
    message: str | None = None  # the error text when the body has none
    error_code: str | None = None  # a fixed error_code; else the body's code when `body_code`, else the outcome
    body_code: bool = False
    retry_after: float = 1.0  # RATE_LIMITED: the wait when the answer has no Retry-After

    def matches(self, status: int, code: str) -> bool:
        return status in self.statuses or (bool(code) and code in self.codes)


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer being mapped: the operation, the response, its body and its rate-limit headers.

    The rate-limit feedback travels with the answers about the data (success, no match, pending,
    an unreadable 200); refusals carry only what they set themselves (a 429's wait)."""

    adapter: ProviderAdapter
    operation: Operation
    response: httpx.Response
    raw: Any
    feedback: RateLimitFeedback | None = None

    @property
    def status(self) -> int:
        return self.response.status_code

    def retry_after(self) -> float | None:
        return parse_retry_after(self.response.headers.get("retry-after"))

    def throttle_wait(self, default: float = 1.0) -> float:
        """A throttled answer's wait: its Retry-After, else its window's reset, else `default`."""
        wait = (self.feedback.retry_after or self.feedback.reset_after) if self.feedback else None
        return wait if wait is not None else default

    def success(self, fields: dict[str, Any]) -> ProviderResult:
        return self._result(Outcome.SUCCESS, fields=fields, rate_limit=self.feedback)

    def no_match(self, error: str | None = None, error_code: str | None = None) -> ProviderResult:
        return self._result(Outcome.NO_MATCH, error=error, error_code=error_code, rate_limit=self.feedback)

    def pending(self, error: str, error_code: str, retry_after: float | None) -> ProviderResult:
        return self._result(
            Outcome.PENDING, error=error, error_code=error_code, retry_after=retry_after, rate_limit=self.feedback
        )

    def invalid_response(self, error: str) -> ProviderResult:
        """A 200 we cannot read: the provider's trouble, so it counts against the breaker."""
        return self._result(
            Outcome.TRANSIENT_ERROR, error=error, error_code="invalid_response", rate_limit=self.feedback
        )

    def failure(
        self,
        outcome: Outcome,
        error: str | None,
        error_code: str | None = None,
        *,
        retry_after: float | None = None,
        rate_limit: RateLimitFeedback | None = None,
    ) -> ProviderResult:
        return self._result(outcome, error=error, error_code=error_code, retry_after=retry_after, rate_limit=rate_limit)

    def rate_limited(
        self,
        error: str | None,
        retry_after: float,
        *,
        error_code: str | None = None,
        remaining: int | None = None,
        limit: int | None = None,
        period: float | None = None,
    ) -> ProviderResult:
        """Throttled: wait `retry_after`, and tell the limiter to hold the key that long."""
        feedback = RateLimitFeedback(retry_after=retry_after, remaining=remaining, limit=limit, period=period)
        return self.failure(Outcome.RATE_LIMITED, error, error_code, retry_after=retry_after, rate_limit=feedback)

    def by_rules(self, rules: Collection[StatusRule], code: str, message: str | None) -> ProviderResult | None:
        """The result of the first rule matching the status or the body's error `code`; None if none does."""
        rule = next((r for r in rules if r.matches(self.status, code)), None)
        if rule is None:
            return None
        error = message or rule.message
        error_code = rule.error_code or ((code or None) if rule.body_code else None)
        if rule.outcome is Outcome.NO_MATCH:
            return self.no_match(error, error_code)
        if rule.outcome is Outcome.RATE_LIMITED:
            return self.rate_limited(error, self.retry_after() or rule.retry_after, error_code=error_code)
        return self.failure(rule.outcome, error, error_code)

    def unexpected(self) -> ProviderResult:
        return self.adapter.unexpected(self.operation, self.response, self.raw)

    def _result(self, outcome: Outcome, **values: Any) -> ProviderResult:
        return self.adapter.result(self.operation, outcome, raw=self.raw, response=self.response, **values)


def header_feedback(
    headers: httpx.Headers, *, limit: str, remaining: str, reset_after: float | None = None, period: float = 60.0
) -> RateLimitFeedback | None:
    """What a provider's rate-limit headers (named per provider) and Retry-After say; None when nothing."""
    limit_value = header_int(headers, limit)
    remaining_value = header_int(headers, remaining)
    retry_after = parse_retry_after(headers.get("retry-after"))
    if limit_value is None and remaining_value is None and retry_after is None:
        return None
    return RateLimitFeedback(
        retry_after=retry_after, remaining=remaining_value, reset_after=reset_after, limit=limit_value, period=period
    )


class HttpProviderAdapter(ProviderAdapter):
    """An adapter whose operations are one HTTP request each: it describes the request (`request`)
    and says what the answer means (`read`); sending it and reading the body are done here."""

    async def _send(
        self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential, http: httpx.AsyncClient
    ) -> ProviderResult:
        response = await self.request(operation, inputs, credential).send(http)
        reply = Reply(self, operation, response, read_body(response), self.rate_limit_feedback(response))
        return self.read(reply, inputs)

    @abstractmethod
    def request(self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential) -> ProviderRequest:
        """The request for validated inputs."""

    @abstractmethod
    def read(self, reply: Reply, inputs: dict[str, Any]) -> ProviderResult:
        """The outcome of one answer (every status, including the ones `reply.unexpected` handles)."""

    def rate_limit_feedback(self, response: httpx.Response) -> RateLimitFeedback | None:
        """What the answer's headers say about the key's limits (providers that send such headers)."""
        return None
