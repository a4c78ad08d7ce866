"""AES-256-GCM sealing: per-workspace keys, fresh nonces, and ciphertexts bound to their row."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.credentials.crypto import CredentialCipher, CredentialDecryptError, Sealed
from morket.credentials.schemas import CredentialCreate
from morket.credentials.service import CredentialService, CredentialUnreadable, DecryptedCredential

MASTER = bytes.fromhex("ab" * 32)


@pytest.fixture
def cipher() -> CredentialCipher:
    return CredentialCipher({1: MASTER}, 1)


def test_roundtrip_with_fresh_nonces(cipher: CredentialCipher) -> None:
    ws, cred = uuid.uuid4(), uuid.uuid4()
    first = cipher.encrypt(ws, cred, b"secret")
    second = cipher.encrypt(ws, cred, b"secret")
    assert len(first.nonce) == 12 and first.nonce != second.nonce and first.ciphertext != second.ciphertext
    assert len(first.ciphertext) == len(b"secret") + 16  # the GCM tag travels with the ciphertext
    assert cipher.decrypt(ws, cred, first) == cipher.decrypt(ws, cred, second) == b"secret"


def test_ciphertext_is_bound_to_workspace_and_credential(cipher: CredentialCipher) -> None:
    ws, cred = uuid.uuid4(), uuid.uuid4()
    sealed = cipher.encrypt(ws, cred, b"secret")
    with pytest.raises(CredentialDecryptError):
        cipher.decrypt(uuid.uuid4(), cred, sealed)
    with pytest.raises(CredentialDecryptError):
        cipher.decrypt(ws, uuid.uuid4(), sealed)
    tampered = Sealed(bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:], sealed.nonce, 1)
    with pytest.raises(CredentialDecryptError):
        cipher.decrypt(ws, cred, tampered)
    with pytest.raises(CredentialDecryptError):
        cipher.decrypt(ws, cred, Sealed(sealed.ciphertext, sealed.nonce, key_version=2))


def test_other_master_key_cannot_decrypt(cipher: CredentialCipher) -> None:
    ws, cred = uuid.uuid4(), uuid.uuid4()
    sealed = cipher.encrypt(ws, cred, b"secret")
    with pytest.raises(CredentialDecryptError, match=r"^credential could not be decrypted$"):
        CredentialCipher({1: bytes(32)}, 1).decrypt(ws, cred, sealed)


def test_reprs_hold_no_secrets(cipher: CredentialCipher) -> None:
    sealed = cipher.encrypt(uuid.uuid4(), uuid.uuid4(), b"secret")
    assert sealed.ciphertext.hex() not in repr(sealed) and repr(sealed.ciphertext) not in repr(sealed)
    assert MASTER.hex() not in repr(cipher) and repr(MASTER) not in repr(cipher)
    decrypted = DecryptedCredential(id=uuid.uuid4(), provider="apollo", name="a", api_key="sk-live-1", extra={"s": 1})
    assert "sk-live-1" not in repr(decrypted) and "'s'" not in repr(decrypted)


async def _workspace(session: AsyncSession) -> uuid.UUID:
    ws = uuid.uuid4()
    await session.execute(
        text("INSERT INTO workspaces (id, name, slug) VALUES (:id, 'W', :slug)"), {"id": ws, "slug": f"w-{ws.hex}"}
    )
    return ws


@pytest.mark.usefixtures("clean_db")
async def test_copied_ciphertext_fails_in_another_row_or_workspace(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with unit_of_work(sessions) as session:
        ws_a, ws_b = await _workspace(session), await _workspace(session)
        vault = CredentialService(session, settings)
        source = await vault.create(ws_a, None, CredentialCreate(provider="apollo", api_key="apollo-secret-AAAA"))
        same_ws = await vault.create(ws_a, None, CredentialCreate(provider="hunter", api_key="hunter-secret-BBBB"))
        other_ws = await vault.create(ws_b, None, CredentialCreate(provider="apollo", api_key="apollo-secret-CCCC"))
        # An attacker with write access to the table copies the apollo ciphertext into other rows.
        for target in (same_ws.id, other_ws.id):
            await session.execute(
                text(
                    "UPDATE credentials SET ciphertext = s.ciphertext, nonce = s.nonce "
                    "FROM credentials s WHERE s.id = :src AND credentials.id = :dst"
                ),
                {"src": source.id, "dst": target},
            )
    async with unit_of_work(sessions) as session:
        vault = CredentialService(session, settings)
        opened = await vault.get_decrypted(ws_a, "apollo")
        assert opened is not None and opened.api_key == "apollo-secret-AAAA"
        with pytest.raises(CredentialUnreadable) as excinfo:
            await vault.get_decrypted(ws_a, "hunter")
        assert excinfo.value.status_code == 503
        with pytest.raises(CredentialUnreadable):
            await vault.get_decrypted(ws_b, "apollo")
        assert await vault.get_decrypted(ws_b, "hunter") is None


@pytest.mark.usefixtures("clean_db")
async def test_get_decrypted_returns_the_newest_with_extra(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with unit_of_work(sessions) as session:
        ws = await _workspace(session)
        vault = CredentialService(session, settings)
        await vault.create(ws, None, CredentialCreate(provider="openai", api_key="sk-first-00000000"))
    async with unit_of_work(sessions) as session:
        await CredentialService(session, settings).create(
            ws,
            None,
            CredentialCreate(
                provider="openai", name="LLM", api_key="sk-second-1111111", extra={"base_url": "http://llm"}
            ),
        )
    async with unit_of_work(sessions) as session:
        opened = await CredentialService(session, settings).get_decrypted(ws, "openai")
    assert opened is not None
    assert (opened.name, opened.api_key, opened.extra) == ("LLM", "sk-second-1111111", {"base_url": "http://llm"})
