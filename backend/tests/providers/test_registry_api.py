"""The registry (what each provider can do and needs) and its HTTP API, plus the provider settings API."""

from __future__ import annotations

import httpx
import pytest

from morket.providers.base import Requirement, key
from morket.providers.fields import CANONICAL_FIELDS
from morket.providers.registry import (
    REGISTRY,
    UnknownProvider,
    all_fields,
    can_supply,
    get_provider,
    providers_for_field,
    required_inputs,
)
from tests.factories import add_member, create_workspace, register


def alternatives(requirement: Requirement) -> set[frozenset[str]]:
    return set(requirement.alternatives)


def test_registry_lists_the_providers_with_costs_and_limits() -> None:
    assert {"apollo", "clearbit", "hunter", "openai"} <= set(REGISTRY)
    for adapter in REGISTRY.values():
        assert adapter.slug and adapter.name and adapter.operations and adapter.rate_limits
        assert all(op.cost >= 1 for op in adapter.operations)
        assert adapter.cost == min(op.cost for op in adapter.operations)
    assert get_provider("hunter").rate_limits[0].limit == 15
    with pytest.raises(UnknownProvider):
        get_provider("zoominfo")


def test_every_output_field_is_canonical() -> None:
    assert all_fields() <= set(CANONICAL_FIELDS)
    for field in ("email", "phone", "job_title", "linkedin_url", "company_name", "company_domain", "industry"):
        assert field in all_fields()
    for field in ("employee_count", "company_description", "email_status"):
        assert providers_for_field(field)


def test_providers_for_field() -> None:
    email = {p.slug for p in providers_for_field("email")}
    assert email == {"apollo", "hunter"}
    assert {p.slug for p in providers_for_field("industry")} == {"apollo", "clearbit"}
    assert providers_for_field("no_such_field") == []


def test_required_inputs_match_what_each_api_needs() -> None:
    person = key("first_name") & key("last_name") | key("name")
    assert alternatives(required_inputs("apollo", "email")) == alternatives(
        person & (key("domain") | key("organization_name")) | key("linkedin_url") | key("email")
    )
    assert alternatives(required_inputs("hunter", "email")) == alternatives(
        (key("domain") | key("company_name")) & (key("first_name") & key("last_name") | key("full_name"))
    )
    assert alternatives(required_inputs("clearbit", "industry")) == {frozenset({"domain"}), frozenset({"email"})}
    assert alternatives(required_inputs("apollo", "industry")) == {frozenset({"domain"})}
    with pytest.raises(KeyError):
        required_inputs("hunter", "industry")


def test_can_supply_ignores_blank_values() -> None:
    assert can_supply("hunter", "email", {"full_name": "Jane Doe", "domain": "acme.com"})
    assert not can_supply("hunter", "email", {"full_name": "Jane Doe", "domain": "  "})
    assert can_supply("apollo", "email", {"linkedin_url": "linkedin.com/in/jane"})
    assert not can_supply("apollo", "email", {"first_name": "Jane", "domain": "acme.com"})


def test_a_field_picks_the_first_operation_the_inputs_allow() -> None:
    clearbit = get_provider("clearbit")
    assert clearbit.resolve("company_name", {"domain": "acme.com"}).name == "company_find"
    assert clearbit.resolve("company_name", {"email": "jane@acme.com"}).name == "person_find"
    assert clearbit.resolve("company_domain", {"company_name": "Acme"}).name == "domain_find"


def test_schemas_are_json_schema() -> None:
    for adapter in REGISTRY.values():
        for op in adapter.operations:
            schema = op.input_model.model_json_schema()
            assert schema["type"] == "object" and set(op.requires.keys) <= set(schema["properties"])
            assert set(op.output_model.model_json_schema()["properties"]) == set(op.supplies)


# --- HTTP ----------------------------------------------------------------------------------

pytestmark_api = pytest.mark.usefixtures("clean_db")


@pytestmark_api
async def test_list_providers_needs_a_login(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/api/v1/providers")
    assert anonymous.status_code == 401 and anonymous.json()["success"] is False


@pytestmark_api
async def test_list_and_get_providers(client: httpx.AsyncClient) -> None:
    user = await register(client)
    listed = await client.get("/api/v1/providers", headers=user.headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["meta"] is None
    assert body["success"] is True and body["error"] is None
    by_slug = {p["slug"]: p for p in body["data"]}
    assert {"apollo", "clearbit", "hunter"} <= set(by_slug)
    apollo = by_slug["apollo"]
    assert apollo["credit_cost"] == 1 and "email" in apollo["supplies"]
    match = next(op for op in apollo["operations"] if op["name"] == "people_match")
    assert match["credit_cost"] == 1
    assert match["input_schema"]["type"] == "object" and "first_name" in match["input_schema"]["properties"]
    assert "email" in match["output_schema"]["properties"]
    assert ["linkedin_url"] in match["required_inputs"]
    assert by_slug["hunter"]["rate_limits"][0] == {"limit": 15, "period_seconds": 1.0, "description": "15/second"}
    assert ["domain", "full_name"] in by_slug["hunter"]["required_inputs"]["email"]

    one = await client.get("/api/v1/providers/clearbit", headers=user.headers)
    assert one.status_code == 200 and one.json()["data"] == by_slug["clearbit"]


@pytestmark_api
async def test_unknown_provider_is_404_envelope(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.get("/api/v1/providers/zoominfo", headers=user.headers)
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "data": None,
        "error": {"code": "provider_not_found", "message": "No provider 'zoominfo'.", "details": None},
        "meta": None,
    }


@pytestmark_api
async def test_provider_settings_roles(client: httpx.AsyncClient) -> None:
    owner, viewer, admin, stranger = [await register(client) for _ in range(4)]
    workspace = await create_workspace(client, owner)
    await add_member(client, owner, workspace["id"], viewer, "viewer")
    await add_member(client, owner, workspace["id"], admin, "admin")
    path = f"/api/v1/workspaces/{workspace['id']}/provider-settings"

    default = await client.get(path, headers=viewer.headers)
    assert default.status_code == 200
    assert default.json()["data"] == {"cache_enabled": True, "cache_ttl_seconds": 30 * 86400, "is_default": True}

    change = {"cache_enabled": False, "cache_ttl_seconds": 7 * 86400}
    assert (await client.put(path, json=change, headers=viewer.headers)).status_code == 403
    assert (await client.put(path, json=change, headers=stranger.headers)).status_code == 404
    assert (await client.get(path, headers=stranger.headers)).status_code == 404
    updated = await client.put(path, json=change, headers=admin.headers)
    assert updated.status_code == 200 and updated.json()["data"] == {**change, "is_default": False}
    assert (await client.get(path, headers=viewer.headers)).json()["data"] == {**change, "is_default": False}

    too_short = await client.put(path, json={"cache_enabled": True, "cache_ttl_seconds": 5}, headers=admin.headers)
    assert too_short.status_code == 422 and too_short.json()["error"]["code"] == "validation_error"
