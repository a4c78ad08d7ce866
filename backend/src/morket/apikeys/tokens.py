"""The key itself: how one is made, recognised and hashed. Pure functions, no I/O.

`mk_` + 8 hex characters (the prefix shown in lists) + 43 URL-safe characters (256 random bits).
Only the SHA-256 of the whole key is stored: the key is high-entropy, so a fast hash loses nothing
against guessing (there is nothing to brute-force), and the lookup stays one indexed equality on
every request, which a salted slow hash (argon2, bcrypt) could not give.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "mk_"
_PREFIX_HEX = 8
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + _PREFIX_HEX


@dataclass(frozen=True)
class PresentedApiKey:
    """A bearer credential that is an API key rather than an access token (not checked yet)."""

    token: str

    @property
    def key_hash(self) -> str:
        return hash_api_key(self.token)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_hex(_PREFIX_HEX // 2) + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]
