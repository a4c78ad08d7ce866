"""HubSpot batch upsert and Salesforce composite upsert: batch limits and per-record outcomes."""

from __future__ import annotations

import httpx

from morket_sandbox import SANDBOX_API_KEY
from morket_sandbox.providers.hubspot import hubspot_object_id
from morket_sandbox.providers.salesforce import salesforce_id

AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
HUBSPOT_CONTACTS = "/hubspot/crm/v3/objects/contacts/batch/upsert"
SALESFORCE_CONTACTS = "/salesforce/services/data/v60.0/composite/sobjects/Contact/Morket_Id__c"


def contact(email: str, **properties: str) -> dict[str, object]:
    return {"idProperty": "email", "id": email, "properties": properties}


def test_hubspot_upsert_creates_then_updates(sandbox_http: httpx.Client) -> None:
    first = sandbox_http.post(
        HUBSPOT_CONTACTS, json={"inputs": [contact("Jane@Acme.com", firstname="Jane")]}, headers=AUTH
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
        HUBSPOT_CONTACTS, json={"inputs": [contact("jane@acme.com", lastname="Doe")]}, headers=AUTH
    )
    updated = second.json()["results"][0]
    assert updated["new"] is False
    assert updated["id"] == result["id"]
    assert updated["properties"]["firstname"] == "Jane"
    assert updated["properties"]["lastname"] == "Doe"


def test_hubspot_partial_failure_is_207(sandbox_http: httpx.Client) -> None:
    inputs = [contact("ok@acme.com"), contact("not-an-email"), {"idProperty": "email", "properties": {}}]
    response = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": inputs}, headers=AUTH)
    assert response.status_code == 207
    body = response.json()
    assert body["numErrors"] == 2
    assert len(body["results"]) == 1
    assert all(error["category"] == "VALIDATION_ERROR" for error in body["errors"])


def test_hubspot_batch_limit_and_object_type(sandbox_http: httpx.Client) -> None:
    inputs = [contact(f"p{n}@acme.com") for n in range(101)]
    too_many = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": inputs}, headers=AUTH)
    assert too_many.status_code == 400
    assert too_many.json()["category"] == "VALIDATION_ERROR"
    assert sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": inputs[:100]}, headers=AUTH).status_code == 200
    companies = sandbox_http.post(
        "/hubspot/crm/v3/objects/companies/batch/upsert",
        json={"inputs": [{"idProperty": "domain", "id": "acme.com", "properties": {"name": "Acme"}}]},
        headers=AUTH,
    )
    assert companies.status_code == 200
    assert (
        sandbox_http.post("/hubspot/crm/v3/objects/widgets/batch/upsert", json={"inputs": []}, headers=AUTH).status_code
        == 400
    )


def test_hubspot_auth_and_429_shape(sandbox_http: httpx.Client) -> None:
    unauthorized = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["category"] == "INVALID_AUTHENTICATION"

    sandbox_http.put("/_admin/faults", json={"providers": {"hubspot": {"rate_limit_per_second": 1}}}).raise_for_status()
    responses = [
        sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=AUTH) for _ in range(5)
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
    daily = sandbox_http.post(HUBSPOT_CONTACTS, json={"inputs": [contact("a@b.com")]}, headers=AUTH)
    assert daily.status_code == 429
    assert daily.json()["policyName"] == "DAILY"
    assert daily.json()["message"] == "You have reached your daily limit."


def test_salesforce_returns_200_with_per_record_failures(sandbox_http: httpx.Client) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "r1", "LastName": "Doe", "Email": "jane@acme.com"},
        {"attributes": {"type": "Contact"}, "LastName": "NoExternalId"},
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "r3"},  # LastName is required on create
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "r4", "LastName": "Roe"},
    ]
    response = sandbox_http.patch(SALESFORCE_CONTACTS, json={"allOrNone": False, "records": records}, headers=AUTH)
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
        headers=AUTH,
    )
    # An update needs no LastName; r3 was never created, so it still fails; r1 is now an update.
    assert [(r["success"], r.get("created")) for r in again.json()] == [(False, None), (True, False)]


def test_salesforce_all_or_none_rolls_back(sandbox_http: httpx.Client) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "Morket_Id__c": "x1", "LastName": "A"},
        {"attributes": {"type": "Contact"}, "LastName": "B"},
    ]
    response = sandbox_http.patch(SALESFORCE_CONTACTS, json={"allOrNone": True, "records": records}, headers=AUTH)
    assert response.status_code == 200
    results = response.json()
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    # Nothing was written: the next upsert of x1 is still a create.
    retry = sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": records[:1]}, headers=AUTH)
    assert retry.json()[0]["created"] is True


def test_salesforce_request_level_errors_are_arrays(sandbox_http: httpx.Client) -> None:
    too_many = [{"attributes": {"type": "Contact"}, "Morket_Id__c": str(n), "LastName": "X"} for n in range(201)]
    response = sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": too_many}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": too_many[:200]}, headers=AUTH).status_code == 200

    unauthorized = sandbox_http.patch(SALESFORCE_CONTACTS, json={"records": too_many[:1]})
    assert unauthorized.status_code == 401
    assert unauthorized.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    bad_version = sandbox_http.patch(
        "/salesforce/services/data/latest/composite/sobjects/Contact/Morket_Id__c", json={"records": []}, headers=AUTH
    )
    assert bad_version.status_code == 404
    assert bad_version.json()[0]["errorCode"] == "NOT_FOUND"
