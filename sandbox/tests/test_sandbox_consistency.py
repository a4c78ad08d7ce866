"""Cross-provider consistency and hit rates, measured over real HTTP."""

from __future__ import annotations

import httpx
from faker import Faker

from morket_sandbox import SANDBOX_API_KEY, data

APOLLO = {"x-api-key": SANDBOX_API_KEY}
HUNTER = {"api_key": SANDBOX_API_KEY}
CLEARBIT = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


def identities(count: int) -> list[tuple[str, str, str]]:
    fake = Faker("en_US")
    fake.seed_instance(7)
    domains = [f"{fake.unique.domain_word()}.com" for _ in range(80)]
    return [(fake.first_name(), fake.last_name(), domains[n % len(domains)]) for n in range(count)]


def apollo_email(client: httpx.Client, first: str, last: str, domain: str) -> str | None:
    person = client.post(
        "/apollo/api/v1/people/match", json={"first_name": first, "last_name": last, "domain": domain}, headers=APOLLO
    ).json()["person"]
    return person["email"] if person else None


def hunter_email(client: httpx.Client, first: str, last: str, domain: str) -> str | None:
    response = client.get(
        "/hunter/v2/email-finder", params={"first_name": first, "last_name": last, "domain": domain, **HUNTER}
    )
    return response.json()["data"]["email"] if response.status_code == 200 else None


def test_apollo_and_hunter_agree_on_emails(sandbox_http: httpx.Client) -> None:
    both = 0
    for first, last, domain in identities(120):
        from_apollo = apollo_email(sandbox_http, first, last, domain)
        from_hunter = hunter_email(sandbox_http, first, last, domain)
        if from_apollo and from_hunter:
            both += 1
            assert from_apollo == from_hunter == data.email_for(first, last, domain)
    assert both >= 30


def test_clearbit_and_apollo_agree_on_companies(sandbox_http: httpx.Client) -> None:
    compared = 0
    for n in range(60):
        domain = f"agree{n}.io"
        apollo = sandbox_http.get(
            "/apollo/api/v1/organizations/enrich", params={"domain": domain}, headers=APOLLO
        ).json()
        clearbit = sandbox_http.get("/clearbit/v2/companies/find", params={"domain": domain}, headers=CLEARBIT)
        if "organization" in apollo and clearbit.status_code == 200:
            compared += 1
            organization, company = apollo["organization"], clearbit.json()
            assert organization["name"] == company["name"]
            assert organization["industry"] == company["category"]["industry"].lower()
            assert organization["estimated_num_employees"] == company["metrics"]["employees"]
            assert organization["founded_year"] == company["foundedYear"]
    assert compared >= 35


def test_clearbit_and_apollo_agree_on_people(sandbox_http: httpx.Client) -> None:
    compared = 0
    for first, last, domain in identities(80):
        email = data.email_for(first, last, domain)
        apollo = sandbox_http.post("/apollo/api/v1/people/match", json={"email": email}, headers=APOLLO).json()[
            "person"
        ]
        clearbit = sandbox_http.get("/clearbit/v2/people/find", params={"email": email}, headers=CLEARBIT)
        if apollo and clearbit.status_code == 200:
            compared += 1
            person = clearbit.json()
            assert apollo["title"] == person["employment"]["title"]
            assert apollo["name"] == person["name"]["fullName"]
            assert apollo["organization"]["name"] == person["employment"]["name"]
    assert compared >= 20


def test_hit_rates_and_waterfall_over_http(sandbox_http: httpx.Client) -> None:
    people = identities(500)
    apollo_hits = hunter_hits = waterfall_hits = 0
    for first, last, domain in people:
        found_by_apollo = (
            sandbox_http.post(
                "/apollo/api/v1/people/match",
                json={"first_name": first, "last_name": last, "domain": domain},
                headers=APOLLO,
            ).json()["person"]
            is not None
        )
        found_by_hunter = hunter_email(sandbox_http, first, last, domain) is not None
        apollo_hits += found_by_apollo
        hunter_hits += found_by_hunter
        waterfall_hits += found_by_apollo or found_by_hunter
    count = len(people)
    assert 0.68 <= apollo_hits / count <= 0.82
    assert 0.52 <= hunter_hits / count <= 0.68
    assert waterfall_hits / count >= max(apollo_hits, hunter_hits) / count + 0.08


def test_same_input_same_answer_across_calls(sandbox_http: httpx.Client) -> None:
    params = {"domain": "initech.com"}
    first = sandbox_http.get("/apollo/api/v1/organizations/enrich", params=params, headers=APOLLO).json()
    sandbox_http.post("/_admin/reset")
    assert sandbox_http.get("/apollo/api/v1/organizations/enrich", params=params, headers=APOLLO).json() == first
