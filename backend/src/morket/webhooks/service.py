"""Webhook subscriptions and signed delivery of job events."""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.config import Settings
from morket.core.errors import NotFound, Unprocessable
from morket.core.netsafety import LoopbackAllowance, pinned_request_options, pinned_url
from morket.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from morket.webhooks.destinations import DestinationRefused, check_destination, loopback_allowance
from morket.webhooks.repository import WebhookRepository
from morket.webhooks.schemas import DeliveryOut, WebhookCreated, WebhookOut
from morket.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

JOB_EVENTS = {"completed": "job.completed", "partially_completed": "job.completed", "budget_reached": "job.completed"}


def event_for_status(status: str) -> str:
    """`partially_completed` is a completed job with some failed records: it fires job.completed."""
    return JOB_EVENTS.get(status, f"job.{status}")


class SecretBox:
    """AES-GCM for signing secrets, with a key derived from the master key (never the key itself)."""

    def __init__(self, master_key: bytes) -> None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"morket-webhook-secrets-v1")
        self._aead = AESGCM(hkdf.derive(master_key))

    def seal(self, secret: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), b"webhook")

    def open(self, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], b"webhook").decode()


@dataclass(frozen=True)
class PreparedDelivery:
    delivery_id: uuid.UUID
    url: str
    body: bytes
    secret: str | None
    status: str


@dataclass(frozen=True)
class AttemptOutcome:
    outcome: str  # succeeded | retry | failed
    status_code: int | None
    error: str | None


def _out(sub: WebhookSubscription) -> WebhookOut:
    return WebhookOut(id=sub.id, url=sub.url, events=list(sub.events), created_at=sub.created_at)


class WebhookService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = WebhookRepository(session)
        self.box = SecretBox(settings.master_key)

    # subscriptions ----------------------------------------------------------------------

    async def create(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID | None, url: str, events: Sequence[str]
    ) -> WebhookCreated:
        try:
            await check_destination(url, loopback_allowance(self.settings))
        except DestinationRefused as exc:
            raise Unprocessable(
                f"This webhook destination is not allowed: {exc}.",
                code="destination_refused",
                details=[{"field": "url", "message": str(exc), "reason": exc.reason.value}],
            ) from None
        secret = "whsec_" + secrets.token_urlsafe(32)
        sub = WebhookSubscription(
            workspace_id=workspace_id,
            url=url,
            events=sorted(set(events)),
            secret_encrypted=self.box.seal(secret),
            created_by=user_id,
        )
        await self.repo.add(sub)
        await self.session.refresh(sub)
        return WebhookCreated(**_out(sub).model_dump(), secret=secret)

    async def list_subscriptions(self, workspace_id: uuid.UUID) -> list[WebhookOut]:
        return [_out(sub) for sub in await self.repo.subscriptions(workspace_id)]

    async def delete(self, workspace_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
        if not await self.repo.delete_subscription(workspace_id, subscription_id):
            raise NotFound("Webhook not found.")

    async def deliveries(self, workspace_id: uuid.UUID, subscription_id: uuid.UUID) -> list[DeliveryOut]:
        if await self.repo.subscription(workspace_id, subscription_id) is None:
            raise NotFound("Webhook not found.")
        rows = await self.repo.deliveries_of_subscription(workspace_id, subscription_id)
        return [DeliveryOut.model_validate(row, from_attributes=True) for row in rows]

    # events -----------------------------------------------------------------------------

    async def enqueue_job_event(
        self, workspace_id: uuid.UUID, job_id: uuid.UUID, event: str, payload: dict[str, Any]
    ) -> list[uuid.UUID]:
        """One pending delivery per subscription to `event`; written in the caller's transaction.

        Idempotent per job: a second call (a retried finalization) returns the first call's deliveries.
        """
        existing = await self.repo.deliveries_of_job(job_id)
        if existing:
            return [d.id for d in existing]
        ids: list[uuid.UUID] = []
        for sub in await self.repo.subscriptions(workspace_id):
            if event not in sub.events:
                continue
            delivery = WebhookDelivery(
                workspace_id=workspace_id,
                subscription_id=sub.id,
                job_id=job_id,
                event=event,
                url=sub.url,
                payload={"id": str(uuid.uuid4()), "event": event, "data": payload},
                status=DeliveryStatus.PENDING.value,
                attempt_count=0,
            )
            await self.repo.add(delivery)
            ids.append(delivery.id)
        return ids

    async def prepare(self, delivery_id: uuid.UUID) -> PreparedDelivery | None:
        delivery = await self.repo.delivery(delivery_id)
        if delivery is None:
            return None
        secret = None
        if delivery.subscription_id is not None:
            sub = await self.repo.subscription_by_id(delivery.subscription_id)
            secret = self.box.open(sub.secret_encrypted) if sub is not None else None
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        return PreparedDelivery(delivery.id, delivery.url, body, secret, delivery.status)

    async def record_attempt(
        self, delivery_id: uuid.UUID, attempt_no: int, outcome: AttemptOutcome, duration_ms: int
    ) -> None:
        final = {"succeeded": DeliveryStatus.SUCCEEDED, "failed": DeliveryStatus.FAILED}.get(outcome.outcome)
        await self.repo.record_attempt(
            delivery_id, attempt_no, outcome.status_code, outcome.error, duration_ms, final_status=final
        )


class DeliveryError(StrEnum):
    """What a stored delivery error says. Coarse on purpose: a member must not learn from it
    whether a port is closed, filtered or speaks something other than HTTP."""

    REFUSED = "destination refused"
    UNREACHABLE = "the receiver could not be reached"
    DELETED = "the subscription was deleted"


async def send_signed(
    http: httpx.AsyncClient,
    prepared: PreparedDelivery,
    *,
    final: bool,
    timeout: float,
    allowance: LoopbackAllowance,
) -> tuple[AttemptOutcome, int]:
    """One POST of a prepared delivery. Returns the outcome and the duration in ms; never raises."""
    started = time.monotonic()
    if prepared.secret is None:
        return AttemptOutcome("failed", None, DeliveryError.DELETED.value), 0
    try:
        checked = await check_destination(prepared.url, allowance)
    except DestinationRefused as exc:
        return AttemptOutcome("failed", None, f"{DeliveryError.REFUSED.value}: {exc}"), 0
    timestamp = str(int(time.time()))
    options = pinned_request_options(checked)
    headers = {
        **options["headers"],
        "Content-Type": "application/json",
        "User-Agent": "Morket-Webhooks/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(prepared.secret, timestamp, prepared.body),
    }
    retry_or_fail = "failed" if final else "retry"
    try:
        # To the checked address, not the name: no second resolution between check and connect.
        response = await http.post(
            pinned_url(checked),
            content=prepared.body,
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
            extensions=options.get("extensions"),
        )
    except httpx.HTTPError:
        elapsed = int((time.monotonic() - started) * 1000)
        return AttemptOutcome(retry_or_fail, None, DeliveryError.UNREACHABLE.value), elapsed
    elapsed = int((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        return AttemptOutcome("succeeded", response.status_code, None), elapsed
    # A redirect is not followed (it could point anywhere); it counts as the receiver's failure.
    return AttemptOutcome(retry_or_fail, response.status_code, f"the receiver answered {response.status_code}"), elapsed
