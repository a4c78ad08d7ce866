"""Hunter.io: email finder, email verifier and domain search.

Quirks handled here (docs/PROVIDERS.md): the status codes do not mean what they usually do.
202 = verification in progress, repeat the call (billed once); 222 = the mail server could not
be reached, retry later; 403 = rate limit reached (not a bad key); 429 = the plan's monthly
quota is used up (not a rate limit); 451 = the person asked not to be processed. There are no
rate-limit headers, so pacing relies on the documented 15/s and 500/min.
"""

from __future__ import annotations

from typing import Any, ClassVar

from morket.providers.base import Operation, Outcome, ProviderCredential, ProviderResult, RateLimitWindow, key
from morket.providers.exchange import HttpProviderAdapter, ProviderRequest, Reply, StatusRule
from morket.providers.fields import (
    Domain,
    Email,
    EmailStatus,
    InputModel,
    OutputModel,
    Text,
    as_dict,
    as_int,
    canonical_linkedin_url,
    compact,
    first_dict,
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
# Hunter's statuses do not mean what they usually do (the module doc); error ids are errors[0].id.
_ERRORS = (
    StatusRule(Outcome.NO_MATCH, (404,), {"email_not_found", "not_found", "no_result", "domain_not_found"}),
    StatusRule(
        Outcome.AUTH_FAILED,
        (401,),
        {"authentication_failed", "invalid_api_key", "no_user", "unauthorized"},
        "Hunter rejected the API key",
        body_code=True,
    ),
    # "Rate limit reached", without a Retry-After: back off for a second (the short window).
    StatusRule(Outcome.RATE_LIMITED, (403,), message="Hunter rate limit reached", body_code=True, retry_after=1.0),
    StatusRule(
        Outcome.QUOTA_EXHAUSTED,
        (429, 402),
        {"too_many_requests_quota", "usage_limit", "quota_exceeded", "insufficient_credits"},
        "the Hunter plan's quota is used up",
        body_code=True,
    ),
    StatusRule(
        Outcome.NO_MATCH,
        (451,),
        message="this person asked not to be processed",
        error_code="personal_data_restricted",
    ),
    StatusRule(Outcome.INVALID_INPUT, (400, 422), message="Hunter rejected the input", body_code=True),
)


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


class HunterAdapter(HttpProviderAdapter):
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

    def request(self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential) -> ProviderRequest:
        return ProviderRequest(
            "GET",
            self.base_url + _PATHS[operation.name],
            {"X-API-KEY": credential.api_key, "accept": "application/json"},
            params=_query(operation, inputs),
        )

    def read(self, reply: Reply, inputs: dict[str, Any]) -> ProviderResult:
        status = reply.status
        if status == 200:
            data = reply.raw.get("data") if isinstance(reply.raw, dict) else None
            if not isinstance(data, dict):
                return reply.invalid_response("Hunter sent a 200 without data")
            fields = self._fields(reply.operation, data)
            return reply.success(fields) if fields else reply.no_match()
        error = first_dict(as_dict(reply.raw).get("errors"))
        details = error.get("details") if isinstance(error.get("details"), str) else None
        if status == 202:
            return reply.pending(
                "Hunter is still verifying; repeat the call", "verification_in_progress", reply.retry_after()
            )
        if status == 222:
            # The mail server did not answer Hunter; nothing is wrong with Hunter or our call.
            error_text = details or "the mail server could not be reached; retry later"
            return reply.pending(error_text, "smtp_unavailable", reply.retry_after() or 60.0)
        return reply.by_rules(_ERRORS, str(error.get("id") or ""), details) or reply.unexpected()

    @staticmethod
    def _fields(operation: Operation, data: dict[str, Any]) -> dict[str, Any]:
        if operation is EMAIL_FINDER:
            if not data.get("email"):
                return {}
            return compact(
                {
                    "email": data.get("email"),
                    "email_status": _status(data.get("verification")),
                    "email_score": as_int(data.get("score")),
                    "first_name": data.get("first_name"),
                    "last_name": data.get("last_name"),
                    "job_title": data.get("position"),
                    "linkedin_url": canonical_linkedin_url(data.get("linkedin_url")),
                    "company_domain": data.get("domain"),
                }
            )
        if operation is EMAIL_VERIFIER:
            return compact(
                {
                    "email_status": _status(data.get("status") or data.get("result")),
                    "email_score": as_int(data.get("score")),
                }
            )
        emails = [
            compact(
                {
                    "email": item.get("value"),
                    "first_name": item.get("first_name"),
                    "last_name": item.get("last_name"),
                    "job_title": item.get("position"),
                    "confidence": as_int(item.get("confidence")),
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
