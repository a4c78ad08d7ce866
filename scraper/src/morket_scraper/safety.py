"""Which addresses the scraper may fetch: public ones, unless the allow-list names them (SSRF).

The same rules as the API's webhook destinations: a hostname is resolved and every address is
checked; addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo)
are checked as that IPv4 address too; numeric host spellings that inet_aton accepts (decimal
2130706433, octal 0177.0.0.1, hex 0x7f.1, short 127.1) are read as the address they are. The
HTTP path connects only to addresses this module returned (its resolver is the connector's), and
every redirect goes through it again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import dns.asyncresolver
import dns.exception
import dns.resolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
_METADATA_IPS = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class TargetRefused(ValueError):
    """The URL may not be fetched; the message says why (it is shown to the caller)."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    packed = ip.packed
    if packed[:12] == bytes(12) and int(ip) > 1:
        # ::a.b.c.d, the deprecated IPv4-compatible form (::1 and :: are themselves).
        found.append(ipaddress.IPv4Address(packed[12:]))
    return found


def parse_host_ip(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling a resolver would accept; None for names."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    # inet_aton reads the legacy forms (decimal, octal, hex, 1-3 parts) exactly as resolvers do.
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text) and any(c.isdigit() for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Allowed hosts and networks beyond the public Internet (tests and `make run` add loopback)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    # DNS servers to ask ("ip" or "ip:port"); none: the system's resolver (getaddrinfo).
    nameservers: tuple[str, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str], nameservers: Iterable[str] = ()) -> AddressPolicy:
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in entries:
            value = entry.strip().lower()
            if not value:
                continue
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                hosts.add(value.rstrip("."))
        return cls(frozenset(hosts), tuple(networks), tuple(n.strip() for n in nameservers if n.strip()))

    def _allowed_ip(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def check_ip(self, ip: IPAddress) -> None:
        """Raise TargetRefused unless the address (and every address it embeds) is allowed."""
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            candidates.extend(embedded_ipv4(ip))
        for candidate in candidates:
            if self._allowed_ip(candidate):
                continue
            if candidate in _METADATA_IPS:
                raise TargetRefused(f"{ip} is a cloud metadata address")
            if candidate.is_loopback:
                raise TargetRefused(f"{ip} is a loopback address")
            if candidate.is_link_local:
                raise TargetRefused(f"{ip} is a link-local address")
            if (
                candidate.is_private
                or candidate.is_reserved
                or candidate.is_multicast
                or candidate.is_unspecified
                or not candidate.is_global
            ):
                raise TargetRefused(f"{ip} is not a public address")

    def host_allowed_by_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for `host`, each checked; TargetRefused otherwise."""
        name = host.lower().rstrip(".")
        if name in _METADATA_HOSTS and name not in self.hosts:
            raise TargetRefused(f"{name} is a cloud metadata host")
        literal = parse_host_ip(name)
        if literal is not None:
            if not self.host_allowed_by_name(name):
                self.check_ip(literal)
            return [literal]
        addresses = await self._lookup(name) if self.nameservers else await _system_lookup(name, port)
        if not addresses:
            raise TargetRefused(f"the host {name} does not resolve")
        if not self.host_allowed_by_name(name):
            for ip in addresses:
                self.check_ip(ip)
        return addresses

    async def _lookup(self, name: str) -> list[IPAddress]:
        """A and AAAA records from the configured DNS servers."""
        resolver = dns.asyncresolver.Resolver(configure=False)
        for server in self.nameservers:
            host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
            resolver.nameservers = [*resolver.nameservers, host]
            if port:
                resolver.nameserver_ports[host] = int(port)
        resolver.lifetime = 5.0
        addresses: list[IPAddress] = []
        for kind in ("A", "AAAA"):
            try:
                answer = await resolver.resolve(name, kind, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                continue
            except dns.exception.Timeout:
                raise TargetRefused(f"the host {name} does not resolve (DNS timeout)") from None
            addresses.extend(ipaddress.ip_address(r.to_text()) for r in answer)
        return addresses


async def _system_lookup(name: str, port: int) -> list[IPAddress]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise TargetRefused(f"the host {name} does not resolve") from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def split_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL we may fetch; TargetRefused for anything but plain http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the URL must use http or https")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the URL has an invalid port") from None
    return parts.scheme, parts.hostname.lower().rstrip("."), port


async def check_url(url: str, policy: AddressPolicy) -> list[IPAddress]:
    """Resolve and check a URL's host (before the first request and again for each redirect)."""
    _, host, port = split_target(url)
    return await policy.resolve(host, port)
