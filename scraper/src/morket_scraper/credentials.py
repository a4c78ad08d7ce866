"""Provider credentials from the API's internal endpoint, cached in memory for 5 minutes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from morket_scraper.politeness import Clock


@dataclass(frozen=True)
class Credential:
    provider: str
    api_key: str
    extra: dict[str, Any]


class CredentialError(RuntimeError):
    pass


class CredentialClient:
    """GET {api}/api/v1/internal/workspaces/{id}/credentials/{provider} with X-Service-Key."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        service_key: str,
        *,
        ttl: float = 300.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")
        self.service_key = service_key
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[uuid.UUID, str], tuple[float, Credential | None]] = {}
        self.fetches = 0

    async def get(self, workspace_id: uuid.UUID, provider: str) -> Credential | None:
        """The workspace's credential for `provider`; None when it has none (cached too)."""
        key = (workspace_id, provider)
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < self.ttl:
            return cached[1]
        url = f"{self.api_url}/api/v1/internal/workspaces/{workspace_id}/credentials/{provider}"
        self.fetches += 1
        try:
            async with self.session.get(
                url, headers={"X-Service-Key": self.service_key, "X-Service-Name": "scraper"}
            ) as response:
                if response.status == 404:
                    credential = None
                elif response.status == 200:
                    data = (await response.json())["data"]
                    credential = Credential(data["provider"], data["api_key"], dict(data.get("extra") or {}))
                else:
                    raise CredentialError(f"the API answered {response.status} for the {provider} credential")
        except aiohttp.ClientError as exc:
            raise CredentialError(f"the API could not be reached: {type(exc).__name__}") from None
        self._cache[key] = (self._clock(), credential)
        return credential
