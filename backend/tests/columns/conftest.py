"""Column tests reuse the enrichment engine's fixtures: real Temporal dev server, the provider
sandbox over HTTP, an in-process worker, an API client wired to both (the Temporal dev server is
the session-wide one of tests/conftest.py). HTTP API columns call a JSON API on a real socket
(tests/columns/api_server.py), whose loopback port the settings allow."""

from collections.abc import Iterator

import pytest
from morket_sandbox.server import SandboxServer

from morket.core.config import Settings
from morket.devstack.temporal import TemporalDevServer
from tests.columns.api_server import ApiServer
from tests.enrichment.conftest import (  # noqa: F401
    api,
    api_temporal_down,
    enrichment_settings_for,
    reset_sandbox,
    sandbox,
    worker,
)
from tests.webhooks.receiver import RECEIVER_PORTS


@pytest.fixture(scope="module")
def api_server() -> Iterator[ApiServer]:
    with ApiServer() as server:
        yield server


@pytest.fixture
def enrichment_settings(
    database_url: str,
    temporal_server: TemporalDevServer,
    sandbox: SandboxServer,  # noqa: F811
    reset_sandbox: None,  # noqa: F811
    api_server: ApiServer,
) -> Settings:
    """The column tests' settings, with the API server's loopback port allowed (as a local
    deployment would list its own service's)."""
    allowed = ",".join(str(p) for p in (9, *RECEIVER_PORTS, api_server.port))
    return enrichment_settings_for(database_url, temporal_server, sandbox, webhook_allow_loopback=allowed)
