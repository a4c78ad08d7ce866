"""CRM export tests reuse the enrichment engine's stack fixtures: the session's Temporal dev
server and provider sandbox (its HubSpot and Salesforce emulation over HTTP), an in-process
worker and an API client wired to both; the settings are the CRM ones on top."""

from __future__ import annotations

import pytest
from morket_sandbox.server import SandboxServer

from morket.core.config import Settings
from morket.devstack.temporal import TemporalDevServer
from tests.enrichment.conftest import (  # noqa: F401
    api,
    api_temporal_down,
    enrichment_settings_for,
    reset_sandbox,
    sandbox,
    worker,
)


@pytest.fixture
def enrichment_settings(
    database_url: str,
    temporal_server: TemporalDevServer,
    sandbox: SandboxServer,  # noqa: F811
    reset_sandbox: None,  # noqa: F811
) -> Settings:
    return enrichment_settings_for(
        database_url,
        temporal_server,
        sandbox,
        crm_redirect_uri="https://app.example.test/crm/callback",
        crm_requests_per_second=200.0,
        crm_max_retry_wait_seconds=20.0,
    )
