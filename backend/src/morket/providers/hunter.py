"""Hunter.io: email finder, email verifier and domain search.

Quirks handled here (docs/PROVIDERS.md): the status codes do not mean what they usually do.
202 = verification in progress, repeat the call (billed once); 222 = the mail server could not
be reached, retry later; 403 = rate limit reached (not a bad key); 429 = the plan's monthly
quota is used up (not a rate limit); 451 = the person asked not to be processed. There are no
rate-limit headers, so pacing relies on the documented 15/s and 500/min.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from morket.providers.base import (
    Operation,
    Outcome,
    ProviderAdapter,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    RateLimitWindow,
    key,
    parse_retry_after,
    read_body,
)
from morket.providers.fields import (
    Domain,
    Email,
    EmailStatus,
    InputModel,
    OutputModel,
    Text,
    canonical_linkedin_url,
    compact,
)


class EmailFinderInput(InputModel):
    domain: Domain = None
    company_name: Text = None
    first_name: Text = None
    last_name: Text = None
    full_name: Text = None


class EmailVerifierInput(InputModel):
    email: Email = None


class DomainSearchInput(InputModel):
    domain: Domain = None
    company_name: Text = None


class EmailFinderFields(OutputModel):
    email: str | None = None
    email_status: EmailStatus | None = None
    email_score: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    linkedin_url: str | None = None
    company_domain: str | None = None


class EmailVerificationFields(OutputModel):
    email_status: EmailStatus | None = None
    email_score: int | None = None


class FoundEmail(OutputModel):
    email: str
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    confidence: int | None = None


class DomainSearchFields(OutputModel):
    company_name: str | None = None
    company_domain: str | None = None
    email_pattern: str | None = None
    emails: list[FoundEmail] | None = None


_PERSON = key("first_name") & key("last_name") | key("full_name")
_COMPANY = key("domain") | key("company_name")

EMAIL_FINDER = Operation(
    name="email_finder",
    description="The most likely email of a person at a company (GET /email-finder).",
    input_model=EmailFinderInput,
    output_model=EmailFinderFields,
    requires=_COMPANY & _PERSON,
    cost=1,
)
EMAIL_VERIFIER = Operation(
    name="email_verifier",
    description="Deliverability of an email address (GET /email-verifier).",
    input_model=EmailVerifierInput,
    output_model=EmailVerificationFields,
    requires=key("email"),
    cost=1,
)
DOMAIN_SEARCH = Operation(
    name="domain_search",
    description="Email addresses and the email pattern of a domain (GET /domain-search).",
    input_model=DomainSearchInput,
    output_model=DomainSearchFields,
    requires=_COMPANY,
    cost=1,
)

_PATHS = {
    EMAIL_FINDER.name: "/email-finder",
    EMAIL_VERIFIER.name: "/email-verifier",
    DOMAIN_SEARCH.name: "/domain-search",
}
_STATUS = {s.value: s for s in EmailStatus}
_NOT_FOUND_IDS = {"email_not_found", "not_found", "no_result", "domain_not_found"}
_AUTH_IDS = {"authentication_failed", "invalid_api_key", "no_user", "unauthorized"}
_QUOTA_IDS = {"too_many_requests_quota", "usage_limit", "quota_exceeded", "insufficient_credits"}


def _query(operation: Operation, inputs: dict[str, Any]) -> dict[str, Any]:
    query = {k: v for k, v in inputs.items() if k != "company_name"}
    if "company_name" in inputs and "domain" not in inputs:
        query["company"] = inputs["company_name"]
    if operation is DOMAIN_SEARCH:
        query["limit"] = 10
    return query


def _status(verification: Any) -> EmailStatus | None:
    if isinstance(verification, dict):
        return _STATUS.get(str(verification.get("status") or "").lower())
    return _STATUS.get(str(verification or "").lower())


def _first_error(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        errors = raw.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
    return {}


class HunterAdapter(ProviderAdapter):
    slug = "hunter"
    name = "Hunter"
    description = "Find and verify professional email addresses from a name and a company domain."
    website = "https://hunter.io"
    default_base_url = "https://api.hunter.io/v2"
    sandbox_path = "/hunter/v2"
    operations: ClassVar[tuple[Operation, ...]] = (EMAIL_FINDER, EMAIL_VERIFIER, DOMAIN_SEARCH)
    # Documented for domain-search and email-finder; the verifier is stricter (10/s, 300/min) and
    # shares the key, so the gateway paces the whole key at the finder's limits.
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]] = (RateLimitWindow(15, 1.0), RateLimitWindow(500, 60.0))
    rate_limit_notes = "15/s and 500/min (email verifier: 10/s, 300/min); no rate-limit headers; 403 means throttled."

    async def _send(
        self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential, http: httpx.AsyncClient
    ) -> ProviderResult:
        response = await http.get(
            self.base_url + _PATHS[operation.name],
            params=_query(operation, inputs),
            headers={"X-API-KEY": credential.api_key, "accept": "application/json"},
        )
        return self._map(operation, response)

    def _map(self, operation: Operation, response: httpx.Response) -> ProviderResult:
        raw = read_body(response)
        status = response.status_code
        error = _first_error(raw)
        error_id = str(error.get("id") or "")
        details = error.get("details") if isinstance(error.get("details"), str) else None
        if status == 200:
            data = raw.get("data") if isinstance(raw, dict) else None
            if not isinstance(data, dict):
                return self.result(
                    operation,
                    Outcome.TRANSIENT_ERROR,
                    raw=raw,
                    error="Hunter sent a 200 without data",
                    error_code="invalid_response",
                    response=response,
                )
            fields = self._fields(operation, data)
            if not fields:
                return self.result(operation, Outcome.NO_MATCH, raw=raw, response=response)
            return self.result(operation, Outcome.SUCCESS, fields=fields, raw=raw, response=response)
        if status == 202:
            return self.result(
                operation,
                Outcome.PENDING,
                raw=raw,
                error="Hunter is still verifying; repeat the call",
                error_code="verification_in_progress",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                response=response,
            )
        if status == 222:
            # The mail server did not answer Hunter; nothing is wrong with Hunter or our call.
            return self.result(
                operation,
                Outcome.PENDING,
                raw=raw,
                error=details or "the mail server could not be reached; retry later",
                error_code="smtp_unavailable",
                retry_after=parse_retry_after(response.headers.get("retry-after")) or 60.0,
                response=response,
            )
        if status == 404 or error_id in _NOT_FOUND_IDS:
            return self.result(operation, Outcome.NO_MATCH, raw=raw, error=details, response=response)
        if status == 401 or error_id in _AUTH_IDS:
            return self.result(
                operation,
                Outcome.AUTH_FAILED,
                raw=raw,
                error=details or "Hunter rejected the API key",
                error_code=error_id or None,
                response=response,
            )
        if status == 403:
            # Hunter's "rate limit reached". No Retry-After: back off for a second (the short window).
            retry_after = parse_retry_after(response.headers.get("retry-after")) or 1.0
            return self.result(
                operation,
                Outcome.RATE_LIMITED,
                raw=raw,
                error=details or "Hunter rate limit reached",
                error_code=error_id or "rate_limited",
                retry_after=retry_after,
                response=response,
                rate_limit=RateLimitFeedback(retry_after=retry_after),
            )
        if status == 429 or status == 402 or error_id in _QUOTA_IDS:
            return self.result(
                operation,
                Outcome.QUOTA_EXHAUSTED,
                raw=raw,
                error=details or "the Hunter plan's quota is used up",
                error_code=error_id or None,
                response=response,
            )
        if status == 451:
            return self.result(
                operation,
                Outcome.NO_MATCH,
                raw=raw,
                error=details or "this person asked not to be processed",
                error_code="personal_data_restricted",
                response=response,
            )
        if status in (400, 422):
            return self.result(
                operation,
                Outcome.INVALID_INPUT,
                raw=raw,
                error=details or "Hunter rejected the input",
                error_code=error_id or None,
                response=response,
            )
        return self.unexpected(operation, response, raw)

    @staticmethod
    def _fields(operation: Operation, data: dict[str, Any]) -> dict[str, Any]:
        if operation is EMAIL_FINDER:
            if not data.get("email"):
                return {}
            score = data.get("score")
            return compact(
                {
                    "email": data.get("email"),
                    "email_status": _status(data.get("verification")),
                    "email_score": score if isinstance(score, int) else None,
                    "first_name": data.get("first_name"),
                    "last_name": data.get("last_name"),
                    "job_title": data.get("position"),
                    "linkedin_url": canonical_linkedin_url(data.get("linkedin_url")),
                    "company_domain": data.get("domain"),
                }
            )
        if operation is EMAIL_VERIFIER:
            score = data.get("score")
            return compact(
                {
                    "email_status": _status(data.get("status") or data.get("result")),
                    "email_score": score if isinstance(score, int) else None,
                }
            )
        emails = [
            compact(
                {
                    "email": item.get("value"),
                    "first_name": item.get("first_name"),
                    "last_name": item.get("last_name"),
                    "job_title": item.get("position"),
                    "confidence": item.get("confidence") if isinstance(item.get("confidence"), int) else None,
                }
            )
            for item in data.get("emails") or []
            if isinstance(item, dict) and item.get("value")
        ]
        if not emails and not data.get("pattern"):
            return {}
        return compact(
            {
                "company_name": data.get("organization"),
                "company_domain": data.get("domain"),
                "email_pattern": data.get("pattern"),
                "emails": emails,
            }
        )
