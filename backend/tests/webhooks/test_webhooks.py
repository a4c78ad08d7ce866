"""Subscriptions (roles, secret shown once, SSRF refusal) and signed delivery with retries."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.app import create_app
from morket.core.config import Settings
from morket.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.enrichment.helpers import create_job, funded_workspace, people, wait_for_job
from tests.factories import add_member, register
from tests.webhooks.receiver import Receiver

EVENTS = ["job.completed", "job.failed", "job.cancelled"]


async def subscribe(api: httpx.AsyncClient, headers: dict[str, str], ws: str, url: str) -> httpx.Response:
    return await api.post(f"/api/v1/workspaces/{ws}/webhooks", json={"url": url, "events": EVENTS}, headers=headers)


async def test_subscription_roles_and_secret_shown_once(api: httpx.AsyncClient) -> None:
    owner, ws = await funded_workspace(api, credits=0)
    member = await register(api)
    await add_member(api, owner, ws, member, "member")

    assert (await subscribe(api, member.headers, ws, "http://127.0.0.1:9/hook")).status_code == 403
    created = await subscribe(api, owner.headers, ws, "http://127.0.0.1:9/hook")
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["secret"].startswith("whsec_")

    listing = await api.get(f"/api/v1/workspaces/{ws}/webhooks", headers=member.headers)
    assert listing.status_code == 200
    assert listing.json()["data"][0]["id"] == data["id"]
    assert "secret" not in listing.text and data["secret"] not in listing.text

    path = f"/api/v1/workspaces/{ws}/webhooks/{data['id']}"
    assert (await api.delete(path, headers=member.headers)).status_code == 403
    other, other_ws = await funded_workspace(api, credits=0)
    assert (
        await api.delete(f"/api/v1/workspaces/{other_ws}/webhooks/{data['id']}", headers=other.headers)
    ).status_code == 404
    assert (await api.delete(path, headers=owner.headers)).status_code == 200
    assert (await api.delete(path, headers=owner.headers)).status_code == 404


async def test_private_destinations_refused_without_the_allow_list(
    enrichment_settings: Settings, clean_db: None
) -> None:
    strict = enrichment_settings.model_copy(update={"webhook_allow_loopback": ""})
    app = create_app(strict)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        owner, ws = await funded_workspace(client, credits=0)
        for url in ("http://127.0.0.1:8000/hook", "http://169.254.169.254/latest", "http://10.0.0.1/x"):
            response = await subscribe(client, owner.headers, ws, url)
            assert response.status_code == 422, url
            assert response.json()["error"]["code"] == "destination_refused"
    await app.state.engine.dispose()


async def deliveries(sessions: async_sessionmaker[AsyncSession], job_id: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT d.id, d.status, d.attempt_count, d.event,"
                " (SELECT count(*) FROM webhook_delivery_attempts a WHERE a.delivery_id = d.id) AS logged"
                " FROM webhook_deliveries d WHERE d.job_id = :j"
            ),
            {"j": job_id},
        )
        return [dict(r._mapping) for r in rows]


async def wait_delivered(
    sessions: async_sessionmaker[AsyncSession], job_id: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await deliveries(sessions, job_id)
        if rows and rows[0]["status"] != "pending":
            return rows[0]
        assert time.monotonic() < deadline, f"no final delivery: {rows}"
        await asyncio.sleep(0.1)


async def test_receiver_failing_twice_gets_one_signed_success(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api)
    with Receiver(failures=2) as receiver:
        secret = (await subscribe(api, user.headers, ws, receiver.url)).json()["data"]["secret"]
        job = await create_job(api, user, ws, {"records": people(5, tag="wh"), "fields": ["company_name"]})
        done = await wait_for_job(api, user, ws, job["id"])
        delivery = await wait_delivered(sessions, job["id"])
        assert delivery["status"] == "succeeded"
        assert delivery["attempt_count"] == 3 and delivery["logged"] == 3
        assert [c.status for c in receiver.calls] == [500, 500, 200]
        success = receiver.calls[-1]
        assert verify(
            secret, success.headers[TIMESTAMP_HEADER.lower()], success.body, success.headers[SIGNATURE_HEADER.lower()]
        )
        payload = json.loads(success.body)
        assert payload["event"] == "job.completed"
        assert payload["data"]["job_id"] == job["id"]
        assert payload["data"]["status"] == done["status"]
        # Same event each time: the retries carry the same body.
        assert len({c.body for c in receiver.calls}) == 1


async def test_unreachable_receiver_gets_four_attempts_then_failed(
    api: httpx.AsyncClient, worker: None, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user, ws = await funded_workspace(api)
    with Receiver() as closed:
        url = closed.url  # a port that nothing listens on once the receiver has stopped
    assert (await subscribe(api, user.headers, ws, url)).status_code == 201
    job = await create_job(api, user, ws, {"records": people(3, tag="un"), "fields": ["company_name"]})
    await wait_for_job(api, user, ws, job["id"])
    delivery = await wait_delivered(sessions, job["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == 4 and delivery["logged"] == 4
    listing = await api.get(f"/api/v1/workspaces/{ws}/webhooks", headers=user.headers)
    sub_id = listing.json()["data"][0]["id"]
    log = await api.get(f"/api/v1/workspaces/{ws}/webhooks/{sub_id}/deliveries", headers=user.headers)
    assert log.json()["data"][0]["status"] == "failed"
    assert log.json()["data"][0]["attempt_count"] == 4
