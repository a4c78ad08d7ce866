from tests.enrichment.conftest import (  # noqa: F401  (the same fixtures as the enrichment tests)
    api,
    enrichment_settings,
    reset_sandbox,
    sandbox,
    worker,
)
