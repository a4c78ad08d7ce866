"""The webhook delivery activity: one signed POST, logged as one attempt."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.webhooks.destinations import loopback_allowance
from morket.webhooks.service import WebhookService, send_signed
from morket.webhooks.workflows import DELIVER_WEBHOOK, AttemptInput, AttemptResult


class WebhookActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, http: httpx.AsyncClient) -> None:
        self.sessions = sessions
        self.settings = settings
        self.http = http

    @activity.defn(name=DELIVER_WEBHOOK)
    async def deliver(self, inp: AttemptInput) -> AttemptResult:
        delivery_id = uuid.UUID(inp.delivery_id)
        async with unit_of_work(self.sessions) as session:
            prepared = await WebhookService(session, self.settings).prepare(delivery_id)
        if prepared is None:
            return AttemptResult("failed")
        if prepared.status != "pending":
            # A retry of an attempt whose result was already written (e.g. the worker died after the commit).
            return AttemptResult(prepared.status)
        outcome, duration_ms = await send_signed(
            self.http,
            prepared,
            final=inp.final,
            timeout=inp.timeout_seconds,
            allowance=loopback_allowance(self.settings),
        )
        async with unit_of_work(self.sessions) as session:
            await WebhookService(session, self.settings).record_attempt(
                delivery_id, inp.attempt_no, outcome, duration_ms
            )
        return AttemptResult(outcome.outcome, outcome.status_code)
