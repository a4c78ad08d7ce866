"""SSRF: private, loopback, link-local and metadata targets are refused in every spelling, after
DNS and again on every redirect, unless the allow-list names them."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
import pytest

from morket_scraper.models import FetchMode, Outcome, TargetType
from morket_scraper.safety import AddressPolicy, TargetRefused, check_url, embedded_ipv4, parse_host_ip
from morket_scraper.service import Scraper
from tests import pages
from tests.conftest import Site, make_settings, start_site

OPEN = AddressPolicy()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",  # decimal
        "http://0177.0.0.1/",  # octal
        "http://0x7f.0.0.1/",  # hex
        "http://0x7f000001/",
        "http://127.1/",  # short form
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[::ffff:7f00:1]/",
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo whose client is 127.0.0.1
        "http://10.1.2.3/",
        "http://[2002:a01:203::]/",  # 6to4 of 10.1.2.3
        "http://192.168.0.10:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/",
        "http://0.0.0.0/",
        "http://localhost/",
        "http://[fe80::1]/",
    ],
)
async def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        await check_url(url, OPEN)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@8.8.8.8/", "http:///x"])
async def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(TargetRefused):
        await check_url(url, OPEN)


async def test_public_addresses_pass_and_the_allow_list_admits_loopback() -> None:
    assert await check_url("http://8.8.8.8/", OPEN) == [ipaddress.ip_address("8.8.8.8")]
    assert await check_url("http://[2606:4700:4700::1111]/", OPEN)
    allow = AddressPolicy.from_entries(["127.0.0.1/32"])
    assert await check_url("http://2130706433/", allow) == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(TargetRefused):
        await check_url("http://127.0.0.2/", allow)


def test_embedded_addresses_are_decoded() -> None:
    assert parse_host_ip("0177.1") == ipaddress.ip_address("127.0.0.1")
    assert parse_host_ip("example.com") is None
    teredo = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert ipaddress.IPv4Address("127.0.0.1") in embedded_ipv4(teredo)


@pytest.fixture
async def private_site() -> AsyncIterator[Site]:
    """A second server on 127.0.0.2: loopback, but not on the tests' allow-list (127.0.0.1 only)."""
    site = Site("127.0.0.2")
    runner = await start_site(site)
    yield site
    await runner.cleanup()


async def test_the_scraper_refuses_loopback_spellings_without_an_allow_list(
    make_scraper: Callable[..., Awaitable[Scraper]], site: Site
) -> None:
    scraper = await make_scraper(allow_hosts="", respect_robots=False)
    site.page("/", pages.COMPANY_JSONLD)
    for host in ("127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "[::ffff:127.0.0.1]"):
        for mode in (FetchMode.HTTP, FetchMode.BROWSER):
            result = await scraper.scrape(f"http://{host}:{site.port}/", TargetType.COMPANY, mode)
            assert (result.outcome, result.error_code) == (Outcome.REFUSED, "address_refused"), host
    assert site.hits == []


async def test_a_redirect_to_a_private_address_is_refused(scraper: Scraper, site: Site, private_site: Site) -> None:
    secret = private_site.page("/secret", pages.COMPANY_JSONLD)
    hop = site.page("/hop", "", status=302, headers={"Location": secret})
    start = site.page("/go", "", status=301, headers={"Location": hop})
    for mode in (FetchMode.HTTP, FetchMode.BROWSER):
        result = await scraper.scrape(start, TargetType.COMPANY, mode)
        assert (result.outcome, result.error_code) == (Outcome.REFUSED, "address_refused"), mode
        assert "127.0.0.2" in (result.error or "")
    assert private_site.hits == []
    assert len(site.hits_to("/hop")) == 2  # both paths followed the first redirect, then stopped


async def test_a_page_cannot_make_the_browser_load_private_addresses(
    scraper: Scraper, site: Site, private_site: Site
) -> None:
    private_site.page("/internal", "{}", content_type="application/json")
    shell = f"""<html><body><div id="root"></div><script>
      fetch("{private_site.url}/internal").catch(function () {{}});
      document.getElementById("root").innerHTML = '<h1>x</h1>';
    </script></body></html>"""
    url = site.page("/leaky", shell)
    await scraper.scrape(url, TargetType.COMPANY, FetchMode.BROWSER)
    assert private_site.hits == []
    assert site.hits_to("/leaky")


async def test_redirect_within_allowed_hosts_is_followed(scraper: Scraper, site: Site) -> None:
    target = site.page("/final", pages.COMPANY_MICRODATA)
    start = site.page("/moved", "", status=302, headers={"Location": "/final"})
    result = await scraper.scrape(start, TargetType.COMPANY, FetchMode.HTTP)
    assert result.outcome is Outcome.SUCCESS
    assert result.final_url == target
    assert result.fields["company_name"].source_url == target


class RebindingDns(asyncio.DatagramProtocol):
    """A DNS server on loopback (UDP) for one name: its A record is the allowed address for the
    first `honest` lookups, then a private one (a DNS-rebinding attacker's server, TTL 0)."""

    def __init__(self, name: str, allowed: str, private: str) -> None:
        self.name = dns.name.from_text(name)
        self.allowed = allowed
        self.private = private
        self.honest = 1
        self.lookups = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        if question.name == self.name and question.rdtype == dns.rdatatype.A:
            self.lookups += 1
            address = self.allowed if self.lookups <= self.honest else self.private
            response.answer.append(dns.rrset.from_text(self.name, 0, "IN", "A", address))
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


async def test_dns_rebinding_never_reaches_the_private_address(database_url: str, private_site: Site) -> None:
    """Whenever the name flips to the private address (after our first lookup, our second, ...),
    nothing connects there: on both paths every connection goes to an address that was checked the
    moment it was resolved (the HTTP path's resolver; in the browser, every request is fetched by
    our route through that resolver and Chromium resolves nothing itself)."""
    public = Site("127.0.0.1")
    runner = await start_site(public, port=private_site.port)  # the same port on both addresses
    public.page("/", pages.COMPANY_JSONLD)
    private_site.page("/", pages.COMPANY_MICRODATA)
    server = RebindingDns("rebind.test.", "127.0.0.1", "127.0.0.2")
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: server, local_addr=("127.0.0.1", 0)
    )
    dns_port = transport.get_extra_info("sockname")[1]
    scraper = Scraper(
        make_settings(database_url, dns_servers=f"127.0.0.1:{dns_port}", respect_robots=False, browser_pool_size=1)
    )
    await scraper.start()
    url = f"http://rebind.test:{private_site.port}/"
    try:
        for mode in (FetchMode.HTTP, FetchMode.BROWSER):
            outcomes = []
            for honest in range(1, 6):
                server.honest, server.lookups = honest, 0
                result = await scraper.scrape(url, TargetType.COMPANY, mode, follow_links=False)
                outcomes.append(result.outcome)
                assert private_site.hits == [], (mode, honest)
                if result.outcome is Outcome.SUCCESS:
                    assert result.fields["company_name"].value == "Acme Rockets Inc."  # the public page
                else:
                    assert result.error_code == "address_refused" and "127.0.0.2" in (result.error or "")
            # Once the name stays honest long enough the page is read, from the public address.
            assert Outcome.SUCCESS in outcomes, (mode, outcomes)
            assert Outcome.REFUSED in outcomes, (mode, outcomes)
    finally:
        await scraper.close()
        transport.close()
        await runner.cleanup()
