"""Apollo over a real socket: auth quirks, match semantics, bulk limits, headers."""

from __future__ import annotations

import httpx

from morket_sandbox import SANDBOX_API_KEY, data
from morket_sandbox.data import Lookup
from morket_sandbox.providers.apollo import apollo_person, match_person

BASE = "/apollo/api/v1"
AUTH = {"x-api-key": SANDBOX_API_KEY}


def find_person(hit: bool) -> data.Person:
    """A deterministic person Apollo does (or does not) know."""
    for n in range(1000):
        person = data.person_from_name("Jane", f"Doe{n}", "acme.com")
        if data.is_hit(Lookup.APOLLO_PERSON, person.key) is hit and person.email_status == "verified":
            return person
    raise AssertionError("no such person in the first 1000")


def test_bad_key_is_401_plain_text(sandbox_http: httpx.Client) -> None:
    for headers in ({"x-api-key": "wrong"}, {}):
        response = sandbox_http.post(f"{BASE}/people/match", json={"email": "a@acme.com"}, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.startswith("Invalid API key.")


def test_match_returns_person(sandbox_http: httpx.Client) -> None:
    person = find_person(hit=True)
    response = sandbox_http.post(
        f"{BASE}/people/match",
        json={"first_name": person.first_name, "last_name": person.last_name, "domain": "acme.com"},
        headers=AUTH,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["person"] == apollo_person(person)
    assert body["person"]["email"] == person.email
    assert body["person"]["organization"]["primary_domain"] == "acme.com"
    assert isinstance(body["request_id"], int)
    assert -(2**63) <= body["request_id"] < 2**63


def test_no_match_is_200_with_null_person(sandbox_http: httpx.Client) -> None:
    person = find_person(hit=False)
    response = sandbox_http.post(f"{BASE}/people/match", json={"email": person.email}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["person"] is None
    assert isinstance(response.json()["request_id"], int)


def test_query_and_body_params_are_equivalent(sandbox_http: httpx.Client) -> None:
    person = find_person(hit=True)
    params = {"first_name": person.first_name, "last_name": person.last_name, "organization_name": "Acme Inc"}
    by_query = sandbox_http.post(f"{BASE}/people/match", params=params, headers=AUTH).json()["person"]
    by_body = sandbox_http.post(f"{BASE}/people/match", json=params, headers=AUTH).json()["person"]
    assert by_query is not None
    assert by_query == by_body
    assert by_query["email"] == person.email


def test_invalid_json_body_is_400(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(
        f"{BASE}/people/match", content=b"{not json", headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_REQUEST"


def test_bulk_match_keeps_order_and_counts(sandbox_http: httpx.Client) -> None:
    hit, miss = find_person(hit=True), find_person(hit=False)
    details = [{"email": hit.email}, {"email": miss.email}, {"email": hit.email}]
    response = sandbox_http.post(f"{BASE}/people/bulk_match", json={"details": details}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["total_requested_enrichments"] == 3
    assert body["unique_enriched_records"] == 1
    assert body["missing_records"] == 1
    assert body["credits_consumed"] == 1
    assert [m["email"] if m else None for m in body["matches"]] == [hit.email, None, hit.email]


def test_bulk_match_limit(sandbox_http: httpx.Client) -> None:
    details = [{"email": f"p{n}@acme.com"} for n in range(11)]
    response = sandbox_http.post(f"{BASE}/people/bulk_match", json={"details": details}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["status"] == "failed"
    assert response.json()["error_code"] == "RECORD_LIMIT_EXCEEDED"
    ok = sandbox_http.post(f"{BASE}/people/bulk_match", json={"details": details[:10]}, headers=AUTH)
    assert ok.status_code == 200
    assert len(ok.json()["matches"]) == 10


def test_bulk_match_rejects_missing_details(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(f"{BASE}/people/bulk_match", json={"details": "x"}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_REQUEST"


def test_organization_enrich(sandbox_http: httpx.Client) -> None:
    domain = next(f"org{n}.com" for n in range(100) if data.is_hit(Lookup.APOLLO_ORGANIZATION, f"org{n}.com"))
    response = sandbox_http.get(
        f"{BASE}/organizations/enrich", params={"domain": f"https://www.{domain}/"}, headers=AUTH
    )
    assert response.status_code == 200
    organization = response.json()["organization"]
    company = data.company_for_domain(domain)
    assert organization["name"] == company.name
    assert organization["industry"] == company.industry.name
    assert organization["estimated_num_employees"] == company.employees
    assert organization["primary_domain"] == domain


def test_organization_enrich_unknown_and_missing_domain(sandbox_http: httpx.Client) -> None:
    missing = sandbox_http.get(f"{BASE}/organizations/enrich", headers=AUTH)
    assert missing.status_code == 422
    assert missing.json() == {"error": "Required parameter 'domain' missing"}
    domain = next(f"org{n}.com" for n in range(100) if not data.is_hit(Lookup.APOLLO_ORGANIZATION, f"org{n}.com"))
    unknown = sandbox_http.get(f"{BASE}/organizations/enrich", params={"domain": domain}, headers=AUTH)
    assert unknown.status_code == 200
    assert unknown.json() == {}


def test_people_search_pages_without_emails(sandbox_http: httpx.Client) -> None:
    domain = next(f"big{n}.com" for n in range(200) if len(data.company_employees(f"big{n}.com")) >= 5)
    employees = data.company_employees(domain)
    body = {"q_organization_domains_list": [domain], "page": 1, "per_page": 2}
    first = sandbox_http.post(f"{BASE}/mixed_people/api_search", json=body, headers=AUTH).json()
    assert first["total_entries"] == len(employees)
    assert [p["id"] for p in first["people"]] == [p.apollo_id for p in employees[:2]]
    assert all("email" not in p for p in first["people"])
    second = sandbox_http.post(f"{BASE}/mixed_people/api_search", json={**body, "page": 2}, headers=AUTH).json()
    assert [p["id"] for p in second["people"]] == [p.apollo_id for p in employees[2:4]]


def test_people_search_filters_by_title_in_query_string(sandbox_http: httpx.Client) -> None:
    domains = [f"big{n}.com" for n in range(30)]
    params: list[tuple[str, str | int | float | bool | None]] = [("q_organization_domains_list[]", d) for d in domains]
    params.append(("person_titles[]", "engineer"))
    response = sandbox_http.post(f"{BASE}/mixed_people/api_search", params=params, json={"per_page": 100}, headers=AUTH)
    assert response.status_code == 200
    people = response.json()["people"]
    assert people
    assert all("engineer" in p["title"].lower() for p in people)
    too_many = sandbox_http.post(f"{BASE}/mixed_people/api_search", json={"per_page": 101}, headers=AUTH)
    assert too_many.status_code == 422


def test_rate_limit_headers_count_down(sandbox_http: httpx.Client) -> None:
    first = sandbox_http.post(f"{BASE}/people/match", json={"email": "a@acme.com"}, headers=AUTH)
    second = sandbox_http.post(f"{BASE}/people/match", json={"email": "a@acme.com"}, headers=AUTH)
    assert first.headers["x-rate-limit-minute"] == "1000"
    assert "x-rate-limit-hourly" in first.headers
    assert "x-daily-requests-left" in first.headers
    left = int(first.headers["x-minute-requests-left"])
    # The minute window may roll over between the two calls, resetting the count.
    assert int(second.headers["x-minute-requests-left"]) in {left - 1, 999}


def test_match_person_helper_matches_http(sandbox_http: httpx.Client) -> None:
    for n in range(20):
        params = {"first_name": "Sam", "last_name": f"Lee{n}", "domain": "initech.com"}
        expected = match_person(params)
        got = sandbox_http.post(f"{BASE}/people/match", json=params, headers=AUTH).json()["person"]
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got["id"] == expected.apollo_id
