"""Who may call the internal credential read: another Morket service holding SERVICE_API_KEY."""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from morket.core.deps import SettingsDep
from morket.core.errors import ServiceUnavailable, Unauthorized

log = logging.getLogger("morket.credentials")
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


@dataclass(frozen=True)
class ServiceCaller:
    actor: str
    request_id: str | None


async def service_caller(
    request: Request,
    settings: SettingsDep,
    x_service_key: Annotated[str | None, Header(description="SERVICE_API_KEY of the calling service")] = None,
    x_service_name: Annotated[str | None, Header(description="Name of the calling service, for the audit log")] = None,
) -> ServiceCaller:
    if settings.service_api_key is None:
        raise ServiceUnavailable(
            "Internal service access is disabled: SERVICE_API_KEY is not configured.", code="service_auth_disabled"
        )
    if x_service_key is None or not hmac.compare_digest(
        x_service_key.encode("utf-8", "surrogateescape"), settings.service_api_key.encode()
    ):
        log.warning("internal credential read refused: bad service key", extra={"path": request.url.path})
        raise Unauthorized("A valid X-Service-Key header is required.", code="invalid_service_key")
    name = x_service_name if x_service_name and _SERVICE_NAME.match(x_service_name) else "unnamed"
    request_id = getattr(request.state, "request_id", None)
    return ServiceCaller(actor=f"service:{name}", request_id=request_id)


CallingService = Annotated[ServiceCaller, Depends(service_caller)]
