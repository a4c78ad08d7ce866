"""Every SQL statement of the webhooks module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import DeliveryStatus, WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: WebhookSubscription | WebhookDelivery | WebhookDeliveryAttempt) -> None:
        self.session.add(row)
        await self.session.flush()

    async def subscriptions(self, workspace_id: uuid.UUID) -> Sequence[WebhookSubscription]:
        stmt = (
            select(WebhookSubscription)
            .where(WebhookSubscription.workspace_id == workspace_id)
            .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def subscription(self, workspace_id: uuid.UUID, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        stmt = select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, WebhookSubscription.workspace_id == workspace_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def subscription_by_id(self, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        return await self.session.get(WebhookSubscription, subscription_id)

    async def delete_subscription(self, workspace_id: uuid.UUID, subscription_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id, WebhookSubscription.workspace_id == workspace_id)
            .returning(WebhookSubscription.id)
        )
        return result.scalar_one_or_none() is not None

    async def deliveries_of_job(self, job_id: uuid.UUID) -> Sequence[WebhookDelivery]:
        stmt = select(WebhookDelivery).where(WebhookDelivery.job_id == job_id).order_by(WebhookDelivery.created_at)
        return (await self.session.execute(stmt)).scalars().all()

    async def deliveries_of_subscription(
        self, workspace_id: uuid.UUID, subscription_id: uuid.UUID, limit: int = 100
    ) -> Sequence[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.created_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def delivery(self, delivery_id: uuid.UUID, *, for_update: bool = False) -> WebhookDelivery | None:
        stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def attempts(self, delivery_id: uuid.UUID) -> Sequence[WebhookDeliveryAttempt]:
        stmt = (
            select(WebhookDeliveryAttempt)
            .where(WebhookDeliveryAttempt.delivery_id == delivery_id)
            .order_by(WebhookDeliveryAttempt.attempt_no, WebhookDeliveryAttempt.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def record_attempt(
        self,
        delivery_id: uuid.UUID,
        attempt_no: int,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        final_status: DeliveryStatus | None,
    ) -> None:
        self.session.add(
            WebhookDeliveryAttempt(
                delivery_id=delivery_id,
                attempt_no=attempt_no,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )
        )
        values: dict[str, object] = {
            "attempt_count": WebhookDelivery.attempt_count + 1,
            "response_status": status_code,
            "last_error": error,
        }
        if final_status is not None:
            values["status"] = final_status.value
            values["completed_at"] = datetime.now(UTC)
        await self.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))
        await self.session.flush()
