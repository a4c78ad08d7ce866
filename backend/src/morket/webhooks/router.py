from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from morket.core.deps import SessionDep, SettingsDep
from morket.core.envelope import Envelope, ok
from morket.webhooks.schemas import Deleted, DeliveryOut, WebhookCreate, WebhookCreated, WebhookOut
from morket.webhooks.service import WebhookService
from morket.workspaces.deps import AdminAccess, MemberAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/webhooks", tags=["webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_webhook(
    body: WebhookCreate, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[WebhookCreated]:
    """Subscribe a URL to job events (admin+). The signing secret is returned only here."""
    created = await WebhookService(session, settings).create(access.workspace_id, access.user_id, body.url, body.events)
    return ok(created)


@router.get("")
async def list_webhooks(access: MemberAccess, session: SessionDep, settings: SettingsDep) -> Envelope[list[WebhookOut]]:
    """The workspace's webhook subscriptions (member+), without their secrets."""
    return ok(await WebhookService(session, settings).list_subscriptions(access.workspace_id))


@router.delete("/{webhook_id}")
async def delete_webhook(
    webhook_id: uuid.UUID, access: AdminAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[Deleted]:
    """Remove a webhook subscription (admin+)."""
    await WebhookService(session, settings).delete(access.workspace_id, webhook_id)
    return ok(Deleted(id=webhook_id))


@router.get("/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: uuid.UUID, access: MemberAccess, session: SessionDep, settings: SettingsDep
) -> Envelope[list[DeliveryOut]]:
    """The latest deliveries of a subscription with their status and attempt count (member+)."""
    return ok(await WebhookService(session, settings).deliveries(access.workspace_id, webhook_id))
