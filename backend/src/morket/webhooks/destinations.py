"""Where webhooks may go: public addresses only (no SSRF into our network or cloud metadata).

Checked when a subscription is created and again right before each delivery, because DNS can
change in between. Loopback is allowed only with WEBHOOK_ALLOW_LOOPBACK (local development, tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

# Names that resolve to metadata services on some clouds even without a link-local literal.
_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
_METADATA_IPS = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class DestinationRefused(ValueError):
    pass


def _check_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_IPS:
        raise DestinationRefused(f"{ip} is a cloud metadata address")
    if ip.is_loopback:
        if allow_loopback:
            return
        raise DestinationRefused(f"{ip} is a loopback address")
    if ip.is_link_local:
        raise DestinationRefused(f"{ip} is a link-local address")
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        raise DestinationRefused(f"{ip} is not a public address")


def parse_destination(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("the URL must use http or https")
    if not parts.hostname:
        raise DestinationRefused("the URL has no host")
    if parts.username or parts.password:
        raise DestinationRefused("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DestinationRefused("the URL has an invalid port") from None
    return parts.hostname.lower().rstrip("."), port


async def check_destination(url: str, *, allow_loopback: bool) -> list[str]:
    """Resolve the URL's host; refuse it unless every address is allowed. Returns the addresses."""
    host, port = parse_destination(url)
    if host in _METADATA_HOSTS:
        raise DestinationRefused(f"{host} is a cloud metadata host")
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        _check_ip(literal, allow_loopback)
        return [str(literal)]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise DestinationRefused(f"the host {host} does not resolve") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise DestinationRefused(f"the host {host} does not resolve")
    for address in addresses:
        _check_ip(ipaddress.ip_address(address.split("%", 1)[0]), allow_loopback)
    return addresses
