"""HMAC-SHA256 signatures of outbound webhooks, and how a receiver checks them."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Morket-Timestamp"
SIGNATURE_HEADER = "X-Morket-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 of `timestamp.body` with the subscription's secret."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
