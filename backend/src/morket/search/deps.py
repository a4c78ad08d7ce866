"""The search service for a request: the configured engine over the request's session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from morket.core.deps import SessionDep
from morket.search.indexer import BackendFactory
from morket.search.service import SearchService


async def search_service(request: Request, session: SessionDep) -> SearchService:
    make_backend: BackendFactory = request.app.state.search_backend
    return SearchService(session, make_backend(session))


SearchServiceDep = Annotated[SearchService, Depends(search_service)]
