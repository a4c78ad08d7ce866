import pytest

from morket.webhooks.destinations import DestinationRefused, check_destination
from morket.webhooks.signing import sign, verify


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
    ],
)
async def test_private_and_metadata_destinations_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await check_destination(url, allow_loopback=False)


async def test_loopback_only_with_the_allow_list_setting() -> None:
    assert await check_destination("http://127.0.0.1:9000/hook", allow_loopback=True) == ["127.0.0.1"]
    with pytest.raises(DestinationRefused):
        await check_destination("http://10.1.2.3/hook", allow_loopback=True)
    with pytest.raises(DestinationRefused):
        await check_destination("http://169.254.169.254/", allow_loopback=True)


async def test_public_literal_is_allowed() -> None:
    assert await check_destination("https://93.184.216.34/hook", allow_loopback=False) == ["93.184.216.34"]


def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", "1700000000", body) == expected
    assert verify("s3cret", "1700000000", body, expected)
    assert not verify("s3cret", "1700000001", body, expected)
