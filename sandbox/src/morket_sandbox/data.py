"""Deterministic fake people and companies shared by every emulated provider.

Every value derives from a hash of the normalized input, so a person or company is the same in
every provider, process and run. Hit/miss decisions hash the same identity with a per-lookup salt:
each provider misses a different, fixed subset, which is what makes a waterfall worth running.
Tests import these functions to compute the values they expect.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from faker import Faker


class Lookup(StrEnum):
    APOLLO_PERSON = "apollo.person"
    APOLLO_ORGANIZATION = "apollo.organization"
    CLEARBIT_PERSON = "clearbit.person"
    CLEARBIT_COMPANY = "clearbit.company"
    CLEARBIT_DOMAIN = "clearbit.domain"
    HUNTER_EMAIL_FINDER = "hunter.email_finder"
    HUNTER_DOMAIN_SEARCH = "hunter.domain_search"


HIT_RATES: Mapping[Lookup, float] = MappingProxyType(
    {
        Lookup.APOLLO_PERSON: 0.75,
        Lookup.APOLLO_ORGANIZATION: 0.90,
        Lookup.CLEARBIT_PERSON: 0.55,
        Lookup.CLEARBIT_COMPANY: 0.85,
        Lookup.CLEARBIT_DOMAIN: 0.80,
        Lookup.HUNTER_EMAIL_FINDER: 0.60,
        Lookup.HUNTER_DOMAIN_SEARCH: 0.80,
    }
)

WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
    }
)
DISPOSABLE_DOMAINS = frozenset(
    {"mailinator.com", "guerrillamail.com", "10minutemail.com", "tempmail.com", "yopmail.com", "trashmail.com"}
)

# Hunter returns these statuses for any address at these domains; `.test` is reserved, so no
# real-looking input can trigger them by accident.
SMTP_FAILURE_DOMAIN = "smtp-failure.test"
RESTRICTED_DOMAIN = "restricted.test"


# --- hashing -------------------------------------------------------------------------------


def stable_hash(*parts: str) -> int:
    """A 64-bit hash that, unlike hash(), is the same in every process."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fraction(*parts: str) -> float:
    """A deterministic number in [0, 1) for the given parts."""
    return stable_hash(*parts) / 2**64


def is_hit(lookup: Lookup, key: str) -> bool:
    """Whether the provider behind `lookup` knows the record identified by `key`."""
    return fraction("hit", lookup.value, key) < HIT_RATES[lookup]


def hex_id(namespace: str, key: str, length: int = 24) -> str:
    return hashlib.blake2b(f"{namespace}\x1f{key}".encode(), digest_size=(length + 1) // 2).hexdigest()[:length]


def uuid_id(namespace: str, key: str) -> str:
    return str(uuid.UUID(bytes=hashlib.blake2b(f"{namespace}\x1f{key}".encode(), digest_size=16).digest()))


def _rng(*parts: str) -> random.Random:
    return random.Random(stable_hash(*parts))


_local = threading.local()


def seeded_faker(seed: int) -> Faker:
    """This thread's Faker, reseeded: use its output before calling here again."""
    # Building a Faker costs ~20 ms, reseeding costs microseconds; one per thread keeps a test
    # thread and the server thread from reseeding each other's instance mid-generation.
    fake: Faker | None = getattr(_local, "faker", None)
    if fake is None:
        fake = Faker("en_US")
        _local.faker = fake
    fake.seed_instance(seed)
    return fake


# --- normalization -------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")
_LEGAL_SUFFIXES = frozenset({"inc", "llc", "ltd", "corp", "corporation", "co", "gmbh", "sa", "plc", "limited"})
_SMALL_WORDS = frozenset({"and", "of", "the", "for"})


def normalize_email(value: str | None) -> str | None:
    """Lower-cased, trimmed email, or None when it is not shaped like an email."""
    if not value:
        return None
    email = value.strip().lower()
    return email if _EMAIL_RE.match(email) else None


def normalize_domain(value: str | None) -> str:
    """`https://www.Acme.com/about` -> `acme.com`; an email gives its domain; "" when empty."""
    if not value:
        return ""
    domain = value.strip().lower()
    if "@" in domain and "/" not in domain:
        domain = domain.rsplit("@", 1)[1]
    domain = _SCHEME_RE.sub("", domain)
    domain = domain.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].rstrip(".")
    return domain.removeprefix("www.")


def ascii_token(value: str) -> str:
    """`José-María` -> `josemaria`: the form that goes into an email address."""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def display_name(value: str) -> str:
    """Title-case names typed all in one case; keep deliberate casing such as `McDonald`."""
    name = " ".join(value.split())
    return name.title() if name.islower() or name.isupper() else name


def split_full_name(full_name: str) -> tuple[str, str]:
    parts = full_name.split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    return parts[0], " ".join(parts[1:])


def is_webmail(domain: str) -> bool:
    return normalize_domain(domain) in WEBMAIL_DOMAINS


def is_disposable(domain: str) -> bool:
    return normalize_domain(domain) in DISPOSABLE_DOMAINS


def is_plausible_domain(domain: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+", domain))


# --- reference lists -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class City:
    city: str
    state: str
    state_code: str
    country: str
    country_code: str
    time_zone: str
    utc_offset: int
    lat: float
    lng: float


_US_CITIES = (
    City("San Francisco", "California", "CA", "United States", "US", "America/Los_Angeles", -8, 37.7749, -122.4194),
    City("New York", "New York", "NY", "United States", "US", "America/New_York", -5, 40.7128, -74.006),
    City("Austin", "Texas", "TX", "United States", "US", "America/Chicago", -6, 30.2672, -97.7431),
    City("Boston", "Massachusetts", "MA", "United States", "US", "America/New_York", -5, 42.3601, -71.0589),
    City("Seattle", "Washington", "WA", "United States", "US", "America/Los_Angeles", -8, 47.6062, -122.3321),
    City("Chicago", "Illinois", "IL", "United States", "US", "America/Chicago", -6, 41.8781, -87.6298),
    City("Denver", "Colorado", "CO", "United States", "US", "America/Denver", -7, 39.7392, -104.9903),
    City("Atlanta", "Georgia", "GA", "United States", "US", "America/New_York", -5, 33.749, -84.388),
    City("Los Angeles", "California", "CA", "United States", "US", "America/Los_Angeles", -8, 34.0522, -118.2437),
    City("Miami", "Florida", "FL", "United States", "US", "America/New_York", -5, 25.7617, -80.1918),
)
_WORLD_CITIES = (
    City("London", "England", "ENG", "United Kingdom", "GB", "Europe/London", 0, 51.5074, -0.1278),
    City("Berlin", "Berlin", "BE", "Germany", "DE", "Europe/Berlin", 1, 52.52, 13.405),
    City("Paris", "Île-de-France", "IDF", "France", "FR", "Europe/Paris", 1, 48.8566, 2.3522),
    City("Toronto", "Ontario", "ON", "Canada", "CA", "America/Toronto", -5, 43.6532, -79.3832),
    City("Amsterdam", "North Holland", "NH", "Netherlands", "NL", "Europe/Amsterdam", 1, 52.3676, 4.9041),
    City("Sydney", "New South Wales", "NSW", "Australia", "AU", "Australia/Sydney", 10, -33.8688, 151.2093),
    City("Bengaluru", "Karnataka", "KA", "India", "IN", "Asia/Kolkata", 5, 12.9716, 77.5946),
    City("Tel Aviv", "Tel Aviv District", "TA", "Israel", "IL", "Asia/Jerusalem", 2, 32.0853, 34.7818),
    City("Dublin", "Leinster", "L", "Ireland", "IE", "Europe/Dublin", 0, 53.3498, -6.2603),
    City("Singapore", "Singapore", "SG", "Singapore", "SG", "Asia/Singapore", 8, 1.3521, 103.8198),
)


def _pick_city(rng: random.Random) -> City:
    return rng.choice(_US_CITIES) if rng.random() < 0.6 else rng.choice(_WORLD_CITIES)


@dataclass(frozen=True, slots=True)
class Industry:
    name: str  # Apollo's lower-case label; Clearbit shows it title-cased
    sector: str
    tags: tuple[str, ...]


INDUSTRIES = (
    Industry("information technology & services", "Information Technology", ("Technology", "B2B", "IT Services")),
    Industry("computer software", "Information Technology", ("SaaS", "B2B", "Software")),
    Industry("internet", "Information Technology", ("Internet", "B2C", "Marketplace")),
    Industry("marketing & advertising", "Consumer Discretionary", ("Marketing", "Advertising", "B2B")),
    Industry("financial services", "Financials", ("Finance", "Fintech", "B2B")),
    Industry("insurance", "Financials", ("Insurance", "B2C")),
    Industry("hospital & health care", "Health Care", ("Health Care", "B2C")),
    Industry("biotechnology", "Health Care", ("Biotechnology", "Life Sciences")),
    Industry("retail", "Consumer Discretionary", ("E-commerce", "Retail", "B2C")),
    Industry("staffing & recruiting", "Industrials", ("Recruiting", "HR", "B2B")),
    Industry("management consulting", "Industrials", ("Consulting", "Professional Services", "B2B")),
    Industry("logistics & supply chain", "Industrials", ("Logistics", "Transportation", "B2B")),
    Industry("real estate", "Real Estate", ("Real Estate", "PropTech")),
    Industry("education management", "Consumer Discretionary", ("Education", "EdTech")),
    Industry("telecommunications", "Telecommunication Services", ("Telecommunications", "B2B")),
)

# (slug as Clearbit shows it, name as Apollo shows it, category)
TECHNOLOGIES = (
    ("salesforce", "Salesforce", "CRM"),
    ("hubspot", "HubSpot", "Marketing Automation"),
    ("google_analytics", "Google Analytics", "Analytics"),
    ("segment", "Segment", "Analytics"),
    ("stripe", "Stripe", "Payments"),
    ("aws", "Amazon AWS", "Hosting"),
    ("slack", "Slack", "Communications"),
    ("zendesk", "Zendesk", "Customer Support"),
    ("intercom", "Intercom", "Customer Support"),
    ("marketo", "Marketo", "Marketing Automation"),
    ("gong", "Gong", "Sales Intelligence"),
    ("outreach", "Outreach", "Sales Engagement"),
    ("snowflake", "Snowflake", "Data Warehouse"),
    ("datadog", "Datadog", "Monitoring"),
    ("cloudflare", "Cloudflare", "CDN"),
    ("google_workspace", "Google Workspace", "Email Providers"),
)

# Neutral seniority and department keys; each provider maps them onto its own vocabulary.
TITLES = (
    ("Chief Executive Officer", "c_suite", "executive"),
    ("Co-Founder & CEO", "founder", "executive"),
    ("Chief Operating Officer", "c_suite", "operations"),
    ("Chief Revenue Officer", "c_suite", "sales"),
    ("VP of Sales", "vp", "sales"),
    ("Head of Sales", "head", "sales"),
    ("Director of Sales", "director", "sales"),
    ("Sales Manager", "manager", "sales"),
    ("Account Executive", "senior", "sales"),
    ("Senior Account Executive", "senior", "sales"),
    ("Sales Development Representative", "entry", "sales"),
    ("Business Development Representative", "entry", "sales"),
    ("Chief Marketing Officer", "c_suite", "marketing"),
    ("VP of Marketing", "vp", "marketing"),
    ("Head of Growth", "head", "marketing"),
    ("Demand Generation Manager", "manager", "marketing"),
    ("Product Marketing Manager", "manager", "marketing"),
    ("Marketing Coordinator", "entry", "marketing"),
    ("Chief Technology Officer", "c_suite", "engineering"),
    ("VP of Engineering", "vp", "engineering"),
    ("Engineering Manager", "manager", "engineering"),
    ("Senior Software Engineer", "senior", "engineering"),
    ("Software Engineer", "entry", "engineering"),
    ("Data Engineer", "senior", "engineering"),
    ("Head of Product", "head", "product"),
    ("Senior Product Manager", "senior", "product"),
    ("Product Manager", "manager", "product"),
    ("Chief Financial Officer", "c_suite", "finance"),
    ("Controller", "director", "finance"),
    ("Financial Analyst", "entry", "finance"),
    ("VP of People", "vp", "human_resources"),
    ("Talent Acquisition Manager", "manager", "human_resources"),
    ("Recruiter", "entry", "human_resources"),
    ("Revenue Operations Manager", "manager", "operations"),
    ("Director of Customer Success", "director", "customer_success"),
    ("Customer Success Manager", "manager", "customer_success"),
)

# (stage, smallest and largest total raised in $M)
FUNDING_STAGES = (
    ("Seed", 1, 4),
    ("Series A", 5, 20),
    ("Series B", 20, 60),
    ("Series C", 50, 150),
    ("Series D", 100, 400),
)

# Hunter's pattern syntax, weighted roughly like real company conventions.
EMAIL_PATTERNS = (
    ("{first}.{last}", 40),
    ("{f}{last}", 20),
    ("{first}", 15),
    ("{first}{l}", 8),
    ("{first}{last}", 7),
    ("{first}_{last}", 5),
    ("{last}", 5),
)


# --- companies -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Company:
    domain: str
    name: str
    legal_name: str
    industry: Industry
    description: str
    founded_year: int
    employees: int
    annual_revenue: int
    total_funding: int | None
    funding_stage: str | None
    latest_funding_date: str | None
    technologies: tuple[tuple[str, str, str], ...]
    keywords: tuple[str, ...]
    city: City
    phone: str
    linkedin_slug: str
    twitter_handle: str | None
    email_pattern: str
    accept_all: bool
    apollo_id: str
    clearbit_id: str

    @property
    def employees_range(self) -> str:
        return employees_range(self.employees)

    @property
    def revenue_range(self) -> str:
        return revenue_range(self.annual_revenue)


def employees_range(employees: int) -> str:
    """Clearbit's `metrics.employeesRange` buckets."""
    for upper, label in ((10, "1-10"), (50, "11-50"), (250, "51-250"), (1000, "251-1K"), (5000, "1K-5K")):
        if employees <= upper:
            return label
    for upper, label in ((10_000, "5K-10K"), (50_000, "10K-50K"), (100_000, "50K-100K")):
        if employees <= upper:
            return label
    return "100K+"


def revenue_range(revenue: int) -> str:
    """Clearbit's `metrics.estimatedAnnualRevenue` buckets."""
    million = 1_000_000
    buckets = ((10, "$1M-$10M"), (50, "$10M-$50M"), (100, "$50M-$100M"), (250, "$100M-$250M"))
    for upper, label in buckets:
        if revenue < upper * million:
            return "$0-$1M" if revenue < million else label
    for upper, label in ((500, "$250M-$500M"), (1000, "$500M-$1B"), (10_000, "$1B-$10B")):
        if revenue < upper * million:
            return label
    return "$10B+"


def email_pattern(domain: str) -> str:
    """The company's email convention in Hunter's syntax, e.g. `{first}.{last}`."""
    draw = fraction("pattern", normalize_domain(domain)) * sum(weight for _, weight in EMAIL_PATTERNS)
    for pattern, weight in EMAIL_PATTERNS:
        draw -= weight
        if draw < 0:
            return pattern
    return EMAIL_PATTERNS[0][0]


def render_email_pattern(pattern: str, first_name: str, last_name: str) -> str:
    first, last = ascii_token(first_name), ascii_token(last_name)
    if not first or not last:
        return first or last
    return pattern.replace("{first}", first).replace("{last}", last).replace("{f}", first[0]).replace("{l}", last[0])


def email_for(first_name: str, last_name: str, domain: str) -> str:
    """The address a person has at `domain`, following that domain's pattern."""
    domain = normalize_domain(domain)
    return f"{render_email_pattern(email_pattern(domain), first_name, last_name)}@{domain}"


def company_name_from_domain(domain: str) -> str:
    label = normalize_domain(domain).split(".", 1)[0]
    if len(label) <= 3:
        return label.upper()
    words = [word for word in label.split("-") if word]
    return " ".join(word if word in _SMALL_WORDS and i else word.capitalize() for i, word in enumerate(words))


def domain_for_company_name(name: str) -> str:
    """`Acme Corp, Inc.` -> `acme.com`; the inverse of the name shown for a domain."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = [word for word in re.split(r"[^a-z0-9]+", plain) if word]
    while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    return f"{'-'.join(words) or 'unknown'}.com"


def company_for_domain(domain: str) -> Company:
    """The company behind `domain` (any URL or email form is accepted)."""
    return _company(normalize_domain(domain))


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


@lru_cache(maxsize=16_384)
def _company(domain: str) -> Company:
    rng = _rng("company", domain)
    fake = seeded_faker(stable_hash("company-faker", domain))
    name = company_name_from_domain(domain)
    industry = rng.choice(INDUSTRIES)
    employees = max(2, min(250_000, int(rng.lognormvariate(4.2, 1.6))))
    founded_year = rng.randint(1950, 2022) if employees > 1000 else rng.randint(1995, 2023)
    annual_revenue = int(employees * rng.uniform(80_000, 320_000))
    funded = employees < 5000 and rng.random() < 0.6
    stage, low, high = FUNDING_STAGES[max(0, min(len(FUNDING_STAGES) - 1, int(employees**0.3) - 2))]
    technologies = tuple(sorted(rng.sample(TECHNOLOGIES, rng.randint(3, 8))))
    keywords = tuple(dict.fromkeys(tag.lower() for tag in (*industry.tags, fake.bs().split()[-1])))
    return Company(
        domain=domain,
        name=name,
        legal_name=name + rng.choice((" Inc.", ", Inc.", " LLC", " Ltd.", " Corp.")),
        industry=industry,
        description=f"{name} is {_article(industry.name)} {industry.name} company. {fake.catch_phrase()}.",
        founded_year=founded_year,
        employees=employees,
        annual_revenue=annual_revenue,
        total_funding=rng.randint(low, high) * 1_000_000 if funded else None,
        funding_stage=stage if funded else None,
        latest_funding_date=f"{rng.randint(2018, 2024)}-{rng.randint(1, 12):02d}-01" if funded else None,
        technologies=technologies,
        keywords=keywords,
        city=_pick_city(rng),
        phone=f"+1 555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        linkedin_slug=domain.split(".", 1)[0],
        twitter_handle=domain.split(".", 1)[0].replace("-", "") if rng.random() < 0.7 else None,
        email_pattern=email_pattern(domain),
        accept_all=rng.random() < 0.12,
        apollo_id=hex_id("apollo-organization", domain),
        clearbit_id=uuid_id("clearbit-company", domain),
    )


# --- people --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    key: str  # the normalized email: the identity every provider agrees on
    email: str
    first_name: str
    last_name: str
    domain: str  # the employer's domain; differs from the email's for webmail addresses
    title: str
    seniority: str
    department: str
    city: City
    linkedin_handle: str
    twitter_handle: str | None
    github_handle: str | None
    email_status: str  # Apollo's view: verified | likely to engage | unavailable
    started_on: str
    previous_employer: str
    previous_title: str
    apollo_id: str
    clearbit_id: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def company(self) -> Company:
        return company_for_domain(self.domain)


def person_from_name(first_name: str, last_name: str, domain: str) -> Person:
    """The person called first/last at `domain`; their email follows the domain's pattern."""
    domain = normalize_domain(domain)
    email = email_for(first_name, last_name, domain)
    return _person(email, display_name(first_name), display_name(last_name), domain, None)


def person_from_email(email: str) -> Person:
    """The person behind `email`. Names come from a `first.last`-style local part when there is one."""
    key = normalize_email(email)
    if key is None:
        raise ValueError(f"not an email address: {email!r}")
    local, domain = key.rsplit("@", 1)
    parsed = re.fullmatch(r"([a-z]{2,})[._-]([a-z]{2,})", local)
    if parsed:
        first, last = display_name(parsed[1]), display_name(parsed[2])
    else:
        fake = seeded_faker(stable_hash("email-name", key))
        first, last = fake.first_name(), fake.last_name()
    work_domain = _employer_domain("webmail", key) if domain in WEBMAIL_DOMAINS else domain
    return _person(key, first, last, work_domain, None)


def linkedin_handle(url: str) -> str | None:
    match = re.search(r"linkedin\.com/in/([^/?#]+)", url, re.IGNORECASE)
    return match[1].lower() if match else None


def person_from_linkedin(url: str) -> Person | None:
    """The person behind a LinkedIn profile URL, None when the URL has no /in/ handle."""
    handle = linkedin_handle(url)
    if handle is None:
        return None
    fake = seeded_faker(stable_hash("linkedin-name", handle))
    first, last = fake.first_name(), fake.last_name()
    domain = _employer_domain("linkedin", handle)
    return _person(email_for(first, last, domain), first, last, domain, handle)


def _employer_domain(*seed: str) -> str:
    return domain_for_company_name(seeded_faker(stable_hash("employer", *seed)).company())


@lru_cache(maxsize=32_768)
def _person(key: str, first_name: str, last_name: str, domain: str, linkedin: str | None) -> Person:
    rng = _rng("person", key)
    company = company_for_domain(domain)
    title, seniority, department = rng.choice(TITLES)
    first, last = ascii_token(first_name), ascii_token(last_name)
    status_draw = rng.random()
    started_year = rng.randint(max(company.founded_year, 2008), 2024)
    previous_title = rng.choice([t for t, _, d in TITLES if d == department])
    return Person(
        key=key,
        email=key,
        first_name=first_name,
        last_name=last_name,
        domain=domain,
        title=title,
        seniority=seniority,
        department=department,
        city=company.city if rng.random() < 0.7 else _pick_city(rng),
        linkedin_handle=linkedin or f"{first}-{last}-{rng.getrandbits(24):06x}".strip("-"),
        twitter_handle=f"{first}{last}{rng.randint(1, 99)}" if rng.random() < 0.3 else None,
        github_handle=f"{first}{last}" if department == "engineering" and rng.random() < 0.5 else None,
        email_status="verified" if status_draw < 0.8 else "likely to engage" if status_draw < 0.92 else "unavailable",
        started_on=f"{started_year}-{rng.randint(1, 12):02d}-01",
        previous_employer=seeded_faker(stable_hash("previous-employer", key)).company(),
        previous_title=previous_title,
        apollo_id=hex_id("apollo-person", key),
        clearbit_id=uuid_id("clearbit-person", key),
    )


def company_employees(domain: str) -> tuple[Person, ...]:
    """The people a data provider knows at `domain`, the same list for every provider."""
    return _employees(normalize_domain(domain))


@lru_cache(maxsize=2048)
def _employees(domain: str) -> tuple[Person, ...]:
    if domain in WEBMAIL_DOMAINS or not is_plausible_domain(domain):
        return ()
    size = min(50, 2 + company_for_domain(domain).employees // 20)
    people: dict[str, Person] = {}
    for index in range(size):
        fake = seeded_faker(stable_hash("employee", domain, str(index)))
        person = person_from_name(fake.first_name(), fake.last_name(), domain)
        people.setdefault(person.key, person)
    return tuple(people.values())


# --- email verification --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailVerification:
    email: str
    status: str  # valid | invalid | accept_all | webmail | disposable | unknown
    score: int
    regexp: bool
    gibberish: bool
    disposable: bool
    webmail: bool
    mx_records: bool
    smtp_server: bool
    smtp_check: bool
    accept_all: bool
    block: bool


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{first\}|\{last\}|\{f\}|\{l\})", pattern)
    tokens = {"{first}": "[a-z0-9]+", "{last}": "[a-z0-9]+", "{f}": "[a-z0-9]", "{l}": "[a-z0-9]"}
    return re.compile("".join(tokens.get(part, re.escape(part)) for part in parts))


def verify_email(email: str) -> EmailVerification:
    """What Hunter's email-verifier says about `email`.

    Addresses that follow their domain's pattern are mostly valid and the others mostly invalid,
    so guessing the wrong pattern is punished the way real verification punishes it.
    """
    normalized = (email or "").strip().lower()
    if normalize_email(normalized) is None:
        return EmailVerification(
            normalized, "invalid", 0, False, False, False, False, False, False, False, False, False
        )
    local, domain = normalized.rsplit("@", 1)
    webmail, disposable = domain in WEBMAIL_DOMAINS, domain in DISPOSABLE_DOMAINS
    gibberish = bool(re.search(r"[bcdfghjklmnpqrstvwxz]{5,}", local))
    draw = fraction("verify", normalized)
    accept_all = False
    if disposable:
        status, score = "disposable", 40
    elif webmail:
        status, score = "webmail", 60 + int(draw * 30)
    elif is_plausible_domain(domain) and company_for_domain(domain).accept_all:
        status, score, accept_all = "accept_all", 70 + int(draw * 20), True
    else:
        follows_pattern = _pattern_regex(email_pattern(domain)).fullmatch(local) is not None
        valid_share = 0.92 if follows_pattern else 0.15
        if draw < valid_share:
            status, score = "valid", 85 + int(draw * 100) % 15
        elif draw < valid_share + (0.05 if follows_pattern else 0.7):
            status, score = "invalid", int(draw * 100) % 20
        else:
            status, score = "unknown", 40 + int(draw * 100) % 20
    deliverable = status not in {"invalid", "disposable"}
    return EmailVerification(
        email=normalized,
        status=status,
        score=score,
        regexp=True,
        gibberish=gibberish,
        disposable=disposable,
        webmail=webmail,
        mx_records=deliverable,
        smtp_server=deliverable,
        smtp_check=status in {"valid", "webmail"},
        accept_all=accept_all,
        block=False,
    )
