"""Search's rules: the workspace's boosts, the query handed to the configured engine, settings."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from morket.search.backends.base import MAX_SUGGESTIONS, SearchBackend
from morket.search.repository import SearchRepository
from morket.search.schemas import Boosts, SearchQuery, SearchResults, SearchSettings, Suggestion


class SearchService:
    def __init__(self, session: AsyncSession, backend: SearchBackend) -> None:
        self.repo = SearchRepository(session)
        self.backend = backend

    async def settings(self, workspace_id: uuid.UUID) -> SearchSettings:
        stored = await self.repo.boosts(workspace_id)
        return SearchSettings(boosts=Boosts.model_validate(stored) if stored else Boosts())

    async def update_settings(self, workspace_id: uuid.UUID, boosts: Boosts) -> SearchSettings:
        await self.repo.save_boosts(workspace_id, boosts.model_dump())
        return SearchSettings(boosts=boosts)

    async def search(self, workspace_id: uuid.UUID, query: SearchQuery) -> SearchResults:
        settings = await self.settings(workspace_id)
        return await self.backend.search(workspace_id, query, settings.boosts)

    async def suggest(self, workspace_id: uuid.UUID, q: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        return await self.backend.suggest(workspace_id, q, limit)
