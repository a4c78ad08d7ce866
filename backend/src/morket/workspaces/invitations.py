"""Invitations: the only way into a workspace other than creating it.

An admin (or owner) invites an email address with a role; only an owner may invite an owner. The
answer is the same whether or not the address has an account, so invitations cannot be used to
find out who is registered. The invitee accepts with the token, signed in with the invited
address: the token is shown once to the inviter (and in the accept link), stored as its SHA-256,
expires (INVITATION_TTL), works once and can be revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.errors import Conflict, Forbidden, NotFound
from morket.models import Invitation, InvitationStatus, Membership, Role
from morket.workspaces.repository import WorkspaceRepository
from morket.workspaces.schemas import InvitationCreated, InvitationOut, WorkspaceOut
from morket.workspaces.service import WorkspaceService

TOKEN_PREFIX = "minv_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _out(invitation: Invitation, now: datetime) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        workspace_id=invitation.workspace_id,
        email=invitation.email,
        role=invitation.role,
        status=invitation.status_at(now),
        invited_by=invitation.invited_by,
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
    )


class InvitationService:
    def __init__(self, session: AsyncSession, ttl: timedelta) -> None:
        self.session = session
        self.ttl = ttl
        self.repo = WorkspaceRepository(session)
        self.workspaces = WorkspaceService(session)

    async def invite(self, workspace_id: uuid.UUID, actor_id: uuid.UUID, email: str, role: Role) -> InvitationCreated:
        actor_role = await self.workspaces.lock_for_change(workspace_id, actor_id)
        if not actor_role.at_least(Role.ADMIN):
            raise Forbidden("Only admins and owners can invite.")
        WorkspaceService.check_may_grant(actor_role, role)
        address = email.strip().lower()
        existing = await self.repo.user_by_email(address)
        if existing is not None and await self.repo.membership(workspace_id, existing.id) is not None:
            raise Conflict("This address already belongs to a member of the workspace.", code="already_member")
        now = datetime.now(UTC)
        await self.repo.revoke_open_invitations(workspace_id, address, now)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        invitation = Invitation(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            email=address,
            role=role,
            token_hash=hash_token(token),
            invited_by=actor_id,
            expires_at=now + self.ttl,
        )
        await self.repo.add_invitation(invitation)
        await self.session.refresh(invitation)
        return InvitationCreated(
            **_out(invitation, now).model_dump(), token=token, accept_path=f"/invitations/accept#token={token}"
        )

    async def pending(self, workspace_id: uuid.UUID) -> list[InvitationOut]:
        now = datetime.now(UTC)
        return [_out(i, now) for i in await self.repo.pending_invitations(workspace_id, now)]

    async def revoke(self, workspace_id: uuid.UUID, actor_id: uuid.UUID, invitation_id: uuid.UUID) -> InvitationOut:
        actor_role = await self.workspaces.lock_for_change(workspace_id, actor_id)
        invitation = await self.repo.invitation(workspace_id, invitation_id)
        if invitation is None:
            raise NotFound("Invitation not found.", code="invitation_not_found")
        if invitation.role == Role.OWNER and actor_role != Role.OWNER:
            raise Forbidden("Only owners can revoke an invitation to the owner role.")
        now = datetime.now(UTC)
        if invitation.status_at(now) is not InvitationStatus.PENDING:
            raise Conflict("Only a pending invitation can be revoked.", code="invitation_not_pending")
        invitation.revoked_at = now
        await self.session.flush()
        return _out(invitation, now)

    async def accept(self, user_id: uuid.UUID, email: str, token: str) -> WorkspaceOut:
        invitation = await self.repo.invitation_by_token_hash(hash_token(token))
        if invitation is None:
            raise NotFound("This invitation does not exist.", code="invitation_not_found")
        now = datetime.now(UTC)
        status = invitation.status_at(now)
        if status is InvitationStatus.ACCEPTED:
            raise Conflict("This invitation has already been used.", code="invitation_used")
        if status is InvitationStatus.REVOKED:
            raise Conflict("This invitation was revoked.", code="invitation_revoked")
        if status is InvitationStatus.EXPIRED:
            raise Conflict("This invitation has expired; ask for a new one.", code="invitation_expired")
        if email.lower() != invitation.email:
            raise Forbidden(
                "This invitation is for another email address; sign in with that account to accept it.",
                code="invitation_for_another_account",
            )
        # The workspace lock serialises this with role changes and removals of the same workspace.
        if await self.repo.get(invitation.workspace_id, for_update=True) is None:
            raise NotFound("This invitation does not exist.", code="invitation_not_found")
        invitation.accepted_at = now
        invitation.accepted_by = user_id
        if await self.repo.membership(invitation.workspace_id, user_id) is not None:
            raise Conflict("You are already a member of this workspace.", code="already_member")
        membership = Membership(workspace_id=invitation.workspace_id, user_id=user_id, role=invitation.role)
        await self.repo.add_membership(membership)
        return await self.workspaces.get(invitation.workspace_id, invitation.role)
