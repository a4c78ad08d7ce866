"""Answers computed once and served with an ETag: 304 when the client already has them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request, Response


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against our (strong) ETag."""
    if not if_none_match:
        return False
    candidates = [c.strip() for c in if_none_match.split(",")]
    return any(c == "*" or c.removeprefix("W/") == etag for c in candidates)


@dataclass(frozen=True)
class StaticAnswer:
    body: bytes
    etag: str
    media_type: str = "application/json"

    @classmethod
    def of(cls, body: bytes, media_type: str = "application/json") -> StaticAnswer:
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', media_type)

    def respond(self, request: Request, cache_control: str) -> Response:
        headers = {"ETag": self.etag, "Cache-Control": cache_control}
        if etag_matches(request.headers.get("if-none-match"), self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)
