"""Outbound requests to URLs that users give us (webhooks today; the scraper and HTTP columns next).

One rule: a user-given URL reaches public addresses only, never our network, loopback services
or a cloud metadata endpoint. `resolve_public` parses the URL, resolves its host once and checks
every address, including IPv4 addresses embedded in IPv6 forms (IPv4-mapped and -compatible,
6to4, Teredo, NAT64). The caller then connects to one of the returned addresses (`pinned_url`
and `pinned_request_options`), never to the name again: a second resolution at send time would
let a DNS answer that changes in between (rebinding) reach an address nobody checked.

Refusal messages are deliberately coarse: they never repeat a resolved address, so the check
cannot be used to map what a name resolves to inside our network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63
# Names that resolve to metadata services on some clouds even without a link-local literal.
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
_METADATA_IPS = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
# NAT64: the well-known prefix (RFC 6052) and the local-use one (RFC 8215) carry an IPv4 in the low 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class Refusal(StrEnum):
    """Why a destination was refused. The message is the same for every address of a kind."""

    INVALID_URL = "invalid_url"
    SCHEME = "scheme"
    CREDENTIALS = "credentials"
    UNRESOLVABLE = "unresolvable"
    NOT_PUBLIC = "not_public"


_MESSAGES = {
    Refusal.INVALID_URL: "the URL is not a valid http(s) URL",
    Refusal.SCHEME: "the URL must use http or https",
    Refusal.CREDENTIALS: "the URL must not carry credentials",
    Refusal.UNRESOLVABLE: "the host does not resolve",
    Refusal.NOT_PUBLIC: "the host is not a public internet address",
}


class DestinationRefused(ValueError):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(_MESSAGES[reason])
        self.reason = reason


@dataclass(frozen=True)
class LoopbackAllowance:
    """Loopback ports a deployment lets user URLs reach (tests and local development only).

    Settings refuse any allowance when MORKET_ENV=production; `denied_ports` wins over `ports`
    (the provider sandbox's, whose admin API is unauthenticated).
    """

    ports: frozenset[int] = frozenset()
    denied_ports: frozenset[int] = frozenset()

    def allows(self, port: int) -> bool:
        return port in self.ports and port not in self.denied_ports


NO_LOOPBACK = LoopbackAllowance()


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # lower-case, IDNA-encoded, without brackets
    port: int


@dataclass(frozen=True)
class CheckedDestination:
    url: str
    destination: Destination
    addresses: tuple[str, ...]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries in a form that routes to it."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client): both are reached
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(ip: IPAddress) -> bool:
    """A routable internet address. An IPv6 form that embeds IPv4 is judged by what it embeds."""
    if ip in _METADATA_IPS:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner:
            return all(is_public(address) for address in inner)
    if ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_reserved or ip.is_multicast:
        return False
    return ip.is_global and not ip.is_unspecified


def check_address(ip: IPAddress, port: int, allowance: LoopbackAllowance = NO_LOOPBACK) -> None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback and allowance.allows(port):
        return
    if not is_public(ip):
        raise DestinationRefused(Refusal.NOT_PUBLIC)


def _clean_host(raw: str) -> str:
    host = raw.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not host or len(host) > MAX_HOST_LENGTH:
        raise DestinationRefused(Refusal.INVALID_URL)
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise DestinationRefused(Refusal.INVALID_URL) from None
    if len(encoded) > MAX_HOST_LENGTH or any(not 0 < len(label) <= MAX_LABEL_LENGTH for label in encoded.split(".")):
        raise DestinationRefused(Refusal.INVALID_URL)
    return encoded


def parse_destination(url: str) -> Destination:
    """The scheme, host and port of an http(s) URL; DestinationRefused if it does not parse."""
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in url):
        raise DestinationRefused(Refusal.INVALID_URL)
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        port = parts.port
    except ValueError:  # "http://[::1/", "http://[zz]/", a port out of range
        raise DestinationRefused(Refusal.INVALID_URL) from None
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused(Refusal.SCHEME)
    if not hostname:
        raise DestinationRefused(Refusal.INVALID_URL)
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(Refusal.CREDENTIALS)
    return Destination(parts.scheme, _clean_host(hostname), port or (443 if parts.scheme == "https" else 80))


async def resolve_public(url: str, allowance: LoopbackAllowance = NO_LOOPBACK) -> CheckedDestination:
    """Parse, resolve once and check every address; the caller connects to `addresses[0]`."""
    dest = parse_destination(url)
    if dest.host in _METADATA_HOSTS:
        raise DestinationRefused(Refusal.NOT_PUBLIC)
    try:
        literal: IPAddress | None = ipaddress.ip_address(dest.host)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal, dest.port, allowance)
        return CheckedDestination(url, dest, (str(literal),))
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(dest.host, dest.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise DestinationRefused(Refusal.UNRESOLVABLE) from None
    addresses = sorted({str(info[4][0]).split("%", 1)[0] for info in infos})
    if not addresses:
        raise DestinationRefused(Refusal.UNRESOLVABLE)
    for address in addresses:
        check_address(ipaddress.ip_address(address), dest.port, allowance)
    return CheckedDestination(url, dest, tuple(addresses))


def pinned_url(checked: CheckedDestination) -> httpx.URL:
    """The URL with its host replaced by the checked address: the connection goes there and nowhere else."""
    return httpx.URL(checked.url).copy_with(host=checked.addresses[0])


def pinned_request_options(checked: CheckedDestination) -> dict[str, Any]:
    """The Host header and TLS server name of the original host, for a request to `pinned_url`."""
    dest = checked.destination
    default_port = 443 if dest.scheme == "https" else 80
    host_header = dest.host if dest.port == default_port else f"{dest.host}:{dest.port}"
    if ":" in dest.host:
        host_header = f"[{dest.host}]" if dest.port == default_port else f"[{dest.host}]:{dest.port}"
    options: dict[str, Any] = {"headers": {"Host": host_header}}
    if dest.scheme == "https":
        # The certificate is checked against the name the user gave, not the address we dial.
        options["extensions"] = {"sni_hostname": dest.host}
    return options
