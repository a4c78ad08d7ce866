"""Canonical enrichment fields: their names, the normalized input types, and the output models.

Every adapter maps its provider's wire format onto these names, so a waterfall can ask three
providers for `email` and compare like with like. An output model only ever holds canonical
fields; `supplies` of an operation is the set of its output model's field names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class EmailStatus(StrEnum):
    """Deliverability of an email, on Hunter's scale (the richest of the three)."""

    VALID = "valid"
    INVALID = "invalid"
    ACCEPT_ALL = "accept_all"
    WEBMAIL = "webmail"
    DISPOSABLE = "disposable"
    UNKNOWN = "unknown"


CANONICAL_FIELDS: dict[str, str] = {
    "email": "Work email address",
    "email_status": "Deliverability of the email: valid, invalid, accept_all, webmail, disposable, unknown",
    "email_score": "Provider confidence in the email, 0-100",
    "phone": "Phone number",
    "first_name": "Given name",
    "last_name": "Family name",
    "full_name": "Full name",
    "job_title": "Current job title",
    "seniority": "Seniority level (e.g. senior, manager, director, executive)",
    "linkedin_url": "LinkedIn profile URL of the person",
    "location": "Where the person or company is, as 'City, State, Country'",
    "company_name": "Company name",
    "company_domain": "Primary web domain of the company",
    "company_linkedin_url": "LinkedIn page of the company",
    "industry": "Industry of the company",
    "employee_count": "Number of employees (estimate)",
    "company_description": "Short description of the company",
    "founded_year": "Year the company was founded",
    "email_pattern": "The company's email address pattern, e.g. {first}.{last}",
    "emails": "Email addresses found at a domain",
    "ai_answer": "Answer of the language model to the column's prompt",
    # From the scraper (company websites, careers pages, public profiles).
    "phones": "Phone numbers found on the company's website",
    "social_links": "Social profiles of the company, by network (linkedin, twitter, github, ...)",
    "technologies": "Technologies seen on the company's website (scripts, headers)",
    "job_postings_count": "Number of open job postings on the careers page",
    "job_titles": "Titles of the open job postings",
    "headline": "The person's headline on their public profile",
}


_NON_DOMAIN = re.compile(r"[^a-z0-9.-]")


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def normalize_domain(value: str | None) -> str | None:
    """'https://www.Acme.com/about' -> 'acme.com'. A value that is not a domain is rejected."""
    text = _blank_to_none(value)
    if text is None:
        return None
    text = text.lower()
    if "://" not in text:
        text = "//" + text
    host = (urlsplit(text).hostname or "").removeprefix("www.").strip(".")
    if not host or "." not in host or _NON_DOMAIN.search(host):
        raise ValueError("not a domain name, e.g. acme.com")
    return host


def normalize_email(value: str | None) -> str | None:
    text = _blank_to_none(value)
    if text is None:
        return None
    text = text.lower()
    local, _, domain = text.partition("@")
    if not local or not domain or "." not in domain or " " in text:
        raise ValueError("not an email address")
    return text


def normalize_linkedin_url(value: str | None) -> str | None:
    """Keep scheme and host out of the cache key: every spelling of one profile maps to one URL."""
    text = _blank_to_none(value)
    if text is None:
        return None
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if not host.endswith("linkedin.com"):
        raise ValueError("not a LinkedIn URL")
    path = parts.path.rstrip("/")
    if not path:
        raise ValueError("not a LinkedIn profile URL")
    return f"https://www.linkedin.com{path}"


def canonical_linkedin_url(value: object) -> str | None:
    """A provider's LinkedIn URL in the one spelling every provider's answer is compared in."""
    return _normalized_or_none(normalize_linkedin_url, value)


def normalize_text(value: str | None) -> str | None:
    text = _blank_to_none(value)
    return " ".join(text.split()) if text is not None else None


Domain = Annotated[str | None, AfterValidator(normalize_domain)]
Email = Annotated[str | None, AfterValidator(normalize_email)]
LinkedInUrl = Annotated[str | None, AfterValidator(normalize_linkedin_url)]
Text = Annotated[str | None, AfterValidator(normalize_text), Field(max_length=300)]


class InputModel(BaseModel):
    """Inputs of an operation. Unknown keys are ignored: records carry more columns than we need."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class OutputModel(BaseModel):
    """Canonical fields an operation returns; every field is optional (providers know what they know)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonProfileFields(OutputModel):
    """A person as a profile: names, current job and employer (what every person lookup knows)."""

    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    seniority: str | None = None
    linkedin_url: str | None = None
    location: str | None = None
    company_name: str | None = None
    company_domain: str | None = None


class PersonFields(PersonProfileFields):
    """A profile plus how to reach the person."""

    email: str | None = None
    email_status: EmailStatus | None = None
    phone: str | None = None


class CompanyFields(OutputModel):
    company_name: str | None = None
    company_domain: str | None = None
    company_linkedin_url: str | None = None
    industry: str | None = None
    employee_count: int | None = Field(default=None, ge=0)
    company_description: str | None = None
    founded_year: int | None = Field(default=None, ge=1000, le=2100)
    location: str | None = None


def join_location(*parts: Any) -> str | None:
    """'Austin', 'Texas', 'United States' -> 'Austin, Texas, United States' (blank parts skipped)."""
    kept = [str(p).strip() for p in parts if isinstance(p, str | int) and str(p).strip()]
    return ", ".join(kept) or None


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values so 'the provider does not know' is always an absent key, never ''."""
    return {k: v for k, v in fields.items() if v is not None and v != "" and v != [] and v != {}}


# Reading providers' JSON: a value of the wrong type is "the provider does not say", never an error.


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else {} (so nested lookups can chain)."""
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def first_dict(value: Any) -> dict[str, Any]:
    """The first element of a JSON array when it is an object, else {} (errors[0], choices[0])."""
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}


def canonical_domain(value: object) -> str | None:
    """A provider's website or domain as a bare domain (`http://www.acme.com` -> `acme.com`), or None."""
    return _normalized_or_none(normalize_domain, value)


def _normalized_or_none(normalize: Callable[[str | None], str | None], value: object) -> str | None:
    """An output value through an input normalizer; what it refuses is dropped, not an error."""
    if not isinstance(value, str):
        return None
    try:
        return normalize(value)
    except ValueError:
        return None
