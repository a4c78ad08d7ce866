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
    ProviderAdapter,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    RateLimitWindow,
    header_int,
    key,
    parse_retry_after,
    read_body,
)
from morket.providers.fields import (
    CompanyFields,
    Domain,
    Email,
    InputModel,
    OutputModel,
    Text,
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


class PersonCompanyFields(OutputModel):
    """Combined lookup: the person plus their employer's firmographics."""

    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    seniority: str | None = None
    linkedin_url: str | None = None
    location: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    industry: str | None = None
    employee_count: int | None = None
    company_description: str | None = None
    founded_year: int | None = None


class DomainFields(OutputModel):
    company_name: str | None = None
    company_domain: str | None = None


class ClearbitPersonFields(OutputModel):
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    seniority: str | None = None
    linkedin_url: str | None = None
    location: str | None = None
    company_name: str | None = None
    company_domain: str | None = None


PERSON_FIND = Operation(
    name="person_find",
    description="A person by email (GET person.clearbit.com/v2/people/find).",
    input_model=PersonFindInput,
    output_model=ClearbitPersonFields,
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
_AUTH_ERRORS = {"invalid_api_key", "auth_required", "unauthorized", "forbidden", "api_key_invalid"}
_QUOTA_ERRORS = {"quota_exceeded", "plan_limit", "payment_required", "over_quota"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _person(person: dict[str, Any]) -> dict[str, Any]:
    name = _dict(person.get("name"))
    employment = _dict(person.get("employment"))
    geo = _dict(person.get("geo"))
    handle = _dict(person.get("linkedin")).get("handle")
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
    category = _dict(company.get("category"))
    metrics = _dict(company.get("metrics"))
    geo = _dict(company.get("geo"))
    handle = _dict(company.get("linkedin")).get("handle")
    employees = metrics.get("employees")
    founded = company.get("foundedYear")
    return compact(
        {
            "company_name": company.get("name"),
            "company_domain": company.get("domain"),
            "company_linkedin_url": f"https://www.linkedin.com/{handle.strip('/')}"
            if isinstance(handle, str)
            else None,
            "industry": category.get("industry") or category.get("sector"),
            "employee_count": employees if isinstance(employees, int) else None,
            "company_description": company.get("description"),
            "founded_year": founded if isinstance(founded, int) else None,
            "location": join_location(geo.get("city"), geo.get("state"), geo.get("country")),
        }
    )


def rate_limit_feedback(response: httpx.Response) -> RateLimitFeedback | None:
    headers = response.headers
    limit = header_int(headers, "x-ratelimit-limit")
    remaining = header_int(headers, "x-ratelimit-remaining")
    reset = parse_retry_after(headers.get("x-ratelimit-reset"))
    retry_after = parse_retry_after(headers.get("retry-after"))
    if limit is None and remaining is None and retry_after is None:
        return None
    # x-ratelimit-reset is seconds until the window resets (an epoch would be absurdly large).
    if reset is not None and reset > 86400 * 365:
        reset = None
    return RateLimitFeedback(retry_after=retry_after, remaining=remaining, reset_after=reset, limit=limit, period=60.0)


class ClearbitAdapter(ProviderAdapter):
    slug = "clearbit"
    name = "Clearbit"
    description = "Person and company records from an email or a domain, and company-name-to-domain lookup."
    website = "https://clearbit.com"
    default_base_url = "https://{product}.clearbit.com"
    sandbox_path = "/clearbit"
    operations: ClassVar[tuple[Operation, ...]] = (COMPANY_FIND, PERSON_FIND, COMBINED_FIND, DOMAIN_FIND)
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]] = (RateLimitWindow(600, 60.0),)
    rate_limit_notes = "600/min per API key; x-ratelimit-limit, x-ratelimit-remaining and x-ratelimit-reset headers."

    async def _send(
        self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential, http: httpx.AsyncClient
    ) -> ProviderResult:
        product, path, parameter = _PATHS[operation.name]
        source = "company_name" if operation is DOMAIN_FIND else parameter
        url = self.base_url.replace("{product}", product) + path
        response = await http.get(
            url,
            params={parameter: inputs[source]},
            headers={"Authorization": f"Bearer {credential.api_key}", "accept": "application/json"},
        )
        return self._map(operation, response)

    def _map(self, operation: Operation, response: httpx.Response) -> ProviderResult:
        raw = read_body(response)
        feedback = rate_limit_feedback(response)
        status = response.status_code
        if status == 200:
            fields = self._fields(operation, raw)
            if fields is None:
                return self.result(
                    operation,
                    Outcome.TRANSIENT_ERROR,
                    raw=raw,
                    error="Clearbit sent a 200 without a record",
                    error_code="invalid_response",
                    response=response,
                    rate_limit=feedback,
                )
            if not fields:
                return self.result(operation, Outcome.NO_MATCH, raw=raw, response=response, rate_limit=feedback)
            return self.result(
                operation, Outcome.SUCCESS, fields=fields, raw=raw, response=response, rate_limit=feedback
            )
        if status == 202:
            # Queued: Clearbit is looking the record up; the same call later returns it.
            return self.result(
                operation,
                Outcome.PENDING,
                raw=raw,
                error="Clearbit is still looking this up",
                error_code="lookup_queued",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                response=response,
                rate_limit=feedback,
            )
        error = _dict(_dict(raw).get("error"))
        error_type = str(error.get("type") or "")
        message = error.get("message") if isinstance(error.get("message"), str) else None
        if status == 404 and error_type != "unknown_route":
            return self.result(operation, Outcome.NO_MATCH, raw=raw, response=response, rate_limit=feedback)
        if status in (401, 403) or error_type in _AUTH_ERRORS:
            return self.result(
                operation,
                Outcome.AUTH_FAILED,
                raw=raw,
                error=message or "Clearbit rejected the API key",
                error_code=error_type or None,
                response=response,
            )
        if status == 402 or error_type in _QUOTA_ERRORS:
            return self.result(
                operation,
                Outcome.QUOTA_EXHAUSTED,
                raw=raw,
                error=message or "the Clearbit plan is out of lookups",
                response=response,
            )
        if status == 429:
            retry_after = (feedback.retry_after or feedback.reset_after) if feedback else None
            return self.result(
                operation,
                Outcome.RATE_LIMITED,
                raw=raw,
                error=message or "Clearbit rate limit reached",
                retry_after=retry_after if retry_after is not None else 1.0,
                response=response,
                rate_limit=RateLimitFeedback(
                    retry_after=retry_after if retry_after is not None else 1.0,
                    remaining=0,
                    limit=feedback.limit if feedback else None,
                    period=60.0,
                ),
            )
        if status in (400, 422):
            return self.result(
                operation,
                Outcome.INVALID_INPUT,
                raw=raw,
                error=message or "Clearbit rejected the input",
                error_code=error_type or None,
                response=response,
            )
        return self.unexpected(operation, response, raw)

    @staticmethod
    def _fields(operation: Operation, raw: Any) -> dict[str, Any] | None:
        """Canonical fields; {} when the record is empty (no match); None when the body is not a record."""
        if not isinstance(raw, dict):
            return None
        if operation is COMBINED_FIND:
            person = _person(_dict(raw.get("person")))
            company = _company(_dict(raw.get("company")))
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
