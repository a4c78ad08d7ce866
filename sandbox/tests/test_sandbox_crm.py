"""HubSpot batch upsert and Salesforce composite upsert: batch limits and per-record outcomes."""

from __future__ import annotations

import httpx

from morket_sandbox import SANDBOX_API_KEY
from morket_sandbox.oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from morket_sandbox.providers.hubspot import hubspot_object_id
from morket_sandbox.providers.salesforce import salesforce_id

REDIRECT = "https://app.example.test/crm/callback"
TOKEN_PATHS = {"hubspot": "/hubspot/oauth/v1/token", "salesforce": "/salesforce/services/oauth2/token"}
AUTHORIZE_PATHS = {"hubspot": "/hubspot/oauth/authorize", "salesforce": "/salesforce/services/oauth2/authorize"}
HUBSPOT_CONTACTS = "/hubspot/crm/v3/objects/contacts/batch/upsert"
SALESFORCE_CONTACTS = "/salesforce/services/data/v60.0/composite/sobjects/Contact/Morket_Id__c"


def authorize(client: httpx.Client, provider: str) -> str:
    """Follow the authorize page: the code its redirect carries."""
    params = {"client_id": SANDBOX_CLIENT_ID, "redirect_uri": REDIRECT, "state": "s-123", "response_type": "code"}
    page = client.get(AUTHORIZE_PATHS[provider], params=params)
    assert page.status_code == 302
    location = httpx.URL(page.headers["location"])
    assert str(location.copy_with(query=None)) == REDIRECT
    assert location.params["state"] == "s-123"
    return location.params["code"]


def exchange(client: httpx.Client, provider: str, **form: str) -> httpx.Response:
    body = {"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET, **form}
    return client.post(TOKEN_PATHS[provider], data=body)


def tokens(client: httpx.Client, provider: str) -> dict[str, str]:
    code = authorize(client, provider)
    answer = exchange(client, provider, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


def bearer(client: httpx.Client, provider: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens(client, provider)['access_token']}"}


def contact(email: str, **properties: str) -> dict[str, object]:
    return {"idProperty": "email", "id": email, "properties": properties}


def test_hubspot_upsert_creates_then_updates(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "hubspot")
    first = sandbox_http.post(
        HUBSPOT_CONTACTS, json={"inputs": [contact("Jane@Acme.com", firstname="Jane")]}, headers=auth
    )
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "COMPLETE"
    assert body["numErrors"] == 0
    result = body["results"][0]
    assert result["new"] is True
    assert result["id"] == hubspot_object_id("contacts", "email", "jane@acme.com")
    assert result["properties"]["firstname"] == "Jane"

    second = sandbox_http.post(
        HUBSPOT_CONTACTS, json={"inputs": [contact("jane@acme.com", lastname="Doe")]}, headers=auth
    )
    updated = second.json()["results"][0]
    assert updated["new"] is False
    assert updated["id"] == result["id"]
    assert updated["properties"]["firstname"] == "Jane"
    assert updated["properties"]["lastname"] == "Doe"


def test_hubspot_partial_failure_is_207(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "hubspot")
    inputs = [contact("ok@acme.com"), contact("not-an-email"), {"idProperty": "email", "properties": {}}]
    response = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": inputs}, headers=auth)
    assert response.status_code == 207
    body = response.json()
    assert body["numErrors"] == 2
    assert len(body["results"]) == 1
    assert all(error["category"] == "VALIDATION_ERROR" for error in body["errors"])


def test_hubspot_batch_limit_and_object_type(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "hubspot")
    inputs = [contact(f"p{n}@acme.com") for n in range(101)]
    too_many = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": inputs}, headers=auth)
    assert too_many.status_code == 400
    assert too_many.json()["category"] == "VALIDATION_ERROR"
    assert sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": inputs[:100]}, headers=auth).status_code == 200
    companies = sandbox_http.post(
        "/hubspot/crm/v3/objects/companies/batch/upsert",
        json={"inputs": [{"idProperty": "domain", "id": "acme.com", "properties": {"name": "Acme"}}]},
        headers=auth,
    )
    assert companies.status_code == 200
    assert (
        sandbox_http.post("/hubspot/crm/v3/objects/widgets/batch/upsert", json={"inputs": []}, headers=auth).status_code
        == 400
    )


def test_hubspot_auth_and_429_shape(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "hubspot")
    unauthorized = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["category"] == "INVALID_AUTHENTICATION"

    sandbox_http.put("/_admin/faults", json={"providers": {"hubspot": {"rate_limit_per_second": 1}}}).raise_for_status()
    responses = [
        sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=auth) for _ in range(5)
    ]
    assert responses[0].status_code == 200
    limited = next(r for r in responses if r.status_code != 200)
    assert limited.status_code == 429
    body = limited.json()
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "SECONDLY"
    assert "message" in body

    sandbox_http.put("/_admin/faults", json={"providers": {"hubspot": {"quota": 0}}}).raise_for_status()
    daily = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=auth)
    assert daily.status_code == 429
    assert daily.json()["policyName"] == "DAILY"
    assert daily.json()["message"] == "You have reached your daily limit."


def test_salesforce_returns_200_with_per_record_failures(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "salesforce")
    records = [
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "r1", "LastName": "Doe", "Email": "jane@acme.com"},
        {"attributes": {"type": "Contact"}, "LastName": "NoExternalId"},
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "r3"},  # LastName is required on create
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "r4", "LastName": "Roe"},
    ]
    response = sandbox_http.patch(SALESFORCE_CONTACTS, json={"allOrNone": False, "records": records}, headers=auth)
    assert response.status_code == 200
    results = response.json()
    assert [r["success"] for r in results] == [True, False, False, True]
    assert results[0] == {
        "id": salesforce_id("Contact", "Morket_Id__c", "r1"),
        "success": True,
        "errors": [],
        "created": True,
    }
    assert results[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert results[1]["errors"][0]["fields"] == ["Morket_Id__c"]
    assert results[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(results[0]["id"]) == 18
    assert results[0]["id"].startswith("003")
    assert response.headers["sforce-limit-info"].startswith("api-usage=")

    again = sandbox_http.patch(
        SALESFORCE_CONTACTS,
        json={"records": [{"attributes": {"type": "Contact"}, "Morket_Id__c": "r3"}, records[0]]},
        headers=auth,
    )
    # An update needs no LastName; r3 was never created, so it still fails; r1 is now an update.
    assert [(r["success"], r.get("created")) for r in again.json()] == [(False, None), (True, False)]


def test_salesforce_all_or_none_rolls_back(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "salesforce")
    records = [
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "x1", "LastName": "A"},
        {"attributes": {"type": "Contact"}, "LastName": "B"},
    ]
    response = sandbox_http.patch(SALESFORCE_CONTACTS, json={"allOrNone": True, "records": records}, headers=auth)
    assert response.status_code == 200
    results = response.json()
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    # Nothing was written: the next upsert of x1 is still a create.
    retry = sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": records[:1]}, headers=auth)
    assert retry.json()[0]["created"] is True


def test_salesforce_request_level_errors_are_arrays(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "salesforce")
    too_many = [{"attributes": {"type": "Contact"}, "Morket_Id__c": str(n), "LastName": "X"} for n in range(201)]
    response = sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": too_many}, headers=auth)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": too_many[:200]}, headers=auth).status_code == 200

    unauthorized = sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": too_many[:1]})
    assert unauthorized.status_code == 401
    assert unauthorized.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    bad_version = sandbox_http.patch(
        "/salesforce/services/data/latest/composite/sobjects/Contact/Morket_Id__c", json={"records": []}, headers=auth
    )
    assert bad_version.status_code == 404
    assert bad_version.json()[0]["errorCode"] == "NOT_FOUND"


def test_only_issued_tokens_are_accepted_and_they_expire(sandbox_http: httpx.Client) -> None:
    key = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
    assert sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=key).status_code == 401
    sandbox_http.put("/_admin/oauth", json={"access_token_max_requests": 1}).raise_for_status()
    issued = tokens(sandbox_http, "hubspot")
    auth = {"Authorization": f"Bearer {issued['access_token']}"}
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 1800
    assert sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=auth).status_code == 200
    expired = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=auth)
    assert expired.status_code == 401 and expired.json()["category"] == "EXPIRED_AUTHENTICATION"

    refreshed = exchange(sandbox_http, "hubspot", grant_type="refresh_token", refresh_token=issued["refresh_token"])
    assert refreshed.status_code == 200
    fresh = refreshed.json()
    assert fresh["access_token"] != issued["access_token"] and fresh["refresh_token"] == issued["refresh_token"]
    auth = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=auth).status_code == 200

    bad = exchange(sandbox_http, "hubspot", grant_type="refresh_token", refresh_token="nope")
    assert bad.status_code == 400 and bad.json()["status"] == "BAD_REFRESH_TOKEN"


def test_a_code_works_once_for_its_client_and_redirect(sandbox_http: httpx.Client) -> None:
    code = authorize(sandbox_http, "salesforce")
    wrong_redirect = exchange(
        sandbox_http, "salesforce", grant_type="authorization_code", code=code, redirect_uri="https://evil.test/cb"
    )
    assert wrong_redirect.status_code == 400 and wrong_redirect.json()["error"] == "invalid_grant"
    code = authorize(sandbox_http, "salesforce")
    bad_secret = sandbox_http.post(
        TOKEN_PATHS["salesforce"],
        data={"grant_type": "authorization_code", "code": code, "client_id": SANDBOX_CLIENT_ID, "client_secret": "x"},
    )
    assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
    code = authorize(sandbox_http, "salesforce")
    first = exchange(sandbox_http, "salesforce", grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert first.status_code == 200
    session = first.json()
    assert session["instance_url"] == str(sandbox_http.base_url.join("/salesforce"))
    assert session["token_type"] == "Bearer" and "refresh_token" in session
    reused = exchange(sandbox_http, "salesforce", grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    refreshed = exchange(sandbox_http, "salesforce", grant_type="refresh_token", refresh_token=session["refresh_token"])
    assert refreshed.status_code == 200 and "refresh_token" not in refreshed.json()

    sandbox_http.post("/_admin/oauth/expire").raise_for_status()
    auth = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    record = {"attributes": {"type": "Contact"}, "Morket_Id__c": "r1", "LastName": "Doe"}
    expired = sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": [record]}, headers=auth)
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_a_lost_answer_still_applies_the_upsert(sandbox_http: httpx.Client) -> None:
    auth = bearer(sandbox_http, "hubspot")
    sandbox_http.put("/_admin/crm", json={"lose_responses": {"hubspot": 1}}).raise_for_status()
    lost = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("lost@acme.com")]}, headers=auth)
    assert lost.status_code == 502
    records = sandbox_http.get("/_admin/crm/records", params={"provider": "hubspot"}).json()
    assert [r["key"] for r in records] == ["lost@acme.com"]
    again = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("lost@acme.com")]}, headers=auth)
    assert again.status_code == 200 and again.json()["results"][0]["new"] is False


def test_token_and_authorize_refusals_are_in_each_crms_words(sandbox_http: httpx.Client) -> None:
    """The grant and the consent page are shared (oauth.py); each CRM still words a refusal its own way."""
    hubspot = exchange(sandbox_http, "hubspot", grant_type="password")
    assert hubspot.status_code == 400
    assert hubspot.json()["status"] == "BAD_GRANT_TYPE" and hubspot.json()["message"] == "unknown grant_type"
    salesforce = exchange(sandbox_http, "salesforce", grant_type="password")
    assert salesforce.status_code == 400 and salesforce.json()["error"] == "unsupported_grant_type"
    # A bad client is refused before the grant type is looked at.
    bad_client = sandbox_http.post(TOKEN_PATHS["hubspot"], data={"grant_type": "password", "client_id": "x"})
    assert bad_client.status_code == 400 and bad_client.json()["status"] == "BAD_CLIENT_ID"

    no_redirect = {"client_id": SANDBOX_CLIENT_ID, "response_type": "code"}
    page = sandbox_http.get(AUTHORIZE_PATHS["hubspot"], params=no_redirect)
    assert page.status_code == 400 and page.json()["category"] == "VALIDATION_ERROR"
    page = sandbox_http.get(AUTHORIZE_PATHS["salesforce"], params=no_redirect)
    assert page.status_code == 400 and page.json()["error"] == "invalid_request"
    page = sandbox_http.get(AUTHORIZE_PATHS["salesforce"], params={**no_redirect, "response_type": "token"})
    assert page.status_code == 400 and page.json()["error"] == "unsupported_response_type"
