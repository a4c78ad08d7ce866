"""The service on a real socket: the endpoints, the persisted queue (restart loses nothing),
batch jobs with progress and cancel, signed webhooks, metrics."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from morket.webhooks import signing as api_signing

from morket_scraper import webhooks
from tests import pages
from tests.conftest import Service, Site, make_settings, start_site, wait_until

SECRET = "whsec-" + "s" * 30


@dataclass
class Receiver:
    site: Site
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 0

    @property
    def url(self) -> str:
        return self.site.url + "/hook"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append({"body": body, "headers": dict(request.headers)})
        if len(self.received) <= self.fail_first:
            return web.Response(status=500)
        return web.Response(status=204)

    def delivered(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received[self.fail_first :]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    site = Site("127.0.0.1")
    runner = await start_site(site)
    hook = Receiver(site)
    site.pages["/hook"] = hook.handle
    yield hook
    await runner.cleanup()


def test_our_signature_is_the_apis() -> None:
    body = b'{"event":"scrape.job.completed"}'
    assert webhooks.sign(SECRET, "1700000000", body) == api_signing.sign(SECRET, "1700000000", body)
    assert (webhooks.TIMESTAMP_HEADER, webhooks.SIGNATURE_HEADER) == (
        api_signing.TIMESTAMP_HEADER,
        api_signing.SIGNATURE_HEADER,
    )


async def test_service_key_and_validation(make_service: Callable[..., Awaitable[Service]], site: Site) -> None:
    service = await make_service()
    async with service.client() as http:
        for headers in ({"X-Service-Key": ""}, {"X-Service-Key": "wrong"}):
            response = await http.post("/api/v1/scrape", json={"url": site.url}, headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "invalid_service_key"
        async with httpx.AsyncClient(base_url=service.url) as anonymous:
            response = await anonymous.get(f"/api/v1/scrape/jobs/{uuid.uuid4()}")
            assert response.status_code == 401
        response = await http.post("/api/v1/scrape", json={"url": "not a url"})
        assert response.status_code == 422 and response.json()["success"] is False
        response = await http.post("/api/v1/scrape/batch", json={"targets": [{"url": site.url}] * 101})
        assert response.status_code == 422
        response = await http.post("/api/v1/scrape", json={"url": site.url, "webhook_url": site.url + "/x"})
        assert response.status_code == 422
        response = await http.get("/api/v1/scrape/00000000-0000-0000-0000-000000000000")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        response = await http.get("/api/v1/scrape/jobs/00000000-0000-0000-0000-000000000000")
        assert response.status_code == 404
        assert (await http.get("/health")).json()["data"]["browser"]["ready"] is True
        assert (await http.get("/readiness")).json()["data"]["ready"] is True


async def test_async_and_sync_tasks_with_signed_webhook(
    make_service: Callable[..., Awaitable[Service]], site: Site, receiver: Receiver
) -> None:
    service = await make_service(respect_robots=False)
    url = site.page("/", pages.COMPANY_JSONLD)
    async with service.client() as http:
        response = await http.post("/api/v1/scrape/sync", json={"url": url, "follow_links": False})
        assert response.status_code == 200
        task = response.json()["data"]
        assert task["status"] == "completed"
        assert task["result"]["outcome"] == "success"
        assert task["result"]["fields"]["company_name"]["value"] == "Acme Rockets Inc."
        assert task["result"]["fields"]["company_name"]["source_url"] == url

        receiver.fail_first = 1  # the first delivery fails: the retry schedule delivers it
        response = await http.post(
            "/api/v1/scrape",
            json={"url": url, "target_type": "company", "webhook_url": receiver.url, "webhook_secret": SECRET},
        )
        assert response.status_code == 202
        task_id = response.json()["data"]["id"]
        assert response.json()["data"]["status"] in ("queued", "running", "completed")

        async def finished() -> bool:
            data = (await http.get(f"/api/v1/scrape/{task_id}")).json()["data"]
            return bool(data["status"] == "completed")

        await wait_until(finished, what="the async task")
        await wait_until(lambda: _async(len(receiver.received) >= 2), what="the webhook retry")
    first, second = receiver.received[0], receiver.received[1]
    assert first["body"] == second["body"]  # a retry resends the same event
    for delivery in receiver.received:
        headers = delivery["headers"]
        assert api_signing.verify(
            SECRET, headers["X-Morket-Timestamp"], delivery["body"], headers["X-Morket-Signature"]
        )
    event = json.loads(second["body"])
    assert event["event"] == "scrape.task.completed"
    assert event["data"]["task_id"] == task_id
    assert event["data"]["result"]["fields"]["company_name"]["value"] == "Acme Rockets Inc."


async def test_a_restart_loses_no_pending_webhook_delivery(
    make_service: Callable[..., Awaitable[Service]], site: Site, receiver: Receiver, database_url: str
) -> None:
    """The first attempt fails; the service stops before the retry is due (the API's schedule: 5 s);
    the next process, on the same database, delivers the same event, signed, on schedule."""
    first = await make_service(respect_robots=False, webhook_retry_delays="5,10,20")
    receiver.fail_first = 1
    url = site.page("/", pages.COMPANY_JSONLD)
    async with first.client() as http:
        response = await http.post(
            "/api/v1/scrape",
            json={"url": url, "follow_links": False, "webhook_url": receiver.url, "webhook_secret": SECRET},
        )
        assert response.status_code == 202
        task_id = response.json()["data"]["id"]
        await wait_until(lambda: _async(len(receiver.received) == 1), what="the first attempt")
    failed_at = time.monotonic()
    await first.stop()
    assert time.monotonic() - failed_at < 5, "the retry fell due before the service stopped: nothing was tested"

    conn = await asyncpg.connect(make_settings(database_url).asyncpg_dsn)
    query = "SELECT * FROM scraper.webhook_deliveries WHERE (body::jsonb -> 'data' ->> 'task_id') = $1"
    try:
        pending = await conn.fetchrow(query, task_id)
        assert (pending["status"], pending["attempts"], pending["last_status"]) == ("pending", 1, 500)
        assert len(receiver.received) == 1

        await make_service(respect_robots=False, webhook_retry_delays="5,10,20")

        async def delivered() -> bool:
            row = await conn.fetchrow(query, task_id)
            return bool(row["status"] == "delivered")

        await wait_until(delivered, timeout=30, what="the retry after the restart")
        row = await conn.fetchrow(query, task_id)
    finally:
        await conn.close()
    assert (row["attempts"], row["last_status"], row["last_error"]) == (2, 204, None)
    # The retry came on schedule (not at once because of the restart) and resent the same event.
    assert (row["finished_at"] - pending["next_attempt_at"]).total_seconds() >= 0
    assert len(receiver.received) == 2
    first_try, retry = receiver.received
    assert first_try["body"] == retry["body"]
    headers = retry["headers"]
    assert api_signing.verify(SECRET, headers["X-Morket-Timestamp"], retry["body"], headers["X-Morket-Signature"])
    event = json.loads(retry["body"])
    assert (event["event"], event["data"]["task_id"]) == ("scrape.task.completed", task_id)


async def _async(value: bool) -> bool:
    return value


async def test_batch_progress_results_and_cancel(
    make_service: Callable[..., Awaitable[Service]], site: Site, receiver: Receiver
) -> None:
    service = await make_service(respect_robots=False, workers=1)
    gate = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response(text=pages.COMPANY_MICRODATA, content_type="text/html")

    site.pages["/slow"] = slow
    urls = [site.url + "/slow"] + [site.page(f"/b{i}", pages.COMPANY_MICRODATA) for i in range(4)]
    async with service.client() as http:
        response = await http.post(
            "/api/v1/scrape/batch",
            json={
                "targets": [{"url": u, "mode": "http"} for u in urls],
                "webhook_url": receiver.url,
                "webhook_secret": SECRET,
                "follow_links": False,
            },
        )
        assert response.status_code == 202
        job_id = response.json()["data"]["job_id"]
        # The single worker is stuck on /slow (first in line); the other four wait in the queue.
        await wait_until(lambda: _async(bool(site.hits_to("/slow"))), what="the slow page")
        job = (await http.get(f"/api/v1/scrape/jobs/{job_id}")).json()["data"]
        assert job["status"] == "running"
        assert job["progress"] == {"total": 5, "queued": 4, "running": 1, "completed": 0, "failed": 0, "cancelled": 0}
        response = await http.post(f"/api/v1/scrape/jobs/{job_id}/cancel")
        assert response.status_code == 200
        assert response.json()["data"]["cancelled_tasks"] == 4
        assert (await http.post(f"/api/v1/scrape/jobs/{job_id}/cancel")).status_code == 409
        gate.set()  # the running task finishes; the job closes as cancelled

        async def closed() -> bool:
            data = (await http.get(f"/api/v1/scrape/jobs/{job_id}")).json()["data"]
            return data["finished_at"] is not None

        await wait_until(closed, what="the job to close")
        job = (await http.get(f"/api/v1/scrape/jobs/{job_id}")).json()["data"]
        assert job["status"] == "cancelled"
        assert job["progress"]["completed"] == 1 and job["progress"]["cancelled"] == 4
        results = (await http.get(f"/api/v1/scrape/jobs/{job_id}/results")).json()
        assert results["meta"]["total"] == 1
        assert results["data"][0]["url"] == urls[0]
        assert results["data"][0]["result"]["fields"]["company_name"]["value"] == "Bolt Bakery"
        await wait_until(lambda: _async(len(receiver.received) >= 1), what="the job webhook")
    assert [h.path for h in site.hits] == ["/slow"]  # cancelled targets were never fetched
    (event,) = receiver.delivered()
    assert event["event"] == "scrape.job.cancelled"
    assert event["data"]["progress"]["cancelled"] == 4


async def test_a_restart_loses_no_queued_or_running_task(
    make_service: Callable[..., Awaitable[Service]], site: Site
) -> None:
    first = await make_service(respect_robots=False, workers=1)
    gate = asyncio.Event()
    calls = 0

    async def hangs_once(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await gate.wait()  # the first service dies while this task is running
        return web.Response(text=pages.COMPANY_MICRODATA, content_type="text/html")

    site.pages["/hang"] = hangs_once
    urls = [site.url + "/hang"] + [site.page(f"/r{i}", pages.COMPANY_MICRODATA) for i in range(3)]
    async with first.client() as http:
        response = await http.post(
            "/api/v1/scrape/batch",
            json={"targets": [{"url": u, "mode": "http"} for u in urls], "follow_links": False},
        )
        job_id = response.json()["data"]["job_id"]
        await wait_until(lambda: _async(calls == 1), what="the first task to start")
    await first.stop()
    gate.set()

    second = await make_service(respect_robots=False, workers=2)
    async with second.client() as http:

        async def done() -> bool:
            data = (await http.get(f"/api/v1/scrape/jobs/{job_id}")).json()["data"]
            return data["status"] == "completed"

        await wait_until(done, what="the job after the restart")
        job = (await http.get(f"/api/v1/scrape/jobs/{job_id}")).json()["data"]
        assert job["progress"]["completed"] == 4
        results = (await http.get(f"/api/v1/scrape/jobs/{job_id}/results")).json()["data"]
        assert sorted(r["url"] for r in results) == sorted(urls)
        interrupted = next(r for r in results if r["url"] == urls[0])
        assert interrupted["attempts"] == 2
        metrics = (await http.get("/metrics")).text
    assert "scraper_queue_depth 0.0" in metrics
    assert 'scraper_pages_total{mode="http"}' in metrics
    assert 'scraper_tasks_total{outcome="success"} 4.0' in metrics
    assert "scraper_task_seconds_bucket" in metrics
