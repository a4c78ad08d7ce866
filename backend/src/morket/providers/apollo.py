"""Apollo.io: people/match (person + employer) and organizations/enrich.

Quirks handled here (docs/PROVIDERS.md): a 200 with `"person": null` is no match; the 401 body
is text/plain; 403 `API_INACCESSIBLE` means the plan lacks API access; the 429 body names the
window that ran out ("... 600 times per hour"); fixed-window limits come in x-*-requests-left
headers on every response.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import httpx

from morket.providers.base import (
    Operation,
    Outcome,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    RateLimitWindow,
    key,
)
from morket.providers.exchange import HttpProviderAdapter, ProviderRequest, Reply, header_feedback
from morket.providers.fields import (
    CompanyFields,
    Domain,
    Email,
    EmailStatus,
    InputModel,
    LinkedInUrl,
    PersonFields,
    Text,
    as_dict,
    as_int,
    canonical_domain,
    canonical_linkedin_url,
    compact,
    first_dict,
    join_location,
)


class PeopleMatchInput(InputModel):
    first_name: Text = None
    last_name: Text = None
    name: Text = None
    email: Email = None
    linkedin_url: LinkedInUrl = None
    organization_name: Text = None
    domain: Domain = None


class OrganizationEnrichInput(InputModel):
    domain: Domain = None


_PERSON = key("first_name") & key("last_name") | key("name")
_EMPLOYER = key("domain") | key("organization_name")

PEOPLE_MATCH = Operation(
    name="people_match",
    description="Match one person (POST /people/match) and return their contact and employer details.",
    input_model=PeopleMatchInput,
    output_model=PersonFields,
    requires=_PERSON & _EMPLOYER | key("linkedin_url") | key("email"),
    cost=1,
)
ORGANIZATION_ENRICH = Operation(
    name="organization_enrich",
    description="Company firmographics by domain (GET /organizations/enrich).",
    input_model=OrganizationEnrichInput,
    output_model=CompanyFields,
    requires=key("domain"),
    cost=1,
)

_EMAIL_STATUS = {
    "verified": EmailStatus.VALID,
    "valid": EmailStatus.VALID,
    "invalid": EmailStatus.INVALID,
    "bounced": EmailStatus.INVALID,
    "accept_all": EmailStatus.ACCEPT_ALL,
    "catch_all": EmailStatus.ACCEPT_ALL,
    "unverified": EmailStatus.UNKNOWN,
    "guessed": EmailStatus.UNKNOWN,
    "likely to engage": EmailStatus.UNKNOWN,
    "extrapolated": EmailStatus.UNKNOWN,
}
# Apollo masks emails it will not reveal on the plan (e.g. "email_not_unlocked@domain.com").
_LOCKED_EMAIL = re.compile(r"^(email_not_unlocked|not_unlocked)@", re.IGNORECASE)
_WINDOW_IN_MESSAGE = re.compile(r"per (second|minute|hour|day)", re.IGNORECASE)
_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


def _person_fields(person: dict[str, Any]) -> dict[str, Any]:
    organization = as_dict(person.get("organization"))
    email = person.get("email")
    if isinstance(email, str) and _LOCKED_EMAIL.match(email):
        email = None
    status = _EMAIL_STATUS.get(str(person.get("email_status") or "").lower()) if email else None
    phone = first_dict(person.get("phone_numbers"))
    company_domain = organization.get("primary_domain") or canonical_domain(organization.get("website_url"))
    return compact(
        {
            "email": email,
            "email_status": status,
            "phone": phone.get("sanitized_number") or phone.get("raw_number"),
            "first_name": person.get("first_name"),
            "last_name": person.get("last_name"),
            "full_name": person.get("name"),
            "job_title": person.get("title"),
            "seniority": person.get("seniority"),
            "linkedin_url": canonical_linkedin_url(person.get("linkedin_url")),
            "location": join_location(person.get("city"), person.get("state"), person.get("country")),
            "company_name": organization.get("name") or _current_employer(person),
            "company_domain": company_domain,
        }
    )


def _current_employer(person: dict[str, Any]) -> str | None:
    for job in person.get("employment_history") or []:
        if isinstance(job, dict) and job.get("current"):
            name = job.get("organization_name")
            return name if isinstance(name, str) else None
    return None


def _company_fields(org: dict[str, Any]) -> dict[str, Any]:
    return compact(
        {
            "company_name": org.get("name"),
            "company_domain": org.get("primary_domain") or canonical_domain(org.get("website_url")),
            "company_linkedin_url": canonical_linkedin_url(org.get("linkedin_url")),
            "industry": org.get("industry"),
            "employee_count": as_int(org.get("estimated_num_employees")),
            "company_description": org.get("short_description"),
            "founded_year": as_int(org.get("founded_year")),
            "location": join_location(org.get("city"), org.get("state"), org.get("country")),
        }
    )


class ApolloAdapter(HttpProviderAdapter):
    slug = "apollo"
    name = "Apollo"
    description = "People and company data: email, title, LinkedIn and employer from a name and company."
    website = "https://www.apollo.io"
    default_base_url = "https://api.apollo.io/api/v1"
    sandbox_path = "/apollo/api/v1"
    operations: ClassVar[tuple[Operation, ...]] = (PEOPLE_MATCH, ORGANIZATION_ENRICH)
    # Paid plans: 1,000/min on enrichment endpoints; the per-key limit learned from headers wins.
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]] = (RateLimitWindow(1000, 60.0),)
    rate_limit_notes = (
        "Fixed windows per minute, hour and day; the plan's actual limits arrive in x-rate-limit-* headers "
        "(free plans: 50/min)."
    )

    def request(self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential) -> ProviderRequest:
        headers = {"x-api-key": credential.api_key, "accept": "application/json", "cache-control": "no-cache"}
        if operation is PEOPLE_MATCH:
            body = {**inputs, "reveal_personal_emails": False, "reveal_phone_number": False}
            return ProviderRequest("POST", f"{self.base_url}/people/match", headers, json=body)
        return ProviderRequest("GET", f"{self.base_url}/organizations/enrich", headers, params=inputs)

    def rate_limit_feedback(self, response: httpx.Response) -> RateLimitFeedback | None:
        """Apollo's per-minute window paces us; hour and day exhaustion show up as a 429 naming the window."""
        return header_feedback(response.headers, limit="x-rate-limit-minute", remaining="x-minute-requests-left")

    def read(self, reply: Reply, inputs: dict[str, Any]) -> ProviderResult:
        status, raw, feedback = reply.status, reply.raw, reply.feedback
        if status == 200:
            if not isinstance(raw, dict):
                return reply.invalid_response("Apollo sent a 200 without a JSON object")
            people = reply.operation is PEOPLE_MATCH
            record = raw.get("person" if people else "organization")
            # A 200 is not a match: an empty person/organization is Apollo's "not found".
            if not isinstance(record, dict) or not record:
                return reply.no_match()
            return reply.success(_person_fields(record) if people else _company_fields(record))
        message = _message(raw)
        if status == 401:
            return reply.failure(Outcome.AUTH_FAILED, message or "Apollo rejected the API key")
        if status == 403:
            code = raw.get("error_code") if isinstance(raw, dict) else None
            error_code = "api_inaccessible" if code == "API_INACCESSIBLE" else "forbidden"
            return reply.failure(
                Outcome.AUTH_FAILED, message or "the Apollo plan of this key has no API access", error_code
            )
        if status == 429:
            # The message names the window that ran out: a day is a used-up quota, not a pause.
            match = _WINDOW_IN_MESSAGE.search(message or "")
            period = _PERIODS[match.group(1).lower()] if match else 60.0
            retry_after = feedback.retry_after if feedback else None
            if period >= 86400.0:
                error = message or "the Apollo daily limit of this key is used up"
                return reply.failure(Outcome.QUOTA_EXHAUSTED, error, "daily_limit", retry_after=retry_after)
            return reply.rate_limited(
                message or "Apollo rate limit reached",
                retry_after if retry_after is not None else min(period, 60.0),
                remaining=feedback.remaining if feedback else None,
                limit=feedback.limit if feedback else None,
                period=60.0,
            )
        if status == 402 or "credit" in (message or "").lower():
            return reply.failure(Outcome.QUOTA_EXHAUSTED, message or "the Apollo account is out of credits")
        if status in (400, 422):
            return reply.failure(Outcome.INVALID_INPUT, message or "Apollo rejected the input")
        return reply.unexpected()


def _message(raw: Any) -> str | None:
    if isinstance(raw, str):
        return raw.strip() or None
    if isinstance(raw, dict):
        for name in ("error_message", "message", "error"):
            value = raw.get(name)
            if isinstance(value, str) and value:
                return value
    return None
