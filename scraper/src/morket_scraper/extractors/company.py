"""Company websites: JSON-LD/microdata Organization or LocalBusiness, OpenGraph, meta description,
emails, phones and social links (from the page and its contact/about pages), technology hints."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from morket_scraper.extractors.base import Parsed, clean, same_site
from morket_scraper.fetch import Page
from morket_scraper.models import TargetType

_ORG_TYPES = ("Organization", "Corporation", "LocalBusiness", "Store", "Restaurant", "ProfessionalService", "NGO")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{7,18}\d(?!\w)")
_ASSET_SUFFIX = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".css", ".js")
_SOCIAL = {
    "linkedin": ("linkedin.com/company/", "linkedin.com/school/"),
    "twitter": ("twitter.com/", "x.com/"),
    "facebook": ("facebook.com/",),
    "instagram": ("instagram.com/",),
    "youtube": ("youtube.com/",),
    "github": ("github.com/",),
}
# (technology, where to look: "script" src/inline, "header" value, "generator" meta, "html")
_TECH: list[tuple[str, str, re.Pattern[str]]] = [
    ("Google Analytics", "script", re.compile(r"google-analytics\.com|googletagmanager\.com/gtag|gtag\(")),
    ("Google Tag Manager", "script", re.compile(r"googletagmanager\.com/gtm\.js|GTM-[A-Z0-9]+")),
    ("Segment", "script", re.compile(r"cdn\.segment\.com|analytics\.load\(")),
    ("HubSpot", "script", re.compile(r"js\.hs-scripts\.com|js\.hsforms\.net|hs-analytics")),
    ("Intercom", "script", re.compile(r"widget\.intercom\.io|intercomSettings")),
    ("Stripe", "script", re.compile(r"js\.stripe\.com")),
    ("Hotjar", "script", re.compile(r"static\.hotjar\.com")),
    ("jQuery", "script", re.compile(r"jquery[.-][\d.]*(min\.)?js|jquery\.min\.js")),
    ("React", "html", re.compile(r"data-reactroot|react(-dom)?(\.production)?(\.min)?\.js|__REACT")),
    ("Next.js", "html", re.compile(r"__NEXT_DATA__|/_next/static/")),
    ("Vue.js", "html", re.compile(r"vue(\.runtime)?(\.global)?(\.min)?\.js|data-v-[0-9a-f]{6}")),
    ("Angular", "html", re.compile(r"ng-version=|angular(\.min)?\.js")),
    ("WordPress", "html", re.compile(r"/wp-content/|/wp-includes/")),
    ("Shopify", "html", re.compile(r"cdn\.shopify\.com|Shopify\.theme")),
    ("Webflow", "html", re.compile(r"webflow\.js|data-wf-page")),
    ("Cloudflare", "header", re.compile(r"cloudflare", re.I)),
    ("nginx", "header", re.compile(r"nginx", re.I)),
    ("Apache", "header", re.compile(r"apache", re.I)),
    ("PHP", "header", re.compile(r"php", re.I)),
    ("Express", "header", re.compile(r"express", re.I)),
]
_FOLLOW_WORDS = ("contact", "about", "impressum", "team", "company")


def _first(item: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        value = item.get(k)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("@value") or value.get("name") or value.get("url") or value.get("@id")
        if value not in (None, ""):
            return value
    return None


def _address(item: dict[str, Any]) -> str | None:
    address = item.get("address")
    if isinstance(address, list):
        address = address[0] if address else None
    if isinstance(address, str):
        return clean(address)
    if isinstance(address, dict):
        parts = [address.get("addressLocality"), address.get("addressRegion"), address.get("addressCountry")]
        kept = []
        for part in parts:
            if isinstance(part, dict):
                part = part.get("name")
            if isinstance(part, str) and part.strip():
                kept.append(part.strip())
        return ", ".join(kept) or None
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("value") or value.get("minValue") or value.get("maxValue")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        digits = re.match(r"\s*(\d{1,9})", value.replace(",", ""))
        return int(digits.group(1)) if digits else None
    return None


def normalize_phone(raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw)
    if not 8 <= len(digits) <= 15:
        return None
    return ("+" if raw.strip().startswith("+") else "") + digits


def emails_in(parsed: Parsed) -> list[str]:
    found: list[str] = []
    for href, _ in parsed.links():
        if href.lower().startswith("mailto:"):
            found.append(unquote(href[7:].split("?", 1)[0]))
    found += _EMAIL.findall(parsed.text())
    out: list[str] = []
    for email in found:
        value = email.strip().lower()
        if value and not value.endswith(_ASSET_SUFFIX) and _EMAIL.fullmatch(value) and value not in out:
            out.append(value)
    return out


def phones_in(parsed: Parsed) -> list[str]:
    raw = [href[4:] for href, _ in parsed.links() if href.lower().startswith("tel:")]
    for node in parsed.tree.css("[itemprop=telephone]"):
        raw.append(node.text())
    text = parsed.text()
    # Only numbers next to a phone word, or in international form: dates and prices look alike.
    for match in _PHONE.finditer(text):
        before = text[max(0, match.start() - 25) : match.start()].lower()
        if match.group().startswith("+") or any(w in before for w in ("phone", "tel", "call", "fax", "mobile")):
            raw.append(match.group())
    out: list[str] = []
    for value in raw:
        phone = normalize_phone(unquote(value))
        if phone and phone not in out:
            out.append(phone)
    return out


def socials_in(parsed: Parsed, extra: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for url in [*extra, *(href for href, _ in parsed.links())]:
        lowered = url.lower()
        for network, needles in _SOCIAL.items():
            if network not in out and any(f"//{n}" in lowered or f".{n}" in lowered for n in needles):
                path = urlsplit(url).path.strip("/")
                if path and not path.startswith(("share", "intent", "sharer")):
                    out[network] = url.split("?", 1)[0].rstrip("/")
    return out


def technologies_in(parsed: Parsed) -> list[str]:
    scripts = " ".join(
        (node.attributes.get("src") or "") + " " + (node.text() if not node.attributes.get("src") else "")
        for node in parsed.tree.css("script")
    )
    headers = " ".join(parsed.page.headers.get(h, "") for h in ("server", "x-powered-by", "via"))
    generator = parsed.meta("generator") or ""
    html = parsed.page.html
    found: list[str] = []
    for name, where, pattern in _TECH:
        haystack = {"script": scripts, "header": headers, "html": html}[where]
        if pattern.search(haystack) and name not in found:
            found.append(name)
    product = clean(generator.split(" ")[0]) if generator else None
    if product and product not in found:
        found.append(product)
    return found


class CompanyExtractor:
    target_type: ClassVar[TargetType] = TargetType.COMPANY

    def links_to_follow(self, page: Parsed) -> list[str]:
        out: list[str] = []
        for href, text in page.links():
            if not href.startswith(("http://", "https://")) or not same_site(href, page.page.final_url):
                continue
            path = urlsplit(href).path.lower()
            label = text.lower()
            if any(w in path or w in label for w in _FOLLOW_WORDS):
                target = href.split("#", 1)[0]
                if target.rstrip("/") != page.page.final_url.rstrip("/") and target not in out:
                    out.append(target)
        return out[:3]

    def extract(self, pages: list[Parsed]) -> dict[str, tuple[Any, Page]]:
        main = pages[0]
        found: dict[str, tuple[Any, Page]] = {}

        def put(name: str, value: Any, page: Page) -> None:
            if value not in (None, "", [], {}) and name not in found:
                found[name] = (value, page)

        for parsed in pages:
            for org in parsed.items(*_ORG_TYPES):
                put("company_name", clean(_first(org, "name", "legalName")), parsed.page)
                put("company_description", clean(_first(org, "description")), parsed.page)
                put("founded_year", _int(_first(org, "foundingDate")), parsed.page)
                put("employee_count", _int(org.get("numberOfEmployees")), parsed.page)
                put("industry", clean(_first(org, "industry", "knowsAbout")), parsed.page)
                put("location", _address(org), parsed.page)
                same_as = org.get("sameAs")
                links = [s for s in (same_as if isinstance(same_as, list) else [same_as]) if isinstance(s, str)]
                linkedin = next((s for s in links if "linkedin.com/company/" in s.lower()), None)
                put("company_linkedin_url", linkedin, parsed.page)
                email = _first(org, "email")
                if isinstance(email, str):
                    put("_org_email", email.removeprefix("mailto:").lower(), parsed.page)
                phone = _first(org, "telephone")
                if isinstance(phone, str):
                    put("_org_phone", normalize_phone(phone), parsed.page)
                put("_same_as", links, parsed.page)
        og = main.opengraph()
        put("company_name", clean(og.get("og:site_name")), main.page)
        put("company_description", clean(og.get("og:description")) or main.meta("description"), main.page)
        host = urlsplit(main.page.final_url).hostname or ""
        put("company_domain", host.removeprefix("www.") or None, main.page)

        emails: list[tuple[str, Page]] = []
        phones: list[tuple[str, Page]] = []
        if "_org_email" in found:
            emails.append((found["_org_email"][0], found["_org_email"][1]))
        if "_org_phone" in found:
            phones.append((found["_org_phone"][0], found["_org_phone"][1]))
        socials: dict[str, str] = {}
        social_page = main.page
        same_as_links = found.get("_same_as", ([], main.page))[0]
        for parsed in pages:
            emails += [(e, parsed.page) for e in emails_in(parsed) if e not in {x for x, _ in emails}]
            phones += [(p, parsed.page) for p in phones_in(parsed) if p not in {x for x, _ in phones}]
            for network, url in socials_in(parsed, same_as_links if parsed is main else []).items():
                if network not in socials:
                    socials[network] = url
                    social_page = parsed.page if not socials or len(socials) == 1 else social_page
        if emails:
            found["emails"] = ([{"email": e} for e, _ in emails], emails[0][1])
        if phones:
            found["phones"] = ([p for p, _ in phones], phones[0][1])
            found["phone"] = (phones[0][0], phones[0][1])
        if socials:
            found["social_links"] = (socials, social_page)
            if "company_linkedin_url" not in found and "linkedin" in socials:
                found["company_linkedin_url"] = (socials["linkedin"], social_page)
        technologies = technologies_in(main)
        if technologies:
            found["technologies"] = (technologies, main.page)
        for private in ("_org_email", "_org_phone", "_same_as"):
            found.pop(private, None)
        # The domain is what we were asked about and a server header is on every page: neither is data.
        if set(found) <= {"company_domain", "technologies"}:
            return {}
        return found
