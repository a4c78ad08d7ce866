"""The activity side of a paced run: the pacing clock, heartbeats and waiting out a 429
(docs/runs.md). Sleeps here are clocks (a rate limit, a Retry-After), not waits for an event."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

WAIT_SLICE_SECONDS = 2.0  # a long wait is slept in slices: heartbeat and cancel check between


def heartbeat(*details: Any) -> None:
    """Heartbeat if running in an activity (the loops are also tested outside one)."""
    with contextlib.suppress(RuntimeError):
        activity.heartbeat(*details)


class PacingClock:
    """At most one request start per `interval` seconds, the first not before `not_before`
    (epoch seconds, carried from step to step by the workflow so the rate holds across steps)."""

    def __init__(self, not_before: float, interval: float) -> None:
        self.not_before = not_before
        self.interval = interval

    async def turn(self) -> None:
        """Wait for the next start's turn and book the one after it."""
        if (pause := self.not_before - time.time()) > 0:
            await asyncio.sleep(pause)
        self.not_before = max(time.time(), self.not_before) + self.interval


async def wait_out(seconds: float, cancelled: Callable[[], Awaitable[bool]]) -> bool:
    """Sleep `seconds` (a Retry-After), heartbeating; True as soon as `cancelled()` says so."""
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        await asyncio.sleep(min(left, WAIT_SLICE_SECONDS))
        heartbeat()
        if await cancelled():
            return True
    return False
