"""The FastAPI application: middleware in the order of the request path, then the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import Redis

from morket import __version__
from morket.auth.router import router as auth_router
from morket.core.config import Settings, get_settings
from morket.core.db import make_engine, make_read_sessionmaker, make_sessionmaker
from morket.core.docs import install_api_docs
from morket.core.envelope import install_error_handlers
from morket.core.middleware import RequestContextMiddleware
from morket.core.ratelimit import ClientIpResolver, PostgresRateLimiter, RateLimiter, RedisRateLimiter
from morket.credentials.router import internal_router as credentials_internal_router
from morket.credentials.router import router as credentials_router
from morket.credits.router import router as billing_router
from morket.enrichment.router import router as enrichment_router
from morket.health.router import router as health_router
from morket.providers.router import router as providers_router
from morket.webhooks.router import router as webhooks_router
from morket.webui import default_dist_dir, mount_web_ui
from morket.workspaces.router import router as workspaces_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    # Shared by every API process (`morket api` runs one per core): never one process's memory.
    limiter: RateLimiter = RedisRateLimiter(redis) if redis else PostgresRateLimiter(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()
        if redis is not None:
            await redis.aclose()

    app = FastAPI(
        title="Morket API",
        version=__version__,
        # Served by core.docs: rendered once, with ETags, Swagger UI's assets from the installation.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.read_sessions = make_read_sessionmaker(engine)
    app.state.redis = redis
    app.state.rate_limiter = limiter

    install_error_handlers(app)
    # Starlette runs the last-added middleware first: CORS sits inside the request context.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-Id", "X-Refresh-Token-Transport"],
        expose_headers=["X-Request-Id", "Retry-After"],
    )
    app.add_middleware(
        RequestContextMiddleware,
        limiter=limiter,
        ip_resolver=ClientIpResolver(settings.trusted_proxies),
        general_limit=settings.rate_limit_general_per_minute,
    )

    for router in (
        health_router,
        auth_router,
        workspaces_router,
        credentials_router,
        credentials_internal_router,
        billing_router,
        enrichment_router,
        webhooks_router,
        providers_router,
    ):
        app.include_router(router)
    install_api_docs(app)
    # Last: the web app's fallback route must not shadow any API route.
    mount_web_ui(app, Path(settings.web_dist_dir) if settings.web_dist_dir else default_dist_dir())
    return app
