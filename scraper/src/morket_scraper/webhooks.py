"""Signed webhook callbacks, with the API's rules: the same headers and HMAC-SHA256 of
`timestamp.body` (a copy of morket.webhooks.signing, kept equal by tests/test_service.py), the
same body shape ({"id", "event", "data"}) and the same retries (SCRAPER_WEBHOOK_RETRY_DELAYS).
Deliveries are rows in PostgreSQL, written with the result they announce: a restart loses none."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from morket_scraper.repository import TaskRepository
from morket_scraper.safety import AddressPolicy, TargetRefused, check_url

TIMESTAMP_HEADER = "X-Morket-Timestamp"
SIGNATURE_HEADER = "X-Morket-Signature"

log = logging.getLogger("morket_scraper.webhooks")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 of `timestamp.body` with the subscriber's secret."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class Attempt:
    outcome: str  # "succeeded", "retry" (another attempt may follow) or "refused" (never retried)
    status: int | None = None
    error: str | None = None


def event_body(event: str, data: dict[str, Any]) -> str:
    """The body of one event, kept as sent: every retry resends the same bytes (the same event id)."""
    return json.dumps({"id": str(uuid.uuid4()), "event": event, "data": data}, default=str)


class WebhookSender:
    """One signed POST: the API's headers, no redirect followed, the destination checked first."""

    def __init__(self, session: aiohttp.ClientSession, policy: AddressPolicy, timeout: float) -> None:
        self.session = session
        self.policy = policy
        self.timeout = timeout

    async def attempt(self, url: str, secret: str, body: bytes) -> Attempt:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Morket-Scraper-Webhooks/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            # The session's resolver checks the address it connects to; IP literals are checked here.
            await check_url(url, self.policy)
            async with self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                if 200 <= response.status < 300:
                    return Attempt("succeeded", response.status)
                # A redirect is not followed (it could point anywhere): the receiver's failure, as the API's.
                return Attempt("retry", response.status, f"the receiver answered {response.status}")
        except TargetRefused as exc:
            return Attempt("refused", None, f"refused: {exc}")
        except aiohttp.ClientConnectorError as exc:
            cause: Any = exc.os_error
            if isinstance(cause, OSError) and str(cause).startswith("refused: "):
                return Attempt("refused", None, str(cause))
            return Attempt("retry", None, f"unreachable: {type(exc).__name__}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Attempt("retry", None, f"unreachable: {type(exc).__name__}")


class WebhookDispatcher:
    """Delivers the persisted webhooks (scraper.webhook_deliveries): the first attempt at once, then
    one per delay of SCRAPER_WEBHOOK_RETRY_DELAYS, the due time kept in the row, so a restart resumes
    the schedule where it was. A refused destination is not retried."""

    def __init__(
        self,
        repo: TaskRepository,
        sender: WebhookSender,
        retry_delays: list[float],
        *,
        concurrency: int = 4,
    ) -> None:
        self.repo = repo
        self.sender = sender
        self.retry_delays = retry_delays
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def notify(self) -> None:
        self._wake.set()

    async def _work(self) -> None:
        lease = self.sender.timeout + 30
        while True:
            try:
                delivery = await self.repo.claim_delivery(lease)
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("claiming a webhook delivery failed: %s", exc)
                delivery = None
            if delivery is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                continue
            self._wake.set()  # there may be more due: let another idle worker look
            await self._deliver(delivery)

    async def _deliver(self, delivery: asyncpg.Record) -> None:
        result = await self.sender.attempt(delivery["url"], delivery["secret"], delivery["body"].encode())
        attempts = delivery["attempts"] + 1
        if result.outcome == "succeeded":
            self.delivered += 1
            await self.repo.record_delivery(delivery["id"], "delivered", result.status, None, None)
            return
        if result.outcome == "retry" and attempts <= len(self.retry_delays):
            delay = self.retry_delays[attempts - 1]
            log.info("webhook %s: %s (attempt %d); next in %.0f s", delivery["url"], result.error, attempts, delay)
            await self.repo.record_delivery(delivery["id"], "pending", result.status, result.error, delay)
            return
        self.failed += 1
        log.warning("webhook %s failed for good: %s (attempt %d)", delivery["url"], result.error, attempts)
        await self.repo.record_delivery(delivery["id"], "failed", result.status, result.error, None)
