"""Column tests reuse the enrichment engine's fixtures: real Temporal dev server, the provider
sandbox over HTTP, an in-process worker, an API client wired to both (the Temporal dev server is
the session-wide one of tests/conftest.py)."""

from tests.enrichment.conftest import (  # noqa: F401
    api,
    enrichment_settings,
    reset_sandbox,
    sandbox,
    worker,
)
