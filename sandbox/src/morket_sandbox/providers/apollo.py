"""Apollo.io (`https://api.apollo.io` -> `/apollo`): enrichment and people search."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from morket_sandbox import data
from morket_sandbox.config import Provider
from morket_sandbox.data import Company, Lookup, Person
from morket_sandbox.gate import ProviderProfile
from morket_sandbox.state import SandboxState, Usage
from morket_sandbox.wire import InvalidBodyError, int_param, query_and_body, read_json_object, text

PREFIX = "/apollo/api/v1"
BULK_MATCH_LIMIT = 10
SEARCH_PER_PAGE_LIMIT = 100
# Informational only: the sandbox enforces limits through the fault knobs, not these headers.
MINUTE_LIMIT, HOURLY_LIMIT, DAILY_LIMIT = 1000, 6000, 20000

_DEPARTMENTS = {
    "executive": "c_suite",
    "sales": "master_sales",
    "marketing": "master_marketing",
    "engineering": "master_engineering_technical",
    "product": "master_product_management",
    "finance": "master_finance",
    "human_resources": "master_human_resources",
    "operations": "master_operations",
    "customer_success": "master_support",
}
_request_ids = random.Random()


def _limit_message(path: str, limit: int, period: str) -> str:
    endpoint = path.removeprefix("/apollo/")
    return (
        f"The maximum number of api calls allowed for {endpoint} is {limit} times per {period}. "
        "Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade."
    )


class ApolloProfile(ProviderProfile):
    provider = Provider.APOLLO
    prefixes = ("/apollo",)

    def extract_key(self, request: Request) -> str | None:
        return request.headers.get("x-api-key")

    def unauthorized(self, key: str | None) -> Response:
        # Apollo answers a bad key in plain text, unlike every other error it returns.
        return PlainTextResponse(
            "Invalid API key. Please check your API key and try again, or create a new one at "
            "https://app.apollo.io/#/settings/integrations/api.",
            status_code=401,
        )

    def rate_limited(self, path: str, per_second: float) -> Response:
        return JSONResponse({"message": _limit_message(path, max(1, int(per_second * 60)), "minute")}, 429)

    def too_many_requests(self, path: str) -> Response:
        return JSONResponse({"message": _limit_message(path, 600, "hour")}, 429)

    def quota_exhausted(self, path: str, quota: int) -> Response:
        return JSONResponse({"message": _limit_message(path, quota, "day")}, 429)

    def internal_error(self) -> Response:
        return JSONResponse({"error": "Something went wrong. Please try again later."}, 500)

    def usage_headers(self, usage: Usage) -> Iterable[tuple[str, str]]:
        return (
            ("x-rate-limit-minute", str(MINUTE_LIMIT)),
            ("x-minute-requests-left", str(max(0, MINUTE_LIMIT - usage.minute))),
            ("x-rate-limit-hourly", str(HOURLY_LIMIT)),
            ("x-hourly-requests-left", str(max(0, HOURLY_LIMIT - usage.hour))),
            ("x-rate-limit-daily", str(DAILY_LIMIT)),
            ("x-daily-requests-left", str(max(0, DAILY_LIMIT - usage.day))),
        )


# --- data -> Apollo JSON -------------------------------------------------------------------


def apollo_organization(company: Company) -> dict[str, Any]:
    city = company.city
    return {
        "id": company.apollo_id,
        "name": company.name,
        "website_url": f"http://www.{company.domain}",
        "linkedin_url": f"http://www.linkedin.com/company/{company.linkedin_slug}",
        "twitter_url": f"https://twitter.com/{company.twitter_handle}" if company.twitter_handle else None,
        "facebook_url": None,
        "primary_phone": {"number": company.phone, "source": "Account"},
        "phone": company.phone,
        "logo_url": f"https://logo.clearbit.com/{company.domain}",
        "primary_domain": company.domain,
        "industry": company.industry.name,
        "industries": [company.industry.name],
        "keywords": list(company.keywords),
        "estimated_num_employees": company.employees,
        "founded_year": company.founded_year,
        "street_address": None,
        "city": city.city,
        "state": city.state,
        "country": city.country,
        "raw_address": f"{city.city}, {city.state}, {city.country}",
        "short_description": company.description,
        "annual_revenue": company.annual_revenue,
        "annual_revenue_printed": _printed_money(company.annual_revenue),
        "total_funding": company.total_funding,
        "total_funding_printed": _printed_money(company.total_funding) if company.total_funding else None,
        "latest_funding_stage": company.funding_stage,
        "latest_funding_round_date": f"{company.latest_funding_date}T00:00:00.000+00:00"
        if company.latest_funding_date
        else None,
        "technology_names": [name for _, name, _ in company.technologies],
        "current_technologies": [
            {"uid": slug, "name": name, "category": category} for slug, name, category in company.technologies
        ],
        "publicly_traded_symbol": None,
        "publicly_traded_exchange": None,
    }


def _printed_money(amount: int | None) -> str | None:
    if amount is None:
        return None
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if amount >= size:
            return f"{amount / size:.1f}".removesuffix(".0") + suffix
    return str(amount)


def apollo_person(person: Person) -> dict[str, Any]:
    company = person.company
    organization = apollo_organization(company)
    city = person.city
    email_available = person.email_status != "unavailable"
    return {
        "id": person.apollo_id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "name": person.full_name,
        "linkedin_url": f"http://www.linkedin.com/in/{person.linkedin_handle}",
        "title": person.title,
        "email_status": person.email_status,
        "photo_url": f"https://images.example.com/people/{person.apollo_id}.jpg",
        "twitter_url": f"https://twitter.com/{person.twitter_handle}" if person.twitter_handle else None,
        "github_url": f"https://github.com/{person.github_handle}" if person.github_handle else None,
        "facebook_url": None,
        "headline": f"{person.title} at {company.name}",
        "email": person.email if email_available else None,
        "organization_id": company.apollo_id,
        "employment_history": [
            {
                "id": data.hex_id("apollo-employment", person.key + ":current"),
                "current": True,
                "organization_id": company.apollo_id,
                "organization_name": company.name,
                "title": person.title,
                "start_date": person.started_on,
                "end_date": None,
            },
            {
                "id": data.hex_id("apollo-employment", person.key + ":previous"),
                "current": False,
                "organization_id": None,
                "organization_name": person.previous_employer,
                "title": person.previous_title,
                "start_date": None,
                "end_date": person.started_on,
            },
        ],
        "state": city.state,
        "city": city.city,
        "country": city.country,
        "organization": organization,
        "departments": [_DEPARTMENTS[person.department]],
        "subdepartments": [],
        "functions": [person.department],
        # The neutral seniority keys in data.TITLES are Apollo's own vocabulary.
        "seniority": person.seniority,
        "is_likely_to_engage": person.email_status == "likely to engage",
    }


@lru_cache(maxsize=16_384)
def _person_json(person: Person) -> str:
    # people/match is the benchmark's hot path: encoding a ~3 KB person dominates an uncached call.
    return json.dumps(apollo_person(person), ensure_ascii=False, separators=(",", ":"))


def resolve_person(params: Mapping[str, Any]) -> Person | None:
    """The person Apollo would look up for these match parameters, hit or not."""
    email = data.normalize_email(text(params.get("email")))
    if email:
        return data.person_from_email(email)
    first, last = text(params.get("first_name")), text(params.get("last_name"))
    if not (first and last):
        first, last = data.split_full_name(text(params.get("name")))
    domain = data.normalize_domain(text(params.get("domain")))
    if not domain and text(params.get("organization_name")):
        domain = data.domain_for_company_name(text(params.get("organization_name")))
    if first and last and data.is_plausible_domain(domain):
        return data.person_from_name(first, last, domain)
    linkedin_url = text(params.get("linkedin_url"))
    return data.person_from_linkedin(linkedin_url) if linkedin_url else None


def match_person(params: Mapping[str, Any]) -> Person | None:
    """The person people/match returns for these parameters, None when Apollo has no match."""
    person = resolve_person(params)
    return person if person is not None and data.is_hit(Lookup.APOLLO_PERSON, person.key) else None


def match_organization(domain: str) -> Company | None:
    domain = data.normalize_domain(domain)
    if domain in data.WEBMAIL_DOMAINS or not data.is_plausible_domain(domain):
        return None
    return data.company_for_domain(domain) if data.is_hit(Lookup.APOLLO_ORGANIZATION, domain) else None


def _request_id() -> int:
    return _request_ids.getrandbits(64) - 2**63


def _invalid_request(message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "failed", "error_code": "INVALID_REQUEST", "error_message": message},
        status_code=400,
    )


def _list_param(request: Request, body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name, body.get(f"{name}[]"))
    if isinstance(value, list):
        return [text(item) for item in value if text(item)]
    if isinstance(value, str):
        return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]
    return [item for item in request.query_params.getlist(f"{name}[]") + request.query_params.getlist(name) if item]


def _search_person(person: Person) -> dict[str, Any]:
    last = person.last_name
    return {
        "id": person.apollo_id,
        "first_name": person.first_name,
        "last_name_obfuscated": f"{last[:1]}***{last[-1:]}" if len(last) > 1 else f"{last}***",
        "title": person.title,
        "last_refreshed_at": "2025-01-15T00:00:00.000+00:00",
        "has_email": person.email_status != "unavailable",
        "has_city": True,
        "has_state": True,
        "has_country": True,
        "has_direct_phone": "Maybe: please request direct dial via people/bulk_match",
        "organization": {
            "name": person.company.name,
            "has_industry": True,
            "has_phone": True,
            "has_city": True,
            "has_state": True,
            "has_country": True,
            "has_zip_code": False,
            "has_revenue": True,
            "has_employee_count": True,
        },
    }


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["apollo"])

    @router.post("/people/match")
    async def people_match(request: Request) -> Response:
        """Enrich one person; a 200 with `person: null` means no match."""
        try:
            params = await query_and_body(request)
        except InvalidBodyError as exc:
            return _invalid_request(str(exc))
        person = match_person(params)
        encoded = _person_json(person) if person else "null"
        return Response(f'{{"person":{encoded},"request_id":{_request_id()}}}', media_type="application/json")

    @router.post("/people/bulk_match")
    async def people_bulk_match(request: Request) -> Response:
        """Enrich up to ten people in one call."""
        try:
            body = await read_json_object(request)
        except InvalidBodyError as exc:
            return _invalid_request(str(exc))
        details = body.get("details")
        if not isinstance(details, list) or not details or not all(isinstance(d, dict) for d in details):
            return _invalid_request("details must be a non-empty array of objects")
        if len(details) > BULK_MATCH_LIMIT:
            return JSONResponse(
                {
                    "status": "failed",
                    "error_code": "RECORD_LIMIT_EXCEEDED",
                    "error_message": f"The maximum number of records per request is {BULK_MATCH_LIMIT}.",
                },
                status_code=400,
            )
        people = [match_person(detail) for detail in details]
        enriched = {person.key for person in people if person is not None}
        return JSONResponse(
            {
                "status": "success",
                "error_code": None,
                "error_message": None,
                "total_requested_enrichments": len(details),
                "unique_enriched_records": len(enriched),
                "missing_records": sum(1 for person in people if person is None),
                "credits_consumed": len(enriched),
                "matches": [apollo_person(person) if person else None for person in people],
            }
        )

    @router.get("/organizations/enrich")
    async def organizations_enrich(request: Request) -> Response:
        """Enrich one company by domain; an unknown domain returns `{}`."""
        domain = text(request.query_params.get("domain"))
        if not domain:
            return JSONResponse({"error": "Required parameter 'domain' missing"}, status_code=422)
        company = match_organization(domain)
        return JSONResponse({"organization": apollo_organization(company)} if company else {})

    @router.post("/mixed_people/api_search")
    async def mixed_people_search(request: Request) -> Response:
        """Search people (no emails, no credits) by company domain, title, seniority or keywords."""
        try:
            body = await read_json_object(request)
        except InvalidBodyError as exc:
            return _invalid_request(str(exc))
        params = {**request.query_params, **body}
        page, per_page = int_param(params.get("page"), 1), int_param(params.get("per_page"), 10)
        if page is None or per_page is None or page < 1 or not 1 <= per_page <= SEARCH_PER_PAGE_LIMIT:
            return JSONResponse(
                {"error": f"page must be >= 1 and per_page between 1 and {SEARCH_PER_PAGE_LIMIT}"}, status_code=422
            )
        domains = [data.normalize_domain(d) for d in _list_param(request, body, "q_organization_domains_list")]
        titles = [t.lower() for t in _list_param(request, body, "person_titles")]
        seniorities = set(_list_param(request, body, "person_seniorities"))
        keywords = text(params.get("q_keywords")).lower()
        if not domains:
            # Without a company filter, search a fixed, query-independent slice of the "database".
            domains = [data.domain_for_company_name(f"Sandbox Prospect {n}") for n in range(1, 21)]
        people = [
            person
            for domain in dict.fromkeys(domains)
            for person in data.company_employees(domain)
            if (not titles or any(t in person.title.lower() for t in titles))
            and (not seniorities or person.seniority in seniorities)
            and (not keywords or keywords in f"{person.full_name} {person.title}".lower())
        ]
        start = (page - 1) * per_page
        return JSONResponse(
            {
                "total_entries": len(people),
                "people": [_search_person(person) for person in people[start : start + per_page]],
            }
        )

    return router
