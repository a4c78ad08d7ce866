"""Hunter.io (`https://api.hunter.io` -> `/hunter`): domain search, email finder and verifier.

Status codes carry meaning here: 202 verification in progress (repeat the call), 222 SMTP failure
(retry later), 403 rate limited, 429 quota used up, 451 personal-data restriction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from morket_sandbox import data
from morket_sandbox.config import HUNTER_TEST_API_KEY, Provider
from morket_sandbox.data import Lookup, Person
from morket_sandbox.gate import ProviderProfile
from morket_sandbox.state import SandboxState
from morket_sandbox.wire import int_param, text

PREFIX = "/hunter/v2"
DOMAIN_SEARCH_LIMIT = 100
VERIFICATION_DATE = "2025-01-15"

_SENIORITY = {"c_suite": "executive", "founder": "executive", "vp": "executive", "entry": "junior"}
_DEPARTMENTS = {
    "executive": "executive",
    "sales": "sales",
    "marketing": "marketing",
    "engineering": "it",
    "product": "management",
    "finance": "finance",
    "human_resources": "hr",
    "operations": "operations",
    "customer_success": "support",
}
_GENERIC_LOCAL_PARTS = ("info", "contact", "sales", "support", "hello")


def errors(status: int, error_id: str, details: str) -> JSONResponse:
    return JSONResponse({"errors": [{"id": error_id, "code": status, "details": details}]}, status_code=status)


class HunterProfile(ProviderProfile):
    provider = Provider.HUNTER
    prefixes = ("/hunter",)

    def extract_key(self, request: Request) -> str | None:
        key = request.query_params.get("api_key") or request.headers.get("x-api-key")
        if key is None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else None
        return key

    def unauthorized(self, key: str | None) -> Response:
        if key is None:
            return errors(401, "authentication_failed", "You are missing the api_key parameter.")
        return errors(401, "authentication_failed", "No user found for the API key supplied.")

    def rate_limited(self, path: str, per_second: float) -> Response:
        # Hunter signals its per-second limit with a 403; its 429 means the monthly quota is gone.
        return errors(
            403, "too_many_requests", f"You have reached the rate limit of {per_second:g} requests per second."
        )

    def too_many_requests(self, path: str) -> Response:
        return errors(429, "too_many_requests", "You have reached your usage limit. Please upgrade your plan.")

    def quota_exhausted(self, path: str, quota: int) -> Response:
        return errors(429, "too_many_requests", f"You have used the {quota} requests of your plan this month.")

    def internal_error(self) -> Response:
        return errors(500, "internal_error", "An internal error occurred. Please try again later.")


# --- fixed answers for the documented test key -----------------------------------------------

TEST_DOMAIN_SEARCH: dict[str, Any] = {
    "data": {
        "domain": "intercom.com",
        "disposable": False,
        "webmail": False,
        "accept_all": False,
        "pattern": "{first}",
        "organization": "Intercom",
        "description": "Intercom is a customer messaging platform.",
        "industry": "Information Technology",
        "country": "US",
        "state": "CA",
        "city": "San Francisco",
        "headcount": "1001-5000",
        "emails": [
            {
                "value": "ciaran@intercom.com",
                "type": "personal",
                "confidence": 92,
                "sources": [],
                "first_name": "Ciaran",
                "last_name": "Lee",
                "position": "Support Engineer",
                "seniority": "senior",
                "department": "it",
                "linkedin": None,
                "twitter": "ciaran_lee",
                "phone_number": None,
                "verification": {"date": VERIFICATION_DATE, "status": "valid"},
            }
        ],
        "linked_domains": [],
    },
    "meta": {"results": 1, "limit": 10, "offset": 0, "params": {"domain": "intercom.com", "company": None}},
}
TEST_EMAIL_FINDER: dict[str, Any] = {
    "data": {
        "first_name": "Alexis",
        "last_name": "Ohanian",
        "email": "alexis@reddit.com",
        "score": 97,
        "domain": "reddit.com",
        "accept_all": False,
        "position": "Cofounder",
        "twitter": "alexisohanian",
        "linkedin_url": None,
        "phone_number": None,
        "company": "Reddit",
        "sources": [],
        "verification": {"date": VERIFICATION_DATE, "status": "valid"},
    },
    "meta": {"params": {"first_name": "Alexis", "last_name": "Ohanian", "domain": "reddit.com"}},
}
TEST_EMAIL_VERIFIER: dict[str, Any] = {
    "data": {
        "status": "valid",
        "result": "deliverable",
        "score": 100,
        "email": "patrick@stripe.com",
        "regexp": True,
        "gibberish": False,
        "disposable": False,
        "webmail": False,
        "mx_records": True,
        "smtp_server": True,
        "smtp_check": True,
        "accept_all": False,
        "block": False,
        "sources": [],
    },
    "meta": {"params": {"email": "patrick@stripe.com"}},
}


# --- data -> Hunter JSON -------------------------------------------------------------------


def hunter_seniority(person: Person) -> str:
    return _SENIORITY.get(person.seniority, "senior")


def hunter_department(person: Person) -> str:
    return _DEPARTMENTS[person.department]


def find_email(first_name: str, last_name: str, domain: str) -> Person | None:
    """The person email-finder returns, None when Hunter finds nothing."""
    domain = data.normalize_domain(domain)
    if domain in data.WEBMAIL_DOMAINS or not data.is_plausible_domain(domain):
        return None
    person = data.person_from_name(first_name, last_name, domain)
    return person if data.is_hit(Lookup.HUNTER_EMAIL_FINDER, person.key) else None


def finder_score(person: Person) -> int:
    return 70 + data.stable_hash("hunter-score", person.key) % 30


def domain_emails(domain: str) -> list[dict[str, Any]]:
    """Every address domain-search knows at `domain` (before filtering and paging)."""
    domain = data.normalize_domain(domain)
    if not data.is_hit(Lookup.HUNTER_DOMAIN_SEARCH, domain):
        return []
    emails: list[dict[str, Any]] = [
        {
            "value": person.email,
            "type": "personal",
            "confidence": finder_score(person),
            "sources": [],
            "first_name": person.first_name,
            "last_name": person.last_name,
            "position": person.title,
            "seniority": hunter_seniority(person),
            "department": hunter_department(person),
            "linkedin": f"https://www.linkedin.com/in/{person.linkedin_handle}",
            "twitter": person.twitter_handle,
            "phone_number": None,
            "verification": {"date": VERIFICATION_DATE, "status": data.verify_email(person.email).status},
        }
        for person in data.company_employees(domain)
    ]
    generic_count = data.stable_hash("hunter-generic", domain) % 3
    for local in _GENERIC_LOCAL_PARTS[:generic_count]:
        emails.append(
            {
                "value": f"{local}@{domain}",
                "type": "generic",
                "confidence": 90,
                "sources": [],
                "first_name": None,
                "last_name": None,
                "position": None,
                "seniority": None,
                "department": None,
                "linkedin": None,
                "twitter": None,
                "phone_number": None,
                "verification": {"date": VERIFICATION_DATE, "status": "accept_all"},
            }
        )
    return emails


def _restricted(domain: str) -> Response | None:
    if domain == data.RESTRICTED_DOMAIN:
        return errors(451, "claimed_email", "The owner of this data asked us to stop processing it.")
    return None


def _smtp_failure(domain: str) -> Response | None:
    if domain == data.SMTP_FAILURE_DOMAIN:
        return errors(222, "smtp_failure", "The remote SMTP server failed to answer. Please retry later.")
    return None


def _in_progress() -> Response:
    return errors(202, "verification_in_progress", "The verification is in progress; repeat the call (billed once).")


def _domain_param(params: Mapping[str, str]) -> str:
    domain = data.normalize_domain(text(params.get("domain")))
    if not domain and text(params.get("company")):
        domain = data.domain_for_company_name(text(params.get("company")))
    return domain


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["hunter"])
    profile = HunterProfile()

    def is_test_key(request: Request) -> bool:
        return profile.extract_key(request) == HUNTER_TEST_API_KEY

    def still_pending(lookup: str) -> bool:
        return state.faults[Provider.HUNTER].still_pending(lookup)

    @router.get("/domain-search")
    async def domain_search(request: Request) -> Response:
        """Every address Hunter knows at a domain, with the company's email pattern."""
        params = request.query_params
        domain = _domain_param(params)
        if not domain:
            return errors(400, "wrong_params", "You are missing the domain or company parameter.")
        limit, offset = int_param(params.get("limit"), 10), int_param(params.get("offset"), 0)
        if limit is None or offset is None or not 1 <= limit <= DOMAIN_SEARCH_LIMIT or offset < 0:
            return errors(400, "wrong_params", f"limit must be between 1 and {DOMAIN_SEARCH_LIMIT}, offset >= 0.")
        if is_test_key(request):
            return JSONResponse(TEST_DOMAIN_SEARCH)
        if (restricted := _restricted(domain)) is not None:
            return restricted
        emails = domain_emails(domain)
        kind = text(params.get("type"))
        seniorities = {s for s in text(params.get("seniority")).split(",") if s}
        departments = {d for d in text(params.get("department")).split(",") if d}
        emails = [
            e
            for e in emails
            if (not kind or e["type"] == kind)
            and (not seniorities or e["seniority"] in seniorities)
            and (not departments or e["department"] in departments)
        ]
        company = data.company_for_domain(domain)
        known = data.is_plausible_domain(domain) and data.is_hit(Lookup.HUNTER_DOMAIN_SEARCH, domain)
        return JSONResponse(
            {
                "data": {
                    "domain": domain,
                    "disposable": data.is_disposable(domain),
                    "webmail": data.is_webmail(domain),
                    "accept_all": company.accept_all,
                    "pattern": company.email_pattern if known else None,
                    "organization": company.name if known else None,
                    "description": company.description if known else None,
                    "industry": company.industry.sector if known else None,
                    "country": company.city.country_code if known else None,
                    "city": company.city.city if known else None,
                    "headcount": company.employees_range if known else None,
                    "emails": emails[offset : offset + limit],
                    "linked_domains": [],
                },
                "meta": {
                    "results": len(emails),
                    "limit": limit,
                    "offset": offset,
                    "params": {
                        "domain": text(params.get("domain")) or None,
                        "company": text(params.get("company")) or None,
                        "type": kind or None,
                        "seniority": text(params.get("seniority")) or None,
                        "department": text(params.get("department")) or None,
                    },
                },
            }
        )

    @router.get("/email-finder")
    async def email_finder(request: Request) -> Response:
        """The most likely address of a person at a domain."""
        params = request.query_params
        domain = _domain_param(params)
        first, last = text(params.get("first_name")), text(params.get("last_name"))
        if not (first and last):
            first, last = data.split_full_name(text(params.get("full_name")))
        if not domain:
            return errors(400, "wrong_params", "You are missing the domain or company parameter.")
        if not (first and last):
            return errors(400, "wrong_params", "You are missing the first_name/last_name or full_name parameters.")
        if is_test_key(request):
            return JSONResponse(TEST_EMAIL_FINDER)
        if (refusal := _restricted(domain) or _smtp_failure(domain)) is not None:
            return refusal
        person = find_email(first, last, domain)
        if still_pending(f"finder:{data.email_for(first, last, domain)}"):
            return _in_progress()
        if person is None:
            return errors(404, "email_not_found", "No result found.")
        company = person.company
        return JSONResponse(
            {
                "data": {
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "email": person.email,
                    "score": finder_score(person),
                    "domain": domain,
                    "accept_all": company.accept_all,
                    "position": person.title,
                    "twitter": person.twitter_handle,
                    "linkedin_url": f"https://www.linkedin.com/in/{person.linkedin_handle}",
                    "phone_number": None,
                    "company": company.name,
                    "sources": [],
                    "verification": {"date": VERIFICATION_DATE, "status": data.verify_email(person.email).status},
                },
                "meta": {"params": {"first_name": first, "last_name": last, "domain": domain}},
            }
        )

    @router.get("/email-verifier")
    async def email_verifier(request: Request) -> Response:
        """Deliverability of one address."""
        email = text(request.query_params.get("email"))
        if not email:
            return errors(400, "wrong_params", "You are missing the email parameter.")
        if is_test_key(request):
            return JSONResponse(TEST_EMAIL_VERIFIER)
        domain = data.normalize_domain(email)
        if (refusal := _restricted(domain) or _smtp_failure(domain)) is not None:
            return refusal
        if still_pending(f"verifier:{email.lower()}"):
            return _in_progress()
        result = data.verify_email(email)
        verdict = {"valid": "deliverable", "invalid": "undeliverable"}.get(result.status, "risky")
        return JSONResponse(
            {
                "data": {
                    "status": result.status,
                    "result": verdict,
                    "score": result.score,
                    "email": result.email,
                    "regexp": result.regexp,
                    "gibberish": result.gibberish,
                    "disposable": result.disposable,
                    "webmail": result.webmail,
                    "mx_records": result.mx_records,
                    "smtp_server": result.smtp_server,
                    "smtp_check": result.smtp_check,
                    "accept_all": result.accept_all,
                    "block": result.block,
                    "sources": [],
                },
                "meta": {"params": {"email": email}},
            }
        )

    return router
