"""Column kinds: an enrichment column's config is validated against the provider registry and
the table; every bad part is a 422 that names it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.columns.helpers import Leads, leads_table
from tests.factories import create_workspace, register


async def _leads(client: httpx.AsyncClient) -> Leads:
    user = await register(client)
    ws = await create_workspace(client, user)
    return await leads_table(client, user, ws["id"], 0)


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [d["field"] for d in response.json()["error"]["details"]]


async def test_enrichment_column_is_stored_normalised(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    response = await leads.add_column(leads.enrichment(only_if={"conditions": []}))
    assert response.status_code == 201, response.text
    column = response.json()["data"]
    assert column["kind"] == "enrichment"
    assert column["config"]["write_policy"] == "fill_empty"
    assert column["config"]["auto_run"] is False
    assert column["config"]["waterfall"] == ["apollo", "hunter"]
    # An empty waterfall means the registry's providers for the field, cheapest first.
    other = await leads.add_column(leads.enrichment("Email 2", waterfall=[]))
    assert other.status_code == 201, other.text


async def test_bad_waterfall_names_the_provider(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    response = await leads.add_column(leads.enrichment(waterfall=["apollo", "nope", "clearbit"]))
    assert _fields(response) == ["config.waterfall", "config.waterfall"]
    messages = [d["message"] for d in response.json()["error"]["details"]]
    assert "unknown provider 'nope'" in messages
    assert "provider 'clearbit' cannot supply 'email'" in messages


async def test_unknown_field_and_bad_shapes(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    assert _fields(await leads.add_column(leads.enrichment(field="shoe_size"))) == ["config.field"]
    assert "config.write_policy" in _fields(await leads.add_column(leads.enrichment(write_policy="sometimes")))
    assert "config.colour" in _fields(await leads.add_column(leads.enrichment(colour="red")))


async def test_inputs_must_exist_and_suffice(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    ghost = str(uuid.uuid4())
    response = await leads.add_column(leads.enrichment(inputs={"domain": ghost}))
    assert _fields(response) == ["config.inputs.domain"]
    response = await leads.add_column(leads.enrichment(inputs={"shoe": leads.col["Domain"]}))
    assert _fields(response) == ["config.inputs.shoe"]
    # A domain alone cannot find a person's email: the error says what each provider needs.
    response = await leads.add_column(leads.enrichment(inputs={"domain": leads.col["Domain"]}))
    assert _fields(response) == ["config.inputs"]
    required: dict[str, Any] = response.json()["error"]["details"][0]["required_inputs"]
    assert set(required) == {"apollo", "hunter"}
    assert any(set(alt) >= {"domain", "first_name", "last_name"} for alt in required["hunter"])


async def test_a_column_that_feeds_itself_is_refused(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    created = await leads.add_column(leads.enrichment())
    assert created.status_code == 201
    column_id = leads.col["Work email"]
    config = created.json()["data"]["config"]
    config["inputs"]["email"] = column_id
    response = await leads.client.patch(
        leads.url(f"/columns/{column_id}"), json={"config": config}, headers=leads.user.headers
    )
    assert _fields(response) == ["config.inputs.email"]
    assert response.json()["error"]["details"][0]["code"] == "run_loop"
    # Reading an output column of its own is a loop too.
    config = created.json()["data"]["config"]
    config["outputs"] = {"company_name": leads.col["Segment"]}
    config["inputs"]["company_name"] = leads.col["Segment"]
    response = await leads.client.patch(
        leads.url(f"/columns/{column_id}"), json={"config": config}, headers=leads.user.headers
    )
    assert "config.inputs.company_name" in _fields(response)


async def test_outputs_need_a_provider_of_the_waterfall(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    response = await leads.add_column(leads.enrichment(outputs={"technologies": leads.col["Segment"]}))
    assert _fields(response) == ["config.outputs.technologies"]
    ok = await leads.add_column(leads.enrichment(outputs={"job_title": leads.col["Segment"]}))
    assert ok.status_code == 201, ok.text


async def test_only_if_is_a_valid_filter_of_the_table(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    bad = {"conditions": [{"column_id": leads.col["Domain"], "operator": "gt", "value": 3}]}
    assert _fields(await leads.add_column(leads.enrichment(only_if=bad))) == ["config.only_if.conditions.0"]
    good = {"conditions": [{"column_id": leads.col["Domain"], "operator": "is_not_empty"}]}
    assert (await leads.add_column(leads.enrichment(only_if=good))).status_code == 201


async def test_every_kind_validates_its_config_and_unknown_kinds_are_refused(client: httpx.AsyncClient) -> None:
    leads = await _leads(client)
    for kind in ("enrichment", "formula", "ai", "lookup", "http"):
        response = await leads.add_column({"name": f"F {kind}", "type": "text", "kind": kind, "config": {}})
        assert response.status_code == 422, kind
        assert response.json()["error"]["code"] == "invalid_column_config", kind
    response = await leads.add_column({"name": "G", "type": "text", "kind": "spreadsheet", "config": {}})
    assert response.status_code == 422
