from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from morket.core.deps import SessionDep
from morket.core.envelope import Envelope, PageMeta, ok
from morket.credits.schemas import AccountOut, BillingUpdate, CreditsAdd, CreditTransactionOut, LedgerResult
from morket.credits.service import CreditService
from morket.workspaces.deps import OwnerAccess, ViewerAccess

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}/billing", tags=["billing"])


@router.get("")
async def get_billing(access: ViewerAccess, session: SessionDep) -> Envelope[AccountOut]:
    """Balance, reserved and available credits, and the auto-recharge settings (any member)."""
    return ok(await CreditService(session).account(access.workspace_id))


@router.put("")
async def update_billing(body: BillingUpdate, access: OwnerAccess, session: SessionDep) -> Envelope[AccountOut]:
    """Configure auto-recharge: threshold, amount, on/off (owner)."""
    settings = body.auto_recharge
    return ok(
        await CreditService(session).configure_auto_recharge(
            access.workspace_id, enabled=settings.enabled, threshold=settings.threshold, amount=settings.amount
        )
    )


@router.post("/credits", status_code=status.HTTP_201_CREATED)
async def add_credits(body: CreditsAdd, access: OwnerAccess, session: SessionDep) -> Envelope[LedgerResult]:
    """Add credits with a description (owner). A repeated idempotency_key returns the first result."""
    return ok(
        await CreditService(session).add(
            access.workspace_id,
            body.amount,
            body.description,
            idempotency_key=body.idempotency_key,
            created_by=access.user_id,
        )
    )


@router.get("/transactions")
async def list_transactions(
    access: ViewerAccess,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Envelope[list[CreditTransactionOut]]:
    """The ledger, newest first, paginated (any member)."""
    result = await CreditService(session).transactions(access.workspace_id, page, limit)
    return ok(result.items, PageMeta(page=page, limit=limit, total=result.total))
