"""Morket's own scraper service (the morket_scraper package) as a provider: company websites,
careers pages and public profile pages, for what the data providers miss.

It is called like any other provider (breaker, limiter, cache, outcomes), over HTTP at
SCRAPER_URL with SERVICE_API_KEY as X-Service-Key: the key is ours, not the workspace's, so no
vault entry is needed. A page without data is `no_match` and costs nothing; a refused target
(private address, robots.txt, not a page) is `no_match` too, with the reason as error_code.
Never the sandbox: the scraper is ours.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from morket.providers.base import Operation, Outcome, ProviderCredential, ProviderResult, RateLimitWindow, key
from morket.providers.exchange import HttpProviderAdapter, ProviderRequest, Reply, StatusRule
from morket.providers.fields import Domain, InputModel, OutputModel, compact, normalize_text

# The scraper may wait up to 60 s for a page (its sync endpoint); our side waits a little longer.
SYNC_TIMEOUT_SECONDS = 75.0


def normalize_web_url(value: str | None) -> str | None:
    text = normalize_text(value)
    if text is None:
        return None
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not a web address, e.g. https://acme.com")
    return text


WebUrl = Annotated[str | None, AfterValidator(normalize_web_url), Field(max_length=2000)]


class CompanySiteInput(InputModel):
    website: WebUrl = None
    domain: Domain = None


class CareersInput(InputModel):
    careers_url: WebUrl = None
    website: WebUrl = None
    domain: Domain = None


class ProfileInput(InputModel):
    profile_url: WebUrl = None


class CompanySiteFields(OutputModel):
    company_name: str | None = None
    company_description: str | None = None
    company_linkedin_url: str | None = None
    employee_count: int | None = Field(default=None, ge=0)
    founded_year: int | None = Field(default=None, ge=1000, le=2100)
    location: str | None = None
    phone: str | None = None
    phones: list[str] | None = None
    emails: list[dict[str, Any]] | None = None
    social_links: dict[str, str] | None = None
    technologies: list[str] | None = None


class CareersFields(OutputModel):
    job_postings_count: int | None = Field(default=None, ge=0)
    job_titles: list[str] | None = None


class ProfileFields(OutputModel):
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    headline: str | None = None
    job_title: str | None = None
    company_name: str | None = None
    location: str | None = None
    linkedin_url: str | None = None


COMPANY_SITE = Operation(
    name="company_site",
    description="Description, emails, phones, social links and technologies from the company's website.",
    input_model=CompanySiteInput,
    output_model=CompanySiteFields,
    requires=key("website") | key("domain"),
    cost=1,
)
CAREERS_PAGE = Operation(
    name="careers_page",
    description="Open job postings (count and titles) from the company's careers page.",
    input_model=CareersInput,
    output_model=CareersFields,
    requires=key("careers_url") | key("website") | key("domain"),
    cost=1,
)
PROFILE_PAGE = Operation(
    name="profile_page",
    description="Name, headline, current company and location from a public profile page.",
    input_model=ProfileInput,
    output_model=ProfileFields,
    requires=key("profile_url"),
    cost=1,
)

_TARGET_TYPES = {COMPANY_SITE.name: "company", CAREERS_PAGE.name: "jobs", PROFILE_PAGE.name: "person"}
_ERRORS = (
    StatusRule(
        Outcome.AUTH_FAILED, (401,), message="the scraper refused SERVICE_API_KEY", error_code="invalid_service_key"
    ),
    StatusRule(Outcome.INVALID_INPUT, (422,), message="the scraper rejected the target", error_code="invalid_input"),
    # The sync endpoint gave up waiting for the page.
    StatusRule(Outcome.TRANSIENT_ERROR, (202,), message="the page took too long", error_code="timeout"),
)


def target_url(operation: Operation, inputs: dict[str, Any]) -> str:
    if operation is PROFILE_PAGE:
        return str(inputs["profile_url"])
    if operation is CAREERS_PAGE and inputs.get("careers_url"):
        return str(inputs["careers_url"])
    site = str(inputs.get("website") or f"https://{inputs['domain']}/")
    if operation is CAREERS_PAGE:
        return site.rstrip("/") + "/careers"
    return site


class ScraperAdapter(HttpProviderAdapter):
    slug = "scraper"
    name = "Morket scraper"
    description = "Company websites, careers pages and public profiles, read by Morket's own scraper service."
    website = "https://github.com/morket"
    default_base_url = "http://127.0.0.1:8001"
    sandbox_path = ""
    # SCRAPER_URL, not SCRAPER_BASE_URL, and never the sandbox (see gateway.base_url_for).
    url_setting: ClassVar[str | None] = "scraper_url"
    # Authenticates with the API's SERVICE_API_KEY, not with a workspace's vault key.
    service_credential: ClassVar[bool] = True
    operations: ClassVar[tuple[Operation, ...]] = (COMPANY_SITE, CAREERS_PAGE, PROFILE_PAGE)
    # The scraper paces each target domain itself (robots.txt, token buckets); this only bounds our calls.
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]] = (RateLimitWindow(50, 1.0),)
    rate_limit_notes = "Ours: per target domain politeness lives in the scraper; 50 calls/s from the API."

    def request(self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential) -> ProviderRequest:
        return ProviderRequest(
            "POST",
            self.base_url + "/api/v1/scrape/sync",
            {"X-Service-Key": credential.api_key, "X-Service-Name": "api"},
            json={"url": target_url(operation, inputs), "target_type": _TARGET_TYPES[operation.name]},
            timeout=SYNC_TIMEOUT_SECONDS,
        )

    def read(self, reply: Reply, inputs: dict[str, Any]) -> ProviderResult:
        refused = reply.by_rules(_ERRORS, "", None)
        if refused is not None:
            return refused
        task = reply.raw.get("data") if isinstance(reply.raw, dict) else None
        if reply.status != 200 or not isinstance(task, dict) or not isinstance(task.get("result"), dict):
            return reply.unexpected()
        # From here on the scraper's own result is the raw answer (what the cache keeps).
        result = task["result"]
        answer = replace(reply, raw=result)
        outcome, code = result.get("outcome"), result.get("error_code")
        if outcome == "success":
            values = {name: f.get("value") for name, f in (result.get("fields") or {}).items() if isinstance(f, dict)}
            allowed = reply.operation.supplies
            fields = compact({k: v for k, v in values.items() if k in allowed})
            return answer.success(fields) if fields else answer.no_match()
        if outcome in ("no_data", "refused"):
            # Nothing to find at this address (or not ours to fetch): an answer, and free.
            return answer.no_match(result.get("error"), code)
        error = result.get("error") or "the scraper could not fetch the page"
        return answer.failure(Outcome.TRANSIENT_ERROR, error, code or "scrape_failed")
