"""Clearbit (`person.clearbit.com` and `company.clearbit.com` -> `/clearbit`).

The streaming hosts (`person-stream.`, `company-stream.`) map to `/clearbit-stream`: same answers,
never a 202.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from morket_sandbox import data
from morket_sandbox.config import Provider
from morket_sandbox.data import Company, Lookup, Person
from morket_sandbox.gate import ProviderProfile
from morket_sandbox.state import SandboxState, Usage
from morket_sandbox.wire import text

PREFIX = "/clearbit"
STREAM_PREFIX = "/clearbit-stream"
MINUTE_LIMIT = 600
T = TypeVar("T")

_ROLES = {
    "executive": "ceo",
    "sales": "sales",
    "marketing": "marketing",
    "engineering": "engineering",
    "product": "product",
    "finance": "finance",
    "human_resources": "human_resources",
    "operations": "operations",
    "customer_success": "customer_service",
}
_SENIORITY = {"c_suite": "executive", "founder": "executive", "vp": "executive", "head": "director"}
_SENIORITY |= {"director": "director", "manager": "manager"}


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class ClearbitProfile(ProviderProfile):
    provider = Provider.CLEARBIT
    prefixes = (PREFIX, STREAM_PREFIX)

    def extract_key(self, request: Request) -> str | None:
        authorization = request.headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return credentials.strip()
        if scheme.lower() == "basic":
            # The key is the user name and the password is empty: base64("<key>:").
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return ""
            return decoded.partition(":")[0]
        return None

    def unauthorized(self, key: str | None) -> Response:
        if key is None:
            return error(401, "auth_required", "An API key is required to access this resource.")
        return error(401, "invalid_api_key", "The API key provided is invalid.")

    def rate_limited(self, path: str, per_second: float) -> Response:
        return error(429, "rate_limit", f"Rate limit exceeded. Limit is {per_second:g} requests per second.")

    def too_many_requests(self, path: str) -> Response:
        return error(429, "rate_limit", f"Rate limit exceeded. Limit is {MINUTE_LIMIT} requests per minute.")

    def quota_exhausted(self, path: str, quota: int) -> Response:
        return error(402, "payment_required", f"Your plan's quota of {quota} requests is used up.")

    def internal_error(self) -> Response:
        return error(500, "server_error", "Something went wrong on our side; please try again.")

    def usage_headers(self, usage: Usage) -> Iterable[tuple[str, str]]:
        return (
            ("x-ratelimit-limit", str(MINUTE_LIMIT)),
            ("x-ratelimit-remaining", str(max(0, MINUTE_LIMIT - usage.minute))),
            ("x-ratelimit-reset", str(math.ceil(usage.minute_reset))),
        )


# --- data -> Clearbit JSON -----------------------------------------------------------------


def _geo(city: data.City) -> dict[str, Any]:
    return {
        "city": city.city,
        "state": city.state,
        "stateCode": city.state_code,
        "country": city.country,
        "countryCode": city.country_code,
        "lat": city.lat,
        "lng": city.lng,
    }


def clearbit_company(company: Company) -> dict[str, Any]:
    city = company.city
    return {
        "id": company.clearbit_id,
        "name": company.name,
        "legalName": company.legal_name,
        "domain": company.domain,
        "domainAliases": [],
        "site": {"phoneNumbers": [company.phone], "emailAddresses": [f"info@{company.domain}"]},
        "category": {
            "sector": company.industry.sector,
            "industryGroup": company.industry.sector,
            # Title-cased Apollo label, so the two providers agree on a company's industry.
            "industry": company.industry.name.title(),
            "subIndustry": company.industry.name.title(),
            "sicCode": None,
            "naicsCode": None,
        },
        "tags": list(company.industry.tags),
        "description": company.description,
        "foundedYear": company.founded_year,
        "location": f"{city.city}, {city.state}, {city.country}",
        "timeZone": city.time_zone,
        "utcOffset": city.utc_offset,
        "geo": _geo(city),
        "logo": f"https://logo.clearbit.com/{company.domain}",
        "facebook": {"handle": None},
        "linkedin": {"handle": f"company/{company.linkedin_slug}"},
        "twitter": {"handle": company.twitter_handle},
        "crunchbase": {"handle": None},
        "emailProvider": False,
        "type": "private",
        "ticker": None,
        "phone": company.phone,
        "metrics": {
            "alexaUsRank": None,
            "alexaGlobalRank": None,
            "employees": company.employees,
            "employeesRange": company.employees_range,
            "marketCap": None,
            "raised": company.total_funding,
            "annualRevenue": None,
            "estimatedAnnualRevenue": company.revenue_range,
            "fiscalYearEnd": None,
        },
        "indexedAt": "2025-01-15T00:00:00.000Z",
        "tech": [slug for slug, _, _ in company.technologies],
        "techCategories": sorted({category.lower().replace(" ", "_") for _, _, category in company.technologies}),
        "parent": {"domain": None},
        "ultimateParent": {"domain": None},
    }


def clearbit_person(person: Person) -> dict[str, Any]:
    company = person.company
    city = person.city
    return {
        "id": person.clearbit_id,
        "name": {"fullName": person.full_name, "givenName": person.first_name, "familyName": person.last_name},
        "email": person.email,
        "location": f"{city.city}, {city.state}, {city.country}",
        "timeZone": city.time_zone,
        "utcOffset": city.utc_offset,
        "geo": _geo(city),
        "bio": f"{person.title} at {company.name}.",
        "site": None,
        "avatar": f"https://images.example.com/people/{person.clearbit_id}.png",
        "employment": {
            "domain": company.domain,
            "name": company.name,
            "title": person.title,
            "role": _ROLES[person.department],
            "subRole": None,
            "seniority": _SENIORITY.get(person.seniority),
        },
        "facebook": {"handle": None},
        "github": {"handle": person.github_handle},
        "twitter": {"handle": person.twitter_handle},
        "linkedin": {"handle": f"in/{person.linkedin_handle}"},
        "gravatar": {"handle": None},
        "fuzzy": False,
        "emailProvider": data.is_webmail(person.email.rsplit("@", 1)[1]),
        "indexedAt": "2025-01-15T00:00:00.000Z",
    }


def find_person(email: str) -> Person | None:
    """The person Clearbit returns for `email` (normalized already), None for a 404."""
    person = data.person_from_email(email)
    return person if data.is_hit(Lookup.CLEARBIT_PERSON, person.key) else None


def find_company(domain: str) -> Company | None:
    domain = data.normalize_domain(domain)
    if domain in data.WEBMAIL_DOMAINS or not data.is_plausible_domain(domain):
        return None
    return data.company_for_domain(domain) if data.is_hit(Lookup.CLEARBIT_COMPANY, domain) else None


def find_domain(name: str) -> Company | None:
    """Name-to-domain: the company whose name is `name`, None for a 404."""
    key = " ".join(name.lower().split())
    return (
        data.company_for_domain(data.domain_for_company_name(name))
        if data.is_hit(Lookup.CLEARBIT_DOMAIN, key)
        else None
    )


def find_combined(email: str) -> tuple[Person | None, Company | None] | None:
    """The person and their employer; None (a 404) when Clearbit knows neither."""
    person = find_person(email)
    company = find_company(data.person_from_email(email).domain)
    return None if person is None and company is None else (person, company)


def combined_json(found: tuple[Person | None, Company | None]) -> dict[str, Any]:
    person, company = found
    return {
        "person": clearbit_person(person) if person else None,
        "company": clearbit_company(company) if company else None,
    }


@dataclass(frozen=True)
class By:
    """A lookup's query parameter: its normalizer (None: invalid) and Clearbit's 422 and 404 words."""

    param: str
    normalize: Callable[[str], str | None]
    invalid_type: str
    invalid_message: str
    unknown: str


def _plausible_domain(value: str) -> str | None:
    domain = data.normalize_domain(value)
    return domain if data.is_plausible_domain(domain) else None


BY_EMAIL = By(
    "email",
    data.normalize_email,
    "email_invalid",
    "The email parameter is missing or invalid.",
    "Unknown email address.",
)
BY_DOMAIN = By(
    "domain", _plausible_domain, "invalid_domain", "The domain parameter is missing or invalid.", "Unknown domain."
)


def build_router(state: SandboxState, *, streaming: bool = False) -> APIRouter:
    prefix = STREAM_PREFIX if streaming else PREFIX
    router = APIRouter(prefix=prefix, tags=["clearbit"])

    def queued(lookup: str) -> bool:
        # A 202 means "queued, call again"; streaming hosts hold the connection instead.
        return not streaming and state.faults[Provider.CLEARBIT].still_pending(lookup)

    def answer(
        request: Request, by: By, kind: str, find: Callable[[str], T | None], render: Callable[[T], Any]
    ) -> Response:
        """422 for a bad parameter, 202 while the lookup is queued, then the record or 404 `unknown_record`."""
        value = by.normalize(text(request.query_params.get(by.param)))
        if value is None:
            return error(422, by.invalid_type, by.invalid_message)
        if queued(f"{kind}:{value}"):
            return Response(status_code=202)
        record = find(value)
        return error(404, "unknown_record", by.unknown) if record is None else JSONResponse(render(record))

    @router.get("/v2/people/find")
    async def people_find(request: Request) -> Response:
        """Person by email: 200 record, 202 queued (empty body), 404 unknown."""
        return answer(request, BY_EMAIL, "person", find_person, clearbit_person)

    @router.get("/v2/companies/find")
    async def companies_find(request: Request) -> Response:
        """Company by domain: 200 record, 202 queued (empty body), 404 unknown."""
        return answer(request, BY_DOMAIN, "company", find_company, clearbit_company)

    @router.get("/v2/combined/find")
    async def combined_find(request: Request) -> Response:
        """Person and their company by email; either half may be null, 404 when both are."""
        return answer(request, BY_EMAIL, "combined", find_combined, combined_json)

    @router.get("/v1/domains/find")
    async def domains_find(request: Request) -> Response:
        """Company name to domain and logo."""
        name = text(request.query_params.get("name"))
        if not name:
            return error(422, "missing_params", "The name parameter is required.")
        company = find_domain(name)
        if company is None:
            return error(404, "unknown_record", "Unknown company name.")
        return JSONResponse(
            {"name": company.name, "domain": company.domain, "logo": f"https://logo.clearbit.com/{company.domain}"}
        )

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def unknown_route(request: Request, path: str) -> Response:
        """Anything else under the Clearbit hosts."""
        return error(404, "unknown_route", f"No route matches {request.method} /{path}.")

    return router
