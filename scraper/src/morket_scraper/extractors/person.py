"""Public profile pages: schema.org Person (JSON-LD or microdata), else profile-like markup
(h1 name, headline, current company and location elements) and OpenGraph."""

from __future__ import annotations

from typing import Any, ClassVar

from morket_scraper.extractors.base import Parsed, clean
from morket_scraper.fetch import Page
from morket_scraper.models import TargetType

_HEADLINE = (".headline", ".top-card-layout__headline", "[data-field=headline]", ".profile-headline", "h2.title")
_COMPANY = (".company", ".current-company", "[data-field=company]", ".top-card-link--current-company", ".org")
_LOCATION = (".location", "[data-field=location]", ".top-card__subline-item", ".locality")


def _name_of(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return clean(value) if isinstance(value, str) else None


def _location_of(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        nested = value.get("address")
        address: dict[str, Any] = nested if isinstance(nested, dict) else value
        parts = [address.get(k) for k in ("addressLocality", "addressRegion", "addressCountry")]
        kept = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
        return ", ".join(kept) or _name_of(value)
    return None


def split_name(full: str) -> tuple[str | None, str | None]:
    parts = full.split()
    if len(parts) < 2:
        return (parts[0] if parts else None), None
    return parts[0], " ".join(parts[1:])


class PersonExtractor:
    target_type: ClassVar[TargetType] = TargetType.PERSON

    def links_to_follow(self, page: Parsed) -> list[str]:
        return []

    def _first_text(self, main: Parsed, selectors: tuple[str, ...]) -> str | None:
        for selector in selectors:
            node = main.tree.css_first(selector)
            if node is not None:
                text = clean(node.text())
                if text and len(text) <= 300:
                    return text
        return None

    def extract(self, pages: list[Parsed]) -> dict[str, tuple[Any, Page]]:
        main = pages[0]
        values: dict[str, Any] = {}
        people = main.items("Person")
        if people:
            person = people[0]
            values["full_name"] = _name_of(person.get("name"))
            values["first_name"] = _name_of(person.get("givenName"))
            values["last_name"] = _name_of(person.get("familyName"))
            values["headline"] = (
                clean(person.get("description")) if isinstance(person.get("description"), str) else None
            )
            values["job_title"] = _name_of(person.get("jobTitle"))
            values["company_name"] = _name_of(person.get("worksFor"))
            values["location"] = _location_of(person.get("homeLocation") or person.get("address"))
            same_as = person.get("sameAs")
            links = same_as if isinstance(same_as, list) else [same_as]
            values["linkedin_url"] = next(
                (s for s in links if isinstance(s, str) and "linkedin.com/in/" in s.lower()), None
            )
        og = main.opengraph()
        has_profile_markup = og.get("og:type") == "profile" or main.tree.css_first(",".join(_HEADLINE)) is not None
        if not people and not has_profile_markup:
            return {}
        if not values.get("full_name"):
            h1 = main.tree.css_first("h1")
            values["full_name"] = (clean(h1.text()) if h1 is not None else None) or clean(og.get("og:title"))
        values["headline"] = values.get("headline") or self._first_text(main, _HEADLINE)
        values["company_name"] = values.get("company_name") or self._first_text(main, _COMPANY)
        values["location"] = values.get("location") or self._first_text(main, _LOCATION)
        if values.get("full_name") and not values.get("first_name"):
            values["first_name"], values["last_name"] = split_name(values["full_name"])
        if not values.get("job_title") and values.get("headline"):
            # "VP Sales at Acme" -> job title "VP Sales"
            head = values["headline"]
            values["job_title"] = clean(head.split(" at ", 1)[0]) if " at " in head else None
        if not values.get("full_name"):
            return {}
        return {k: (v, main.page) for k, v in values.items() if v not in (None, "", [])}
