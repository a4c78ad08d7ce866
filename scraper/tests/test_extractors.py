"""Each extractor on realistic pages: JSON-LD, microdata, OpenGraph, none at all, broken markup."""

from __future__ import annotations

from typing import Any

from morket_scraper.extractors import EXTRACTORS
from morket_scraper.extractors.base import Parsed
from morket_scraper.fetch import Page
from morket_scraper.models import TargetType
from tests import pages


def parsed(html: str, url: str = "https://acme.example/", headers: dict[str, str] | None = None) -> Parsed:
    return Parsed(Page(url=url, final_url=url, status=200, html=html, headers=headers or {}))


def values(target: TargetType, *docs: Parsed) -> dict[str, Any]:
    return {k: v for k, (v, _) in EXTRACTORS[target].extract(list(docs)).items()}


def test_company_json_ld_with_contact_and_about_pages() -> None:
    main = parsed(pages.COMPANY_JSONLD, headers={"server": "nginx/1.25"})
    follow = EXTRACTORS[TargetType.COMPANY].links_to_follow(main)
    assert follow == ["https://acme.example/about", "https://acme.example/contact"]
    contact = parsed(pages.CONTACT_PAGE, "https://acme.example/contact")
    about = parsed(pages.ABOUT_PAGE, "https://acme.example/about")
    found = EXTRACTORS[TargetType.COMPANY].extract([main, about, contact])
    got = {k: v for k, (v, _) in found.items()}
    assert got["company_name"] == "Acme Rockets Inc."
    assert got["company_description"] == "Acme designs and flies reusable rockets for small satellites."
    assert got["founded_year"] == 2014
    assert got["employee_count"] == 250
    assert got["location"] == "Austin, Texas, United States"
    assert got["company_domain"] == "acme.example"
    assert got["company_linkedin_url"] == "https://www.linkedin.com/company/acme-rockets"
    assert [e["email"] for e in got["emails"]] == ["hello@acme.example", "sales@acme.example", "press@acme.example"]
    assert got["phones"] == ["+15125550100", "5125550199", "+15125550142"]
    assert got["phone"] == "+15125550100"
    assert got["social_links"] == {
        "linkedin": "https://www.linkedin.com/company/acme-rockets",
        "twitter": "https://twitter.com/acmerockets",
        "github": "https://github.com/acme-rockets",
        "instagram": "https://www.instagram.com/acmerockets",
    }
    assert {"Google Analytics", "HubSpot", "WordPress", "nginx"} <= set(got["technologies"])
    # Each value says which page it came from.
    assert found["emails"][1].final_url == "https://acme.example/"
    assert found["company_name"][1].final_url == "https://acme.example/"
    assert found["phones"][1].final_url == "https://acme.example/"


def test_company_microdata() -> None:
    got = values(TargetType.COMPANY, parsed(pages.COMPANY_MICRODATA, "https://bolt.example/"))
    assert got["company_name"] == "Bolt Bakery"
    assert got["company_description"] == "Sourdough and pastries since 1998, baked in Lyon."
    assert got["location"] == "Lyon, France"
    assert got["phones"] == ["+33478000000"]


def test_company_opengraph() -> None:
    got = values(TargetType.COMPANY, parsed(pages.COMPANY_OPENGRAPH, "https://www.nimbus.example/"))
    assert got["company_name"] == "Nimbus"
    assert got["company_description"] == "Nimbus keeps your team's notes in sync."
    assert got["company_domain"] == "nimbus.example"
    assert got["technologies"] == ["Next.js"]


def test_a_page_without_data_yields_nothing() -> None:
    for target in TargetType:
        assert values(target, parsed(pages.NO_DATA, headers={"server": "nginx"})) == {}


def test_broken_markup_still_yields_what_is_readable() -> None:
    got = values(TargetType.COMPANY, parsed(pages.BROKEN_MARKUP, "https://broken.example/"))
    assert {e["email"] for e in got["emails"]} == {"info@broken.example", "ceo@broken.example"}
    assert "company_description" not in got  # the JSON-LD is cut off: nothing invented from it


def test_jobs_json_ld_and_fallback() -> None:
    got = values(TargetType.JOBS, parsed(pages.JOBS_JSONLD, "https://acme.example/careers"))
    assert got == {
        "job_postings_count": 3,
        "job_titles": ["Senior Propulsion Engineer", "Flight Software Engineer", "Launch Site Technician"],
    }
    got = values(TargetType.JOBS, parsed(pages.JOBS_FALLBACK, "https://acme.example/careers"))
    assert got == {"job_postings_count": 2, "job_titles": ["Account Executive", "Solutions Engineer"]}


def test_person_json_ld_and_profile_markup() -> None:
    got = values(TargetType.PERSON, parsed(pages.PERSON_JSONLD, "https://people.example/ada"))
    assert got == {
        "full_name": "Ada Lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "headline": "Head of Analytics at Engines Ltd",
        "job_title": "Head of Analytics",
        "company_name": "Engines Ltd",
        "location": "London, United Kingdom",
        "linkedin_url": "https://www.linkedin.com/in/ada-lovelace",
    }
    got = values(TargetType.PERSON, parsed(pages.PERSON_HTML, "https://people.example/grace"))
    assert got == {
        "full_name": "Grace Hopper",
        "first_name": "Grace",
        "last_name": "Hopper",
        "headline": "Rear Admiral at US Navy",
        "job_title": "Rear Admiral",
        "company_name": "US Navy",
        "location": "Arlington, Virginia, United States",
    }
