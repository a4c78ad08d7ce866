"""The address rules of morket.core.netsafety as webhooks apply them, and the delivery's pinned connection."""

import ipaddress
import uuid

import httpx
import pytest

from morket.core.netsafety import (
    DestinationRefused,
    LoopbackAllowance,
    Refusal,
    embedded_ipv4,
    pinned_request_options,
    pinned_url,
    resolve_public,
)
from morket.webhooks.destinations import check_destination, loopback_allowance
from morket.webhooks.service import DeliveryError, PreparedDelivery, send_signed
from morket.webhooks.signing import sign, verify
from tests.conftest import make_settings
from tests.webhooks.receiver import Receiver

NONE = LoopbackAllowance()


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[::1]:8080/",
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
        "http://[::ffff:10.0.0.1]/",
        # IPv4 embedded in IPv6: 6to4, NAT64 (well-known and local-use prefixes), Teredo, IPv4-compatible.
        "http://[2002:a9fe:a9fe::]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[64:ff9b::10.0.0.1]/",
        "http://[64:ff9b:1::a00:1]/",
        "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",
        "http://[::a9fe:a9fe]/",
    ],
)
async def test_private_and_metadata_destinations_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await resolve_public(url, NONE)


@pytest.mark.parametrize(
    "url",
    ["http://[::1/", "http://[zz]/", f"http://{'a' * 64}.example.com/", f"http://{'ab.' * 100}com/", "http://x:99999/"],
)
async def test_urls_that_do_not_parse_are_refused_as_invalid(url: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        await resolve_public(url, NONE)
    assert refused.value.reason is Refusal.INVALID_URL


def test_embedded_ipv4_is_decoded() -> None:
    metadata = ipaddress.IPv4Address("169.254.169.254")
    assert embedded_ipv4(ipaddress.IPv6Address("2002:a9fe:a9fe::")) == [metadata]
    assert embedded_ipv4(ipaddress.IPv6Address("64:ff9b::a9fe:a9fe")) == [metadata]
    # Teredo: the server and the (bit-inverted) client address are both reached.
    teredo = embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:5601:5601"))
    assert metadata in teredo
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1111")) == []


async def test_public_forms_stay_allowed() -> None:
    assert (await resolve_public("https://93.184.216.34/hook", NONE)).addresses == ("93.184.216.34",)
    # A 6to4 address of a public IPv4 is as public as that IPv4.
    assert (await resolve_public("http://[2002:5db8:d822::1]/", NONE)).addresses == ("2002:5db8:d822::1",)


async def test_refusal_never_echoes_the_resolved_address() -> None:
    with pytest.raises(DestinationRefused) as refused:
        await resolve_public("http://localhost:8123/hook", NONE)
    assert refused.value.reason is Refusal.NOT_PUBLIC
    assert "127.0.0.1" not in str(refused.value) and "::1" not in str(refused.value)


async def test_loopback_only_on_the_listed_ports_and_never_the_sandbox() -> None:
    settings = make_settings(
        "postgresql://unused/db", webhook_allow_loopback="9000", provider_sandbox_url="http://127.0.0.1:9000"
    )
    assert loopback_allowance(settings).allows(9000) is False  # the sandbox's port is never allowed
    settings = make_settings("postgresql://unused/db", webhook_allow_loopback="9000,9001")
    allowance = loopback_allowance(settings)
    assert (await check_destination("http://127.0.0.1:9000/hook", allowance)).addresses == ("127.0.0.1",)
    for url in ("http://127.0.0.1:9002/hook", "http://10.1.2.3/hook", "http://169.254.169.254/", "http://[::1]:80/"):
        with pytest.raises(DestinationRefused):
            await check_destination(url, allowance)


async def test_pinned_request_targets_the_checked_address_with_the_original_host() -> None:
    checked = await resolve_public("https://93.184.216.34:8443/x?y=1", NONE)
    assert str(pinned_url(checked)) == "https://93.184.216.34:8443/x?y=1"
    with Receiver() as receiver:
        allowance = LoopbackAllowance(frozenset({receiver.port}))
        checked = await resolve_public(f"http://localhost:{receiver.port}/hook", allowance)
        assert str(pinned_url(checked)).startswith("http://127.0.0.1:") or "[::1]" in str(pinned_url(checked))
        assert pinned_request_options(checked)["headers"]["Host"] == f"localhost:{receiver.port}"


async def test_delivery_connects_to_the_checked_address_and_does_not_follow_redirects() -> None:
    with Receiver() as target, Receiver(redirect_to="") as redirector:
        redirector.redirect_to = target.url
        allowance = LoopbackAllowance(frozenset({target.port, redirector.port}))
        prepared = PreparedDelivery(uuid.uuid4(), redirector.url, b'{"a":1}', "s3cret", "pending")
        async with httpx.AsyncClient() as http:
            outcome, _ = await send_signed(http, prepared, final=True, timeout=5, allowance=allowance)
        assert outcome.outcome == "failed" and outcome.status_code == 302
        assert len(redirector.calls) == 1 and target.calls == []
        call = redirector.calls[0]
        assert call.headers["host"] == f"127.0.0.1:{redirector.port}"
        assert verify("s3cret", call.headers["x-morket-timestamp"], call.body, call.headers["x-morket-signature"])


async def test_delivery_errors_are_coarse() -> None:
    with Receiver() as closed:
        url = closed.url
    prepared = PreparedDelivery(uuid.uuid4(), url, b"{}", "s3cret", "pending")
    allowance = LoopbackAllowance(frozenset({closed.port}))
    async with httpx.AsyncClient() as http:
        outcome, _ = await send_signed(http, prepared, final=False, timeout=5, allowance=allowance)
        assert (outcome.outcome, outcome.error) == ("retry", DeliveryError.UNREACHABLE.value)
        refused, _ = await send_signed(
            http,
            PreparedDelivery(uuid.uuid4(), "http://localhost:1/x", b"{}", "s", "pending"),
            final=False,
            timeout=5,
            allowance=NONE,
        )
    assert refused.outcome == "failed" and refused.error is not None
    assert refused.error.startswith(DeliveryError.REFUSED.value) and "127.0.0.1" not in refused.error


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", "1700000000", body) == expected
    assert verify("s3cret", "1700000000", body, expected)
    assert not verify("s3cret", "1700000001", body, expected)
