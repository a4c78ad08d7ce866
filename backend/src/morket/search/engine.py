"""Which engine serves search: OpenSearch when `OPENSEARCH_URL` is set, PostgreSQL otherwise."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.config import Settings
from morket.search.backends.base import SearchBackend
from morket.search.backends.postgres import PostgresSearchBackend
from morket.search.indexer import BackendFactory


def backend_factory(settings: Settings) -> BackendFactory:
    """A function from a session to the configured backend (the session is the transaction it works in)."""
    if settings.opensearch_url:
        from morket.search.backends.opensearch import OpenSearchBackend, client_for

        client = client_for(settings.opensearch_url)
        index = settings.opensearch_index

        def opensearch(session: AsyncSession) -> SearchBackend:
            return OpenSearchBackend(session, client, index)

        return opensearch

    def postgres(session: AsyncSession) -> SearchBackend:
        return PostgresSearchBackend(session)

    return postgres
