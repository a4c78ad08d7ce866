"""AES-256-GCM sealing of credentials.

Each workspace gets its own key, derived by HKDF-SHA256 from the master key of a version, so a key
of one workspace opens nothing of another. Every encryption draws a fresh 96-bit nonce, and the
associated data names the workspace and the credential id: a ciphertext copied to another row or
workspace fails authentication instead of decrypting.

Nothing here logs, and no exception carries key material, plaintext, ciphertext or nonce.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from morket.core.config import Settings

NONCE_BYTES = 12
_HKDF_SALT = b"morket/credential-vault/v1"
_AAD_PREFIX = b"morket/credential/v1|"


class CredentialDecryptError(Exception):
    """The ciphertext does not open: wrong row, wrong workspace, tampered, or an unknown key version."""

    def __init__(self) -> None:
        super().__init__("credential could not be decrypted")


@dataclass(frozen=True)
class Sealed:
    # repr=False: a Sealed in a traceback or a debug print shows no bytes.
    ciphertext: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    key_version: int


def _associated_data(workspace_id: uuid.UUID, credential_id: uuid.UUID) -> bytes:
    return _AAD_PREFIX + workspace_id.bytes + credential_id.bytes


class CredentialCipher:
    def __init__(self, master_keys: dict[int, bytes], current_version: int) -> None:
        if current_version not in master_keys:
            raise ValueError("the current key version has no key")
        if any(len(key) != 32 for key in master_keys.values()):
            raise ValueError("master keys must be 32 bytes")
        self._master_keys = dict(master_keys)
        self.current_version = current_version

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialCipher:
        return cls(settings.encryption_keys, settings.encryption_key_version)

    def __repr__(self) -> str:
        return f"CredentialCipher(versions={sorted(self._master_keys)}, current={self.current_version})"

    @property
    def versions(self) -> frozenset[int]:
        return frozenset(self._master_keys)

    def _workspace_key(self, version: int, workspace_id: uuid.UUID) -> AESGCM:
        master = self._master_keys.get(version)
        if master is None:
            raise CredentialDecryptError()
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=b"workspace:" + workspace_id.bytes)
        return AESGCM(hkdf.derive(master))

    def encrypt(self, workspace_id: uuid.UUID, credential_id: uuid.UUID, plaintext: bytes) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        aead = self._workspace_key(self.current_version, workspace_id)
        ciphertext = aead.encrypt(nonce, plaintext, _associated_data(workspace_id, credential_id))
        return Sealed(ciphertext=ciphertext, nonce=nonce, key_version=self.current_version)

    def decrypt(self, workspace_id: uuid.UUID, credential_id: uuid.UUID, sealed: Sealed) -> bytes:
        if len(sealed.nonce) != NONCE_BYTES:
            raise CredentialDecryptError()
        aead = self._workspace_key(sealed.key_version, workspace_id)
        try:
            return aead.decrypt(sealed.nonce, sealed.ciphertext, _associated_data(workspace_id, credential_id))
        except InvalidTag:
            raise CredentialDecryptError() from None
