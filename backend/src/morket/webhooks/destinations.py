"""Where webhooks may go: the rules of `morket.core.netsafety`, with this deployment's allowance.

Checked when a subscription is created and again right before each delivery, because DNS can
change in between; the delivery then connects to the address that was checked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from morket.core.config import Settings
from morket.core.netsafety import CheckedDestination, DestinationRefused, LoopbackAllowance, resolve_public

__all__ = ["DestinationRefused", "check_destination", "loopback_allowance"]


def loopback_allowance(settings: Settings) -> LoopbackAllowance:
    """The loopback ports of WEBHOOK_ALLOW_LOOPBACK, less the provider sandbox's (its admin API is open)."""
    denied: set[int] = set()
    if settings.provider_sandbox_url:
        try:
            sandbox = urlsplit(settings.provider_sandbox_url)
            denied.add(sandbox.port or (443 if sandbox.scheme == "https" else 80))
        except ValueError:
            pass
    return LoopbackAllowance(settings.webhook_loopback_ports, frozenset(denied))


async def check_destination(url: str, allowance: LoopbackAllowance) -> CheckedDestination:
    return await resolve_public(url, allowance)
