"""Signed webhook callbacks, with the API's rules: the same headers and HMAC-SHA256 of
`timestamp.body` (a copy of morket.webhooks.signing, kept equal by tests/test_webhooks.py), the
same body shape ({"id", "event", "data"}) and the same retries (SCRAPER_WEBHOOK_RETRY_DELAYS)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

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


class WebhookSender:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: AddressPolicy,
        retry_delays: list[float],
        timeout: float,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = session
        self.policy = policy
        self.retry_delays = retry_delays
        self.timeout = timeout
        self._sleep = sleep
        self.delivered = 0
        self.failed = 0

    async def send(self, url: str, secret: str, event: str, data: dict[str, Any]) -> bool:
        """Deliver once, then retry on each delay of the schedule; True when a 2xx came back."""
        body = json.dumps({"id": str(uuid.uuid4()), "event": event, "data": data}, default=str).encode()
        for attempt, delay in enumerate([0.0, *self.retry_delays]):
            if delay:
                await self._sleep(delay)
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Morket-Scraper-Webhooks/1",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(secret, timestamp, body),
            }
            try:
                await check_url(url, self.policy)
                async with self.session.post(
                    url,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                    allow_redirects=False,
                ) as response:
                    if 200 <= response.status < 300:
                        self.delivered += 1
                        return True
                    log.info("webhook %s answered %s (attempt %d)", url, response.status, attempt + 1)
            except TargetRefused as exc:
                log.warning("webhook %s refused: %s", url, exc)
                break
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("webhook %s failed: %s (attempt %d)", url, type(exc).__name__, attempt + 1)
        self.failed += 1
        return False
