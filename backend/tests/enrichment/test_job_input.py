"""Oversized and malformed job input: a 4xx naming the record, nothing written, nothing reserved."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.app import create_app
from morket.core.config import Settings
from tests.enrichment.helpers import balance, funded_workspace, people

JOBS = "/api/v1/workspaces/{ws}/enrichment-jobs"


async def _counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        jobs = (await session.execute(text("SELECT count(*) FROM enrichment_jobs"))).scalar_one()
        records = (await session.execute(text("SELECT count(*) FROM enrichment_records"))).scalar_one()
    return int(jobs), int(records)


def _raw(body: Any) -> bytes:
    # NaN, Infinity and lone surrogates written as JSON text, as a careless client would send them.
    return json.dumps(body, allow_nan=True, ensure_ascii=True).encode()


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"domain": "nul\u0000.com"}, "NUL"),
        ({"first_name": "lone\ud800"}, "surrogate"),
        ({"domain": "x" * 100_000}, "253"),
        ({"first_name": "A" * 20_001}, "20000"),
        ({"note\u0000": "x"}, "NUL"),
    ],
)
async def test_a_bad_record_is_422_naming_its_index(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], bad: dict[str, Any], why: str
) -> None:
    user, ws = await funded_workspace(api)
    before = await balance(api, user, ws)
    records = people(30, tag="bad")
    records[17] = {**records[17], **bad}
    response = await api.post(
        JOBS.format(ws=ws),
        content=_raw({"records": records, "fields": ["company_name"]}),
        headers={**user.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_records"
    assert [d["index"] for d in error["details"]] == [17]
    assert why in error["details"][0]["message"].replace(",", "").replace("NUL character", "NUL")
    assert await _counts(sessions) == (0, 0)
    assert await balance(api, user, ws) == before


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_non_finite_numbers_are_422(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], constant: str
) -> None:
    user, ws = await funded_workspace(api)
    body = '{"records": [{"domain": "acme.com", "employee_count": ' + constant + '}], "fields": ["company_name"]}'
    response = await api.post(
        JOBS.format(ws=ws), content=body, headers={**user.headers, "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["success"] is False
    assert await _counts(sessions) == (0, 0)


async def test_more_records_than_the_maximum_is_413(
    enrichment_settings: Settings, temporal_client: object, sessions: async_sessionmaker[AsyncSession], clean_db: None
) -> None:
    app = create_app(enrichment_settings.model_copy(update={"enrichment_max_records": 50}))
    app.state.temporal_client = temporal_client
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        user, ws = await funded_workspace(client)
        too_many = await client.post(
            JOBS.format(ws=ws), json={"records": people(51), "fields": ["company_name"]}, headers=user.headers
        )
        assert too_many.status_code == 413, too_many.text
        assert too_many.json()["error"]["code"] == "too_many_records"
        assert too_many.json()["error"]["details"] == {"max_records": 50, "records": 51}
        assert await _counts(sessions) == (0, 0)
        at_most = await client.post(
            JOBS.format(ws=ws), json={"records": people(50), "fields": ["company_name"]}, headers=user.headers
        )
        assert at_most.status_code == 201, at_most.text
        assert await _counts(sessions) == (1, 50)
    await app.state.engine.dispose()


async def test_the_job_body_is_still_documented(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/api/v1/openapi.json")).json()
    body = spec["paths"]["/api/v1/workspaces/{workspace_id}/enrichment-jobs"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"records", "fields"}
    assert "$ref" not in json.dumps(schema)
