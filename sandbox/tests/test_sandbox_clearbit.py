"""Clearbit over a real socket: Basic and Bearer auth, 202 queueing, 404s, error shape."""

from __future__ import annotations

import httpx
import pytest

from morket_sandbox import SANDBOX_API_KEY, data
from morket_sandbox.data import Lookup
from morket_sandbox.providers.clearbit import clearbit_company, clearbit_person

BASIC = httpx.BasicAuth(SANDBOX_API_KEY, "")
BEARER = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


def email_with(hit: bool) -> str:
    return next(
        f"jane.doe{n}@acme.com"
        for n in range(1000)
        if data.is_hit(Lookup.CLEARBIT_PERSON, data.person_from_email(f"jane.doe{n}@acme.com").key) is hit
    )


def domain_with(hit: bool) -> str:
    return next(f"co{n}.com" for n in range(1000) if data.is_hit(Lookup.CLEARBIT_COMPANY, f"co{n}.com") is hit)


def test_basic_and_bearer_auth_are_both_accepted(sandbox_http: httpx.Client) -> None:
    email = email_with(hit=True)
    basic = sandbox_http.get("/clearbit/v2/people/find", params={"email": email}, auth=BASIC)
    bearer = sandbox_http.get("/clearbit/v2/people/find", params={"email": email}, headers=BEARER)
    assert basic.status_code == bearer.status_code == 200
    assert basic.json() == bearer.json() == clearbit_person(data.person_from_email(email))


@pytest.mark.parametrize(
    ("kwargs", "error_type"),
    [
        ({}, "auth_required"),
        ({"auth": httpx.BasicAuth("wrong-key", "")}, "invalid_api_key"),
        ({"headers": {"Authorization": "Bearer wrong-key"}}, "invalid_api_key"),
        ({"headers": {"Authorization": "Basic %%%"}}, "invalid_api_key"),
    ],
)
def test_bad_credentials(sandbox_http: httpx.Client, kwargs: dict[str, object], error_type: str) -> None:
    response = sandbox_http.get("/clearbit/v2/companies/find", params={"domain": "acme.com"}, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.json()["error"]["type"] == error_type
    assert isinstance(response.json()["error"]["message"], str)


def test_person_not_found_is_404(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get("/clearbit/v2/people/find", params={"email": email_with(hit=False)}, headers=BEARER)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "unknown_record"


def test_company_find(sandbox_http: httpx.Client) -> None:
    domain = domain_with(hit=True)
    response = sandbox_http.get("/clearbit/v2/companies/find", params={"domain": domain}, headers=BEARER)
    assert response.status_code == 200
    assert response.json() == clearbit_company(data.company_for_domain(domain))
    missing = sandbox_http.get("/clearbit/v2/companies/find", params={"domain": domain_with(hit=False)}, headers=BEARER)
    assert missing.status_code == 404
    webmail = sandbox_http.get("/clearbit/v2/companies/find", params={"domain": "gmail.com"}, headers=BEARER)
    assert webmail.status_code == 404


def test_invalid_params_are_422(sandbox_http: httpx.Client) -> None:
    assert sandbox_http.get("/clearbit/v2/people/find", params={"email": "x"}, headers=BEARER).status_code == 422
    assert sandbox_http.get("/clearbit/v2/companies/find", headers=BEARER).status_code == 422


def test_pending_rounds_give_202_then_the_answer(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"clearbit": {"pending_rounds": 2}}}).raise_for_status()
    email, other = email_with(hit=True), email_with(hit=False)
    statuses = [sandbox_http.get("/clearbit/v2/people/find", params={"email": email}, headers=BEARER) for _ in range(4)]
    assert [r.status_code for r in statuses] == [202, 202, 200, 200]
    assert statuses[0].content == b""
    assert statuses[2].json()["email"] == email
    # Rounds are counted per input: another email starts from zero, and misses pend too.
    others = [sandbox_http.get("/clearbit/v2/people/find", params={"email": other}, headers=BEARER) for _ in range(3)]
    assert [r.status_code for r in others] == [202, 202, 404]


def test_streaming_host_never_queues(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"clearbit": {"pending_rounds": 3}}}).raise_for_status()
    domain = domain_with(hit=True)
    response = sandbox_http.get("/clearbit-stream/v2/companies/find", params={"domain": domain}, headers=BEARER)
    assert response.status_code == 200
    assert response.json()["domain"] == domain


def test_combined_find(sandbox_http: httpx.Client) -> None:
    email = email_with(hit=True)
    response = sandbox_http.get("/clearbit/v2/combined/find", params={"email": email}, headers=BEARER)
    assert response.status_code == 200
    body = response.json()
    assert body["person"]["email"] == email
    expected_company = data.is_hit(Lookup.CLEARBIT_COMPANY, "acme.com")
    assert (body["company"] is not None) == expected_company


def test_domain_find_by_name(sandbox_http: httpx.Client) -> None:
    name = next(f"Globex {n}" for n in range(100) if data.is_hit(Lookup.CLEARBIT_DOMAIN, f"globex {n}"))
    response = sandbox_http.get("/clearbit/v1/domains/find", params={"name": name}, headers=BEARER)
    assert response.status_code == 200
    domain = data.domain_for_company_name(name)
    assert response.json() == {"name": name, "domain": domain, "logo": f"https://logo.clearbit.com/{domain}"}
    assert sandbox_http.get("/clearbit/v1/domains/find", headers=BEARER).status_code == 422


def test_unknown_route(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get("/clearbit/v9/unknown", headers=BEARER)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "unknown_route"


def test_rate_limit_headers(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.get("/clearbit/v2/companies/find", params={"domain": "acme.com"}, headers=BEARER)
    assert response.headers["x-ratelimit-limit"] == "600"
    assert 0 <= int(response.headers["x-ratelimit-remaining"]) < 600
    assert 0 <= int(response.headers["x-ratelimit-reset"]) <= 60
