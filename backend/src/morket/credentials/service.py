"""The credential vault: store, list (masked), delete, decrypt for other modules, rotate keys.

The plaintext exists only in memory, between the request body and the cipher (on write) or the
cipher and the caller (on read). Database errors are re-raised without their cause, because a
driver error quotes the statement's parameters, and those include the ciphertext.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.config import Settings
from morket.core.envelope import is_data_error
from morket.core.errors import AppError, NotFound, ServiceUnavailable, Unprocessable
from morket.credentials import schemas
from morket.credentials.crypto import CredentialCipher, CredentialDecryptError, Sealed
from morket.credentials.repository import CredentialRepository
from morket.credentials.schemas import CredentialCreate, CredentialOut
from morket.models import Credential, CredentialAccessLog

log = logging.getLogger("morket.credentials")


class CredentialUnreadable(ServiceUnavailable):
    code = "credential_unreadable"


class CredentialNotFoundForService(NotFound):
    code = "credential_not_found"
    # The audit row of a miss must be committed although the request fails.
    persist = True


class CredentialWriteFailed(AppError):
    status_code = 500
    code = "credential_write_failed"


@dataclass(frozen=True)
class DecryptedCredential:
    id: uuid.UUID
    provider: str
    name: str
    # repr=False: a DecryptedCredential in a log line or a traceback never shows the secret.
    api_key: str = field(repr=False)
    extra: dict[str, Any] = field(repr=False, default_factory=dict)


def mask(key_hint: str) -> str:
    return "****" + key_hint


def _out(credential: Credential) -> CredentialOut:
    return CredentialOut(
        id=credential.id,
        provider=credential.provider,
        name=credential.name,
        masked_key=mask(credential.key_hint),
        key_version=credential.key_version,
        created_by=credential.created_by,
        created_at=credential.created_at,
        updated_at=credential.updated_at,
    )


def _payload(api_key: str, extra: dict[str, Any]) -> bytes:
    return json.dumps({"api_key": api_key, "extra": extra}, separators=(",", ":"), sort_keys=True).encode()


class CredentialService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.repo = CredentialRepository(session)
        self.cipher = CredentialCipher.from_settings(settings)

    async def create(self, workspace_id: uuid.UUID, user_id: uuid.UUID | None, data: CredentialCreate) -> CredentialOut:
        credential_id = uuid.uuid4()
        plaintext = _payload(data.api_key, data.extra or {})
        sealed = self._seal_checked(workspace_id, credential_id, plaintext)
        credential = Credential(
            id=credential_id,
            workspace_id=workspace_id,
            provider=data.provider,
            name=data.name or data.provider,
            key_hint=data.api_key[-4:],
            ciphertext=sealed.ciphertext,
            nonce=sealed.nonce,
            key_version=sealed.key_version,
            created_by=user_id,
        )
        try:
            await self.repo.add(credential)
        except DBAPIError as exc:
            if is_data_error(exc):  # the client's input (a value PostgreSQL cannot store), not our fault
                raise Unprocessable(
                    "The credential contains a value that cannot be stored.", code="invalid_data"
                ) from None
            raise CredentialWriteFailed("The credential could not be stored.") from None
        await self._audit(workspace_id, credential.id, credential.provider, "created", _user_actor(user_id), None)
        await self.session.refresh(credential)
        log.info(
            "credential stored",
            extra={"workspace_id": str(workspace_id), "credential_id": str(credential.id), "provider": data.provider},
        )
        return _out(credential)

    async def store_secret(
        self,
        workspace_id: uuid.UUID,
        user_id: uuid.UUID | None,
        credential_id: uuid.UUID | None,
        *,
        provider: str,
        name: str,
        secret: str,
        extra: dict[str, Any],
    ) -> uuid.UUID:
        """Create a credential, or re-seal an existing one in place (same id) with a new secret:
        OAuth tokens that rotate (CRM connections, docs/crm.md). Returns the credential's id."""
        credential = None
        if credential_id is not None:
            credential = await self.repo.get(workspace_id, credential_id, for_update=True)
        if credential is None:
            return (
                await self.create(
                    workspace_id, user_id, CredentialCreate(provider=provider, name=name, api_key=secret, extra=extra)
                )
            ).id
        sealed = self._seal_checked(workspace_id, credential.id, _payload(secret, extra))
        credential.ciphertext, credential.nonce, credential.key_version = (
            sealed.ciphertext,
            sealed.nonce,
            sealed.key_version,
        )
        credential.key_hint = secret[-4:]
        try:
            await self.session.flush()
        except DBAPIError:
            raise CredentialWriteFailed("The credential could not be stored.") from None
        await self._audit(workspace_id, credential.id, credential.provider, "rotated", _user_actor(user_id), None)
        return credential.id

    async def get_decrypted_by_id(
        self, workspace_id: uuid.UUID, credential_id: uuid.UUID
    ) -> DecryptedCredential | None:
        credential = await self.repo.get(workspace_id, credential_id)
        return None if credential is None else self._open(credential)

    async def list_masked(self, workspace_id: uuid.UUID) -> list[CredentialOut]:
        return [_out(c) for c in await self.repo.list_for_workspace(workspace_id)]

    async def delete(self, workspace_id: uuid.UUID, credential_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
        credential = await self.repo.get(workspace_id, credential_id, for_update=True)
        if credential is None:
            raise NotFound("Credential not found.", code="credential_not_found")
        provider = credential.provider
        await self.repo.delete(credential)
        await self._audit(workspace_id, credential_id, provider, "deleted", _user_actor(user_id), None)

    async def get_decrypted(self, workspace_id: uuid.UUID, provider: str) -> DecryptedCredential | None:
        """The most recently stored credential of `provider` in the workspace, decrypted; None if there is none."""
        credential = await self.repo.latest_for_provider(workspace_id, provider)
        if credential is None:
            return None
        return self._open(credential)

    async def get_decrypted_by_name(
        self, workspace_id: uuid.UUID, provider: str, name: str
    ) -> DecryptedCredential | None:
        """The most recent credential of `provider` named `name`, decrypted (HTTP columns' secrets)."""
        credential = await self.repo.latest_named(workspace_id, provider, name)
        return None if credential is None else self._open(credential)

    async def read_for_service(
        self, workspace_id: uuid.UUID, provider: str, *, actor: str, request_id: str | None
    ) -> DecryptedCredential:
        """`get_decrypted` for another service over HTTP; every read, found or not, is audited."""
        try:
            slug = schemas.check_provider(provider)
        except ValueError as exc:
            raise Unprocessable(str(exc), code="unknown_provider") from None
        credential = await self.get_decrypted(workspace_id, slug)
        await self._audit(
            workspace_id,
            credential.id if credential else None,
            slug,
            "service_read",
            actor,
            request_id,
            outcome="ok" if credential else "not_found",
        )
        if credential is None:
            raise CredentialNotFoundForService(f"No {slug} credential is stored for this workspace.")
        log.info(
            "credential read by service",
            extra={"workspace_id": str(workspace_id), "credential_id": str(credential.id), "actor": actor},
        )
        return credential

    async def rotate_batch(self, batch_size: int = 100) -> int:
        """Re-encrypt up to `batch_size` rows sealed under an older key with the current key.

        Call it in a loop, one transaction per batch: the row locks are short, and the API keeps
        reading and writing throughout (it knows every key version). Returns the rows rotated.
        """
        rows = await self.repo.lock_batch_not_under(self.cipher.current_version, batch_size)
        for credential in rows:
            plaintext = self._open_bytes(credential)
            sealed = self._seal_checked(credential.workspace_id, credential.id, plaintext)
            credential.ciphertext = sealed.ciphertext
            credential.nonce = sealed.nonce
            credential.key_version = sealed.key_version
            await self._audit(credential.workspace_id, credential.id, credential.provider, "rotated", "cli", None)
        try:
            await self.session.flush()
        except DBAPIError:
            raise CredentialWriteFailed("The rotated credentials could not be stored.") from None
        return len(rows)

    async def count_by_version(self) -> dict[int, int]:
        return await self.repo.count_by_version()

    def _seal_checked(self, workspace_id: uuid.UUID, credential_id: uuid.UUID, plaintext: bytes) -> Sealed:
        sealed = self.cipher.encrypt(workspace_id, credential_id, plaintext)
        # Decrypt once before anything is committed: a write that cannot be read back never lands.
        try:
            roundtrip = self.cipher.decrypt(workspace_id, credential_id, sealed)
        except CredentialDecryptError:
            roundtrip = b""
        if roundtrip != plaintext:
            raise CredentialWriteFailed("The credential failed its encryption check and was not stored.")
        return sealed

    def _open_bytes(self, credential: Credential) -> bytes:
        sealed = Sealed(ciphertext=credential.ciphertext, nonce=credential.nonce, key_version=credential.key_version)
        try:
            return self.cipher.decrypt(credential.workspace_id, credential.id, sealed)
        except CredentialDecryptError:
            log.error(
                "credential cannot be decrypted",
                extra={"credential_id": str(credential.id), "version": credential.key_version},
            )
            raise CredentialUnreadable(
                "A stored credential cannot be decrypted with the configured keys; check ENCRYPTION_* settings."
            ) from None

    def _open(self, credential: Credential) -> DecryptedCredential:
        payload = json.loads(self._open_bytes(credential))
        return DecryptedCredential(
            id=credential.id,
            provider=credential.provider,
            name=credential.name,
            api_key=str(payload["api_key"]),
            extra=dict(payload.get("extra") or {}),
        )

    async def _audit(
        self,
        workspace_id: uuid.UUID,
        credential_id: uuid.UUID | None,
        provider: str,
        action: str,
        actor: str,
        request_id: str | None,
        *,
        outcome: str = "ok",
    ) -> None:
        await self.repo.add_access_log(
            CredentialAccessLog(
                workspace_id=workspace_id,
                credential_id=credential_id,
                provider=provider,
                action=action,
                actor=actor[:200],
                outcome=outcome,
                request_id=request_id,
            )
        )


def _user_actor(user_id: uuid.UUID | None) -> str:
    return f"user:{user_id}" if user_id else "system"


async def credential_names(session: AsyncSession, workspace_id: uuid.UUID, provider: str) -> frozenset[str]:
    """The names of the workspace's credentials of `provider` (no key material is read)."""
    return frozenset(
        c.name for c in await CredentialRepository(session).list_for_workspace(workspace_id) if c.provider == provider
    )
