"""Hunter over a real socket: test key, envelopes and its meaningful status codes."""

from __future__ import annotations

import httpx
import pytest

from morket_sandbox import HUNTER_TEST_API_KEY, SANDBOX_API_KEY, data
from morket_sandbox.data import Lookup
from morket_sandbox.providers.hunter import TEST_EMAIL_FINDER, TEST_EMAIL_VERIFIER

BASE = "/hunter/v2"
KEY = {"api_key": SANDBOX_API_KEY}


def name_with(hit: bool, domain: str = "acme.com") -> tuple[str, str]:
    for n in range(1000):
        person = data.person_from_name("Jane", f"Roe{n}", domain)
        if data.is_hit(Lookup.HUNTER_EMAIL_FINDER, person.key) is hit:
            return person.first_name, person.last_name
    raise AssertionError("no such person")


def assert_error(response: httpx.Response, status: int, error_id: str) -> None:
    assert response.status_code == status
    errors = response.json()["errors"]
    assert errors[0]["id"] == error_id
    assert errors[0]["code"] == status
    assert isinstance(errors[0]["details"], str)


def test_key_in_query_or_header(sandbox_http: httpx.Client) -> None:
    params = {"email": "jane@acme.com"}
    by_query = sandbox_http.get(f"{BASE}/email-verifier", params={**params, **KEY})
    by_header = sandbox_http.get(f"{BASE}/email-verifier", params=params, headers={"X-API-KEY": SANDBOX_API_KEY})
    assert by_query.status_code == by_header.status_code == 200
    assert by_query.json() == by_header.json()
    assert set(by_query.json()) == {"data", "meta"}


def test_bad_key_is_401_envelope(sandbox_http: httpx.Client) -> None:
    assert_error(
        sandbox_http.get(f"{BASE}/email-verifier", params={"email": "a@b.com", "api_key": "x"}),
        401,
        "authentication_failed",
    )
    assert_error(sandbox_http.get(f"{BASE}/email-verifier", params={"email": "a@b.com"}), 401, "authentication_failed")


def test_test_api_key_returns_fixed_dummy_data(sandbox_http: httpx.Client) -> None:
    finder = sandbox_http.get(
        f"{BASE}/email-finder",
        params={"domain": "anything.com", "first_name": "A", "last_name": "B", "api_key": HUNTER_TEST_API_KEY},
    )
    assert finder.status_code == 200
    assert finder.json() == TEST_EMAIL_FINDER
    verifier = sandbox_http.get(f"{BASE}/email-verifier", params={"email": "x@y.com", "api_key": HUNTER_TEST_API_KEY})
    assert verifier.json() == TEST_EMAIL_VERIFIER
    search = sandbox_http.get(f"{BASE}/domain-search", params={"domain": "y.com", "api_key": HUNTER_TEST_API_KEY})
    assert search.json()["data"]["domain"] == "intercom.com"


def test_email_finder_hit_and_miss(sandbox_http: httpx.Client) -> None:
    first, last = name_with(hit=True)
    found = sandbox_http.get(
        f"{BASE}/email-finder", params={"domain": "acme.com", "first_name": first, "last_name": last, **KEY}
    )
    assert found.status_code == 200
    assert found.json()["data"]["email"] == data.email_for(first, last, "acme.com")
    assert 0 <= found.json()["data"]["score"] <= 100
    first, last = name_with(hit=False)
    missing = sandbox_http.get(
        f"{BASE}/email-finder", params={"domain": "acme.com", "full_name": f"{first} {last}", **KEY}
    )
    assert_error(missing, 404, "email_not_found")


def test_wrong_params(sandbox_http: httpx.Client) -> None:
    assert_error(
        sandbox_http.get(f"{BASE}/email-finder", params={"first_name": "A", "last_name": "B", **KEY}),
        400,
        "wrong_params",
    )
    assert_error(sandbox_http.get(f"{BASE}/email-finder", params={"domain": "acme.com", **KEY}), 400, "wrong_params")
    assert_error(sandbox_http.get(f"{BASE}/email-verifier", params=KEY), 400, "wrong_params")
    assert_error(
        sandbox_http.get(f"{BASE}/domain-search", params={"domain": "acme.com", "limit": 101, **KEY}),
        400,
        "wrong_params",
    )


def test_domain_search_pages_and_filters(sandbox_http: httpx.Client) -> None:
    domain = next(
        f"hq{n}.com"
        for n in range(500)
        if data.is_hit(Lookup.HUNTER_DOMAIN_SEARCH, f"hq{n}.com") and len(data.company_employees(f"hq{n}.com")) >= 6
    )
    full = sandbox_http.get(f"{BASE}/domain-search", params={"domain": domain, "limit": 100, **KEY}).json()
    personal = [e for e in full["data"]["emails"] if e["type"] == "personal"]
    assert [e["value"] for e in personal] == [p.email for p in data.company_employees(domain)]
    assert full["data"]["pattern"] == data.email_pattern(domain)
    assert full["meta"]["results"] == len(full["data"]["emails"])
    page = sandbox_http.get(f"{BASE}/domain-search", params={"domain": domain, "limit": 2, "offset": 2, **KEY}).json()
    assert page["data"]["emails"] == full["data"]["emails"][2:4]
    generic = sandbox_http.get(f"{BASE}/domain-search", params={"domain": domain, "type": "personal", **KEY}).json()
    assert all(e["type"] == "personal" for e in generic["data"]["emails"])


def test_verification_in_progress_202_then_result(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"hunter": {"pending_rounds": 1}}}).raise_for_status()
    first = sandbox_http.get(f"{BASE}/email-verifier", params={"email": "jane@acme.com", **KEY})
    assert_error(first, 202, "verification_in_progress")
    second = sandbox_http.get(f"{BASE}/email-verifier", params={"email": "jane@acme.com", **KEY})
    assert second.status_code == 200
    assert second.json()["data"]["status"] == data.verify_email("jane@acme.com").status


def test_smtp_failure_222(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get(f"{BASE}/email-verifier", params={"email": f"jane@{data.SMTP_FAILURE_DOMAIN}", **KEY})
    assert_error(response, 222, "smtp_failure")


def test_personal_data_restriction_451(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get(f"{BASE}/domain-search", params={"domain": data.RESTRICTED_DOMAIN, **KEY})
    assert_error(response, 451, "claimed_email")


def test_rate_limit_is_403_and_quota_is_429(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"hunter": {"rate_limit_per_second": 1}}}).raise_for_status()
    responses = [sandbox_http.get(f"{BASE}/email-verifier", params={"email": "a@acme.com", **KEY}) for _ in range(5)]
    assert responses[0].status_code == 200
    limited = next(r for r in responses if r.status_code != 200)
    assert_error(limited, 403, "too_many_requests")
    assert int(limited.headers["retry-after"]) >= 1

    sandbox_http.put("/_admin/faults", json={"providers": {"hunter": {"quota": 2}}}).raise_for_status()
    statuses = [sandbox_http.get(f"{BASE}/email-verifier", params={"email": "a@acme.com", **KEY}) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert_error(statuses[2], 429, "too_many_requests")


@pytest.mark.parametrize("email", ["x@mailinator.com", "someone@gmail.com"])
def test_verifier_flags(sandbox_http: httpx.Client, email: str) -> None:
    body = sandbox_http.get(f"{BASE}/email-verifier", params={"email": email, **KEY}).json()["data"]
    assert body["disposable"] is email.endswith("mailinator.com")
    assert body["webmail"] is email.endswith("gmail.com")
    assert body["status"] in {"disposable", "webmail"}
