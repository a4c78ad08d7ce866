"""Job creation rules (422 / 402), listing, pagination, tenancy — no worker needed."""

from __future__ import annotations

import httpx

from tests.enrichment.helpers import balance, create_job, funded_workspace, people
from tests.factories import add_member, register

WATERFALL = {"email": ["apollo", "hunter"]}


async def post(api: httpx.AsyncClient, headers: dict[str, str], ws: str, body: object) -> httpx.Response:
    return await api.post(f"/api/v1/workspaces/{ws}/enrichment-jobs", json=body, headers=headers)


async def test_validation_errors_are_422_with_details(api: httpx.AsyncClient) -> None:
    user, ws = await funded_workspace(api)
    h = user.headers
    empty = await post(api, h, ws, {"records": [], "fields": ["email"]})
    assert empty.status_code == 422

    unknown_field = await post(api, h, ws, {"records": people(1), "fields": ["shoe_size"]})
    assert unknown_field.status_code == 422
    assert "unknown field" in str(unknown_field.json()["error"]["details"])

    unknown_provider = await post(
        api, h, ws, {"records": people(1), "fields": ["email"], "waterfall": {"email": ["nope"]}}
    )
    assert unknown_provider.status_code == 422
    assert "unknown provider 'nope'" in str(unknown_provider.json()["error"]["details"])

    cannot_supply = await post(
        api, h, ws, {"records": people(1), "fields": ["industry"], "waterfall": {"industry": ["hunter"]}}
    )
    assert cannot_supply.status_code == 422
    assert "cannot supply" in str(cannot_supply.json()["error"]["details"])

    missing_inputs = await post(
        api, h, ws, {"records": [{"first_name": "Ada"}], "fields": ["email"], "waterfall": WATERFALL}
    )
    assert missing_inputs.status_code == 422
    details = missing_inputs.json()["error"]["details"]
    assert details[0]["field"] == "records.0"
    assert "apollo" in details[0]["required_inputs"]


async def test_estimate_above_balance_is_402_and_reserves_nothing(api: httpx.AsyncClient) -> None:
    user, ws = await funded_workspace(api, credits=10)
    response = await post(api, user.headers, ws, {"records": people(20), "fields": ["email"], "waterfall": WATERFALL})
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["details"]["estimated"] == 20
    assert error["details"]["available"] == 10
    assert (await balance(api, user, ws))["reserved"] == 0


async def test_default_waterfall_listing_and_tenancy(api: httpx.AsyncClient) -> None:
    user, ws = await funded_workspace(api)
    job = await create_job(api, user, ws, {"records": people(3), "fields": ["email"]})
    assert job["waterfall"]["email"], "a field without a waterfall gets the registry's providers"
    await create_job(api, user, ws, {"records": people(2, offset=3), "fields": ["email"], "waterfall": WATERFALL})

    listing = await api.get(f"/api/v1/workspaces/{ws}/enrichment-jobs?limit=1", headers=user.headers)
    assert listing.status_code == 200
    assert listing.json()["meta"] == {"page": 1, "limit": 1, "total": 2}
    filtered = await api.get(f"/api/v1/workspaces/{ws}/enrichment-jobs?status=cancelled", headers=user.headers)
    assert filtered.json()["meta"]["total"] == 0

    records = await api.get(
        f"/api/v1/workspaces/{ws}/enrichment-jobs/{job['id']}/records?limit=2", headers=user.headers
    )
    assert records.json()["meta"]["total"] == 3
    assert [r["seq"] for r in records.json()["data"]] == [0, 1]

    stranger = await register(api)
    for path in (f"enrichment-jobs/{job['id']}", f"enrichment-jobs/{job['id']}/records"):
        assert (await api.get(f"/api/v1/workspaces/{ws}/{path}", headers=stranger.headers)).status_code == 404
    other_user, other_ws = await funded_workspace(api)
    response = await api.get(f"/api/v1/workspaces/{other_ws}/enrichment-jobs/{job['id']}", headers=other_user.headers)
    assert response.status_code == 404
    record_id = records.json()["data"][0]["id"]
    response = await api.get(
        f"/api/v1/workspaces/{other_ws}/enrichment-records/{record_id}", headers=other_user.headers
    )
    assert response.status_code == 404

    viewer = await register(api)
    await add_member(api, user, ws, viewer, "viewer")
    response = await post(api, viewer.headers, ws, {"records": people(1), "fields": ["email"]})
    assert response.status_code == 403


async def test_large_job_is_stored_quickly_in_batches(api: httpx.AsyncClient) -> None:
    user, ws = await funded_workspace(api, credits=1_000_000)
    # How fast is measured by bench/enrichment.py, not by a wall-clock threshold here.
    job = await create_job(api, user, ws, {"records": people(20_000), "fields": ["email"], "waterfall": WATERFALL})
    assert job["record_count"] == 20_000
    assert job["batch_count"] == 20
