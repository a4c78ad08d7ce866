"""Demo data for `make run`: a user who can log in straight away, with a workspace."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from morket.auth.repository import AuthRepository
from morket.auth.service import AuthService
from morket.core.config import Settings
from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.devstack.local import DEMO_EMAIL, DEMO_PASSWORD
from morket.workspaces.service import WorkspaceService


async def _seed(session: AsyncSession, settings: Settings) -> None:
    if await AuthRepository(session).user_by_email(DEMO_EMAIL) is not None:
        return
    user, _ = await AuthService(session, settings).register(DEMO_EMAIL, DEMO_PASSWORD, "Demo User")
    await WorkspaceService(session).create(user.id, "Demo Workspace")


async def seed_demo(settings: Settings) -> None:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            await _seed(session, settings)
    finally:
        await engine.dispose()
