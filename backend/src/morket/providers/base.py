"""The provider contract: outcomes, results, operations, input requirements and the adapter base.

An adapter turns one HTTP exchange into a `ProviderResult` whose `outcome` is one of ten
values. It never raises for a provider-side problem: timeouts, 5xx, unreadable bodies and
quirky status codes all become outcomes, so the gateway and the waterfall can decide what to
do (retry, fall through to the next provider, stop the job) from data alone.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from morket.providers.fields import InputModel, OutputModel


class Outcome(StrEnum):
    SUCCESS = "success"
    NO_MATCH = "no_match"
    INVALID_INPUT = "invalid_input"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    PENDING = "pending"
    TRANSIENT_ERROR = "transient_error"
    CREDENTIAL_MISSING = "credential_missing"
    # The provider answered, but not in the shape the request asked for (an AI column's output
    # schema): not billed, not cached, not the provider's ill health; the field fails with why.
    INVALID_ANSWER = "invalid_answer"

    @property
    def billable(self) -> bool:
        return self is Outcome.SUCCESS

    @property
    def retryable(self) -> bool:
        """Worth calling the same provider again later with the same input."""
        return self in (Outcome.RATE_LIMITED, Outcome.PENDING, Outcome.TRANSIENT_ERROR)

    @property
    def cacheable(self) -> bool:
        """Answers about the data itself. Everything else is about our key or their uptime."""
        return self in (Outcome.SUCCESS, Outcome.NO_MATCH)


@dataclass(frozen=True)
class ProviderCredential:
    """The secret an adapter authenticates with (from the vault, or the sandbox key locally)."""

    api_key: str = field(repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    credential_id: str | None = None

    @cached_property
    def fingerprint(self) -> str:
        """Stable, non-reversible id of the key: rate limits are per key, logs must not hold it.
        Computed once per credential (a chunk resolves its keys once, then calls thousands of times)."""
        return hashlib.sha256(self.api_key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RateLimitWindow:
    limit: int
    period: float  # seconds

    def describe(self) -> str:
        units = {1.0: "second", 60.0: "minute", 3600.0: "hour", 86400.0: "day"}
        unit = units.get(self.period)
        return f"{self.limit}/{unit}" if unit else f"{self.limit} per {self.period:g}s"


@dataclass(frozen=True)
class RateLimitFeedback:
    """What one response told us about the key's limits (headers, 429 bodies)."""

    retry_after: float | None = None  # wait this long before the next call (429, Retry-After)
    remaining: int | None = None  # calls left in the window below
    reset_after: float | None = None  # seconds until that window resets
    limit: int | None = None  # the key's actual limit for `period`, when the provider says so
    period: float | None = None


class ProviderResult(BaseModel):
    """The normalized answer of one provider call. Only `success` costs credits."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    provider: str
    operation: str
    fields: dict[str, Any] = Field(default_factory=dict, description="Canonical fields (success only)")
    raw: Any = Field(default=None, description="The provider's response body, for audit and re-mapping")
    cost: int = Field(default=0, ge=0, description="Credits to charge; non-zero only for success")
    cached: bool = False
    retry_after: float | None = Field(default=None, description="Seconds to wait before retrying, when known")
    error: str | None = None
    error_code: str | None = Field(default=None, description="Stable machine code, e.g. circuit_open, timeout")
    http_status: int | None = None
    rate_limit: RateLimitFeedback | None = Field(default=None, exclude=True)

    @property
    def billable(self) -> bool:
        return self.outcome.billable


class Requirement:
    """Which input keys an operation needs, as alternatives: any one key set suffices.

    Built with `&` (all of) and `|` (any of) from `key(...)`; `&` binds tighter than `|`:
    `key("first_name") & key("last_name") | key("name")`.
    """

    __slots__ = ("alternatives",)

    def __init__(self, alternatives: Iterable[frozenset[str]]) -> None:
        unique: list[frozenset[str]] = []
        for alt in alternatives:
            if alt not in unique:
                unique.append(alt)
        self.alternatives: tuple[frozenset[str], ...] = tuple(unique)

    def __and__(self, other: Requirement) -> Requirement:
        return Requirement(a | b for a in self.alternatives for b in other.alternatives)

    def __or__(self, other: Requirement) -> Requirement:
        return Requirement((*self.alternatives, *other.alternatives))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Requirement) and set(self.alternatives) == set(other.alternatives)

    def __hash__(self) -> int:
        return hash(frozenset(self.alternatives))

    def __repr__(self) -> str:
        return f"Requirement({self.describe()})"

    @property
    def keys(self) -> frozenset[str]:
        return frozenset().union(*self.alternatives)

    def satisfied_by(self, inputs: Mapping[str, Any]) -> bool:
        present = present_keys(inputs)
        return any(alt <= present for alt in self.alternatives)

    def as_lists(self) -> list[list[str]]:
        return [sorted(alt) for alt in self.alternatives]

    def describe(self) -> str:
        return " or ".join("+".join(sorted(alt)) for alt in self.alternatives)


def key(name: str) -> Requirement:
    return Requirement([frozenset({name})])


def present_keys(inputs: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(k for k, v in inputs.items() if v is not None and not (isinstance(v, str) and not v.strip()))


@dataclass(frozen=True)
class Operation:
    """One billable call of a provider, e.g. Apollo people/match."""

    name: str
    description: str
    input_model: type[InputModel]
    output_model: type[OutputModel]
    requires: Requirement
    cost: int

    @property
    def supplies(self) -> frozenset[str]:
        return frozenset(self.output_model.model_fields)


class InvalidInput(ValueError):
    """Inputs that no call can succeed with; the message lists what is wrong."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


def request_fingerprint(provider: str, operation: str, canonical_inputs: Mapping[str, Any]) -> str:
    """The cache key of a request: same provider, operation and normalized input, same hash."""
    body = json.dumps(
        {"v": 1, "p": provider, "o": operation, "i": canonical_inputs}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


class ProviderAdapter(ABC):
    """A provider: what it can do (metadata for the registry) and how to call it (`call`).

    Subclasses set the class attributes and implement `_send` for each operation; a provider
    whose operations are one HTTP request each subclasses `exchange.HttpProviderAdapter`, which
    implements `_send` once. Adding a provider is one module with one subclass plus its entry in
    `registry.REGISTRY`.
    """

    slug: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    website: ClassVar[str]
    default_base_url: ClassVar[str]
    # Path of this provider on the sandbox emulator, appended to PROVIDER_SANDBOX_URL.
    sandbox_path: ClassVar[str]
    operations: ClassVar[tuple[Operation, ...]]
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]]
    rate_limit_notes: ClassVar[str] = ""
    # A Settings attribute holding this provider's URL instead of <slug>_base_url; such a
    # provider is never sent to the sandbox (our own services, e.g. the scraper).
    url_setting: ClassVar[str | None] = None
    # Authenticates with the API's SERVICE_API_KEY instead of a workspace's vault key.
    service_credential: ClassVar[bool] = False

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    # -- metadata ---------------------------------------------------------------------------

    @property
    def cost(self) -> int:
        """Credits of the provider's cheapest enrichment (the per-operation costs are exact)."""
        return min(op.cost for op in self.operations)

    @property
    def supplies(self) -> frozenset[str]:
        return frozenset().union(*(op.supplies for op in self.operations))

    def operation(self, name: str) -> Operation | None:
        return next((op for op in self.operations if op.name == name), None)

    def operations_for(self, field_name: str) -> tuple[Operation, ...]:
        """Operations that can supply `field_name`, in order of preference."""
        return tuple(op for op in self.operations if field_name in op.supplies)

    def requirement_for(self, field_name: str) -> Requirement | None:
        ops = self.operations_for(field_name)
        if not ops:
            return None
        requirement = ops[0].requires
        for op in ops[1:]:
            requirement = requirement | op.requires
        return requirement

    def resolve(self, target: str, inputs: Mapping[str, Any]) -> Operation:
        """The operation to run for a field or operation name, given the inputs at hand.

        Raises KeyError when the provider neither has such an operation nor supplies such a
        field (a programming error), and InvalidInput when the inputs satisfy no operation.
        """
        operation = self.operation(target)
        if operation is not None:
            return operation
        candidates = self.operations_for(target)
        if not candidates:
            raise KeyError(f"{self.slug} has no operation or field '{target}'")
        for candidate in candidates:
            if candidate.requires.satisfied_by(inputs):
                return candidate
        requirement = self.requirement_for(target)
        assert requirement is not None
        raise InvalidInput(
            f"{self.name} needs {requirement.describe()} to find {target}",
            {"required_inputs": requirement.as_lists()},
        )

    # -- calling ----------------------------------------------------------------------------

    def validate(self, operation: Operation, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Normalized inputs (the cache key's source), or InvalidInput."""
        try:
            model = operation.input_model.model_validate(dict(inputs))
        except ValidationError as exc:
            problems = [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]
            raise InvalidInput(f"invalid input for {self.slug}.{operation.name}", problems) from None
        canonical = model.model_dump(mode="json", exclude_none=True)
        if not operation.requires.satisfied_by(canonical):
            raise InvalidInput(
                f"{self.name} {operation.name} needs {operation.requires.describe()}",
                {"required_inputs": operation.requires.as_lists()},
            )
        return canonical

    async def call(
        self,
        operation: str | Operation,
        inputs: Mapping[str, Any],
        credential: ProviderCredential,
        http: httpx.AsyncClient,
    ) -> ProviderResult:
        """One call: validate the inputs, send the request, map the response to an outcome."""
        op = self.operation(operation) if isinstance(operation, str) else operation
        if op is None:
            raise KeyError(f"{self.slug} has no operation '{operation}'")
        try:
            canonical = self.validate(op, inputs)
        except InvalidInput as exc:
            return self.result(op, Outcome.INVALID_INPUT, error=str(exc), error_code="invalid_input")
        return await self.send(op, canonical, credential, http)

    async def send(
        self, operation: Operation, canonical: dict[str, Any], credential: ProviderCredential, http: httpx.AsyncClient
    ) -> ProviderResult:
        """The HTTP part of `call`, for inputs `validate` already returned (the gateway validates once)."""
        try:
            return await self._send(operation, canonical, credential, http)
        except httpx.TimeoutException:
            return self.result(
                operation, Outcome.TRANSIENT_ERROR, error="the provider did not answer in time", error_code="timeout"
            )
        except httpx.TransportError as exc:
            return self.result(
                operation,
                Outcome.TRANSIENT_ERROR,
                error=f"network error: {type(exc).__name__}",
                error_code="network_error",
            )

    @abstractmethod
    async def _send(
        self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential, http: httpx.AsyncClient
    ) -> ProviderResult:
        """Send one request with validated inputs and map the response."""

    # -- result helpers ---------------------------------------------------------------------

    def result(
        self,
        operation: Operation,
        outcome: Outcome,
        *,
        fields: dict[str, Any] | None = None,
        raw: Any = None,
        error: str | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
        response: httpx.Response | None = None,
        rate_limit: RateLimitFeedback | None = None,
        http_status: int | None = None,
    ) -> ProviderResult:
        return ProviderResult(
            outcome=outcome,
            provider=self.slug,
            operation=operation.name,
            fields=(fields or {}) if outcome is Outcome.SUCCESS else {},
            raw=raw,
            cost=operation.cost if outcome is Outcome.SUCCESS else 0,
            retry_after=retry_after,
            error=error,
            error_code=error_code or (None if outcome is Outcome.SUCCESS else outcome.value),
            http_status=response.status_code if response is not None else http_status,
            rate_limit=rate_limit,
        )

    def unexpected(self, operation: Operation, response: httpx.Response, raw: Any) -> ProviderResult:
        """A status we do not know: 5xx and 408 are the provider's trouble, the rest a bug to look at."""
        status = response.status_code
        if status >= 500 or status == 408:
            return self.result(
                operation,
                Outcome.TRANSIENT_ERROR,
                raw=raw,
                error=f"{self.name} answered {status}",
                error_code="provider_error",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                response=response,
            )
        return self.result(
            operation,
            Outcome.TRANSIENT_ERROR,
            raw=raw,
            error=f"{self.name} answered with unexpected status {status}",
            error_code="unexpected_status",
            response=response,
        )


def read_body(response: httpx.Response) -> Any:
    """The JSON body, or the text when the provider sent something else (Apollo's 401 is text)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (HTTP dates are not used by these providers and are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


def header_int(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
