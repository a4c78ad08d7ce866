"""Clearbit: person, company, combined and name-to-domain lookups.

Quirks handled here (docs/PROVIDERS.md): one host per product (the base URL is a template with
`{product}`, e.g. `https://{product}.clearbit.com`; the sandbox serves every product on one
path, so its base URL has no placeholder); 202 with an empty body means "queued, ask again";
404 is "not found" and is not billed; errors are `{"error": {"type", "message"}}`.
"""

from __future__ import annotations

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
    parse_retry_after,
)
from morket.providers.exchange import HttpProviderAdapter, ProviderRequest, Reply, StatusRule, header_feedback
from morket.providers.fields import (
    CompanyFields,
    Domain,
    Email,
    InputModel,
    OutputModel,
    PersonProfileFields,
    Text,
    as_dict,
    as_int,
    canonical_linkedin_url,
    compact,
    join_location,
)


class PersonFindInput(InputModel):
    email: Email = None


class CompanyFindInput(InputModel):
    domain: Domain = None


class DomainFindInput(InputModel):
    company_name: Text = None


class PersonCompanyFields(PersonProfileFields):
    """Combined lookup: the person plus their employer's firmographics."""

    industry: str | None = None
    employee_count: int | None = None
    company_description: str | None = None
    founded_year: int | None = None


class DomainFields(OutputModel):
    company_name: str | None = None
    company_domain: str | None = None


PERSON_FIND = Operation(
    name="person_find",
    description="A person by email (GET person.clearbit.com/v2/people/find).",
    input_model=PersonFindInput,
    output_model=PersonProfileFields,
    requires=key("email"),
    cost=1,
)
COMPANY_FIND = Operation(
    name="company_find",
    description="A company by domain (GET company.clearbit.com/v2/companies/find).",
    input_model=CompanyFindInput,
    output_model=CompanyFields,
    requires=key("domain"),
    cost=1,
)
COMBINED_FIND = Operation(
    name="combined_find",
    description="A person and their company by email (GET person.clearbit.com/v2/combined/find).",
    input_model=PersonFindInput,
    output_model=PersonCompanyFields,
    requires=key("email"),
    cost=2,
)
DOMAIN_FIND = Operation(
    name="domain_find",
    description="The domain of a company name (GET company.clearbit.com/v1/domains/find).",
    input_model=DomainFindInput,
    output_model=DomainFields,
    requires=key("company_name"),
    cost=1,
)

_PATHS: dict[str, tuple[str, str, str]] = {
    # operation -> (product host, path, query parameter)
    PERSON_FIND.name: ("person", "/v2/people/find", "email"),
    COMPANY_FIND.name: ("company", "/v2/companies/find", "domain"),
    COMBINED_FIND.name: ("person", "/v2/combined/find", "email"),
    DOMAIN_FIND.name: ("company", "/v1/domains/find", "name"),
}
_ERRORS = (
    StatusRule(
        Outcome.AUTH_FAILED,
        (401, 403),
        {"invalid_api_key", "auth_required", "unauthorized", "forbidden", "api_key_invalid"},
        "Clearbit rejected the API key",
        body_code=True,
    ),
    StatusRule(
        Outcome.QUOTA_EXHAUSTED,
        (402,),
        {"quota_exceeded", "plan_limit", "payment_required", "over_quota"},
        "the Clearbit plan is out of lookups",
    ),
    StatusRule(Outcome.INVALID_INPUT, (400, 422), message="Clearbit rejected the input", body_code=True),
)


def _person(person: dict[str, Any]) -> dict[str, Any]:
    name = as_dict(person.get("name"))
    employment = as_dict(person.get("employment"))
    geo = as_dict(person.get("geo"))
    handle = as_dict(person.get("linkedin")).get("handle")
    linkedin = None
    if isinstance(handle, str) and handle.strip("/"):
        # Clearbit gives "in/jane-doe" (sometimes without the "in/").
        path = handle.strip("/")
        linkedin = f"https://www.linkedin.com/{path if path.startswith(('in/', 'pub/')) else 'in/' + path}"
    return compact(
        {
            "full_name": name.get("fullName"),
            "first_name": name.get("givenName"),
            "last_name": name.get("familyName"),
            "job_title": employment.get("title"),
            "seniority": employment.get("seniority"),
            "linkedin_url": canonical_linkedin_url(linkedin),
            "location": join_location(geo.get("city"), geo.get("state"), geo.get("country")) or person.get("location"),
            "company_name": employment.get("name"),
            "company_domain": employment.get("domain"),
        }
    )


def _company(company: dict[str, Any]) -> dict[str, Any]:
    category = as_dict(company.get("category"))
    metrics = as_dict(company.get("metrics"))
    geo = as_dict(company.get("geo"))
    handle = as_dict(company.get("linkedin")).get("handle")
    return compact(
        {
            "company_name": company.get("name"),
            "company_domain": company.get("domain"),
            "company_linkedin_url": f"https://www.linkedin.com/{handle.strip('/')}"
            if isinstance(handle, str)
            else None,
            "industry": category.get("industry") or category.get("sector"),
            "employee_count": as_int(metrics.get("employees")),
            "company_description": company.get("description"),
            "founded_year": as_int(company.get("foundedYear")),
            "location": join_location(geo.get("city"), geo.get("state"), geo.get("country")),
        }
    )


class ClearbitAdapter(HttpProviderAdapter):
    slug = "clearbit"
    name = "Clearbit"
    description = "Person and company records from an email or a domain, and company-name-to-domain lookup."
    website = "https://clearbit.com"
    default_base_url = "https://{product}.clearbit.com"
    sandbox_path = "/clearbit"
    operations: ClassVar[tuple[Operation, ...]] = (COMPANY_FIND, PERSON_FIND, COMBINED_FIND, DOMAIN_FIND)
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]] = (RateLimitWindow(600, 60.0),)
    rate_limit_notes = "600/min per API key; x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-reset headers."

    def request(self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential) -> ProviderRequest:
        product, path, parameter = _PATHS[operation.name]
        source = "company_name" if operation is DOMAIN_FIND else parameter
        return ProviderRequest(
            "GET",
            self.base_url.replace("{product}", product) + path,
            {"Authorization": f"Bearer {credential.api_key}", "accept": "application/json"},
            params={parameter: inputs[source]},
        )

    def rate_limit_feedback(self, response: httpx.Response) -> RateLimitFeedback | None:
        # x-ratelimit-reset is seconds until the window resets (an epoch would be absurdly large).
        reset = parse_retry_after(response.headers.get("x-ratelimit-reset"))
        if reset is not None and reset > 86400 * 365:
            reset = None
        return header_feedback(
            response.headers, limit="x-ratelimit-limit", remaining="x-ratelimit-remaining", reset_after=reset
        )

    def read(self, reply: Reply, inputs: dict[str, Any]) -> ProviderResult:
        status, raw, feedback = reply.status, reply.raw, reply.feedback
        if status == 200:
            fields = self._fields(reply.operation, raw)
            if fields is None:
                return reply.invalid_response("Clearbit sent a 200 without a record")
            return reply.success(fields) if fields else reply.no_match()
        if status == 202:
            # Queued: Clearbit is looking the record up; the same call later returns it.
            return reply.pending("Clearbit is still looking this up", "lookup_queued", reply.retry_after())
        error = as_dict(as_dict(raw).get("error"))
        error_type = str(error.get("type") or "")
        message = error.get("message") if isinstance(error.get("message"), str) else None
        if status == 404 and error_type != "unknown_route":
            return reply.no_match()
        refused = reply.by_rules(_ERRORS, error_type, message)
        if refused is not None:
            return refused
        if status == 429:
            return reply.rate_limited(
                message or "Clearbit rate limit reached",
                reply.throttle_wait(),
                remaining=0,
                limit=feedback.limit if feedback else None,
                period=60.0,
            )
        return reply.unexpected()

    @staticmethod
    def _fields(operation: Operation, raw: Any) -> dict[str, Any] | None:
        """Canonical fields; {} when the record is empty (no match); None when the body is not a record."""
        if not isinstance(raw, dict):
            return None
        if operation is COMBINED_FIND:
            person = _person(as_dict(raw.get("person")))
            company = _company(as_dict(raw.get("company")))
            merged = {**{k: v for k, v in company.items() if k in PersonCompanyFields.model_fields}, **person}
            # The person's employment names the company; the company record, when present, is authoritative.
            for name in ("company_name", "company_domain"):
                if name in company:
                    merged[name] = company[name]
            return merged
        if operation is PERSON_FIND:
            return _person(raw)
        if operation is COMPANY_FIND:
            return _company(raw)
        return compact({"company_name": raw.get("name"), "company_domain": raw.get("domain")})
