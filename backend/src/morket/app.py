"""The FastAPI application: middleware in the order of the request path, then the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import Redis

from morket import __version__
from morket.analytics.router import router as analytics_router
from morket.analytics.runtime import ConsumerTask
from morket.apikeys.router import router as api_keys_router
from morket.apikeys.router import self_router as api_key_self_router
from morket.apikeys.service import ApiKeyUsage
from morket.auth.identity_cache import IdentityCache
from morket.auth.router import router as auth_router
from morket.columns.computed_router import router as computed_columns_router
from morket.columns.router import router as columns_router
from morket.core.bodylimit import BodyLimitMiddleware, BodyLimits
from morket.core.config import Settings, get_settings
from morket.core.db import make_engine, make_read_sessionmaker, make_sessionmaker
from morket.core.docs import install_api_docs
from morket.core.envelope import install_error_handlers
from morket.core.heap import settle_heap
from morket.core.middleware import RequestContextMiddleware
from morket.core.openapi import install_openapi
from morket.core.ratelimit import ClientIpResolver, PostgresRateLimiter, RateLimiter, RedisRateLimiter
from morket.credentials.router import internal_router as credentials_internal_router
from morket.credentials.router import router as credentials_router
from morket.credits.router import router as billing_router
from morket.crm.router import router as crm_router
from morket.enrichment.router import router as enrichment_router
from morket.health.router import router as health_router
from morket.imports.router import router as imports_router
from morket.inbound.batcher import InboundBatcher
from morket.inbound.router import public_router as inbound_public_router
from morket.inbound.router import router as inbound_router
from morket.providers.router import router as providers_router
from morket.search.engine import backend_factory
from morket.search.router import router as search_router
from morket.search.runtime import SearchConsumerTask
from morket.tables.io_router import router as tables_io_router
from morket.tables.live import OutboxListener
from morket.tables.router import router as tables_router
from morket.webhooks.router import router as webhooks_router
from morket.webui import default_dist_dir, mount_web_ui
from morket.workspaces.router import invitations_router
from morket.workspaces.router import router as workspaces_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    # Shared by every API process (`morket api` runs one per core): never one process's memory.
    limiter: RateLimiter = RedisRateLimiter(redis) if redis else PostgresRateLimiter(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await app.state.identity_cache.start()
        consumer = ConsumerTask(settings, app.state.sessions) if settings.analytics_consumer else None
        if consumer is not None:
            consumer.start()
        search = (
            SearchConsumerTask(settings, app.state.sessions, app.state.search_backend)
            if settings.search_consumer
            else None
        )
        if search is not None:
            search.start()
        # Last: the app, its routes and schemas are built; later collections skip them.
        settle_heap()
        yield
        if search is not None:
            await search.close()
        if consumer is not None:
            await consumer.close()
        await app.state.outbox_listener.close()
        await app.state.identity_cache.close()
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
    # Concurrent POSTs to one inbound URL share a transaction (inbound/batcher.py).
    app.state.inbound_batcher = InboundBatcher(app.state.sessions, max_rows=settings.inbound_max_rows)
    app.state.search_backend = backend_factory(settings)
    app.state.outbox_listener = OutboxListener(settings.database_url)
    # Who a token is, for a few seconds; emptied in every process by NOTIFY when access changes.
    app.state.identity_cache = IdentityCache(settings.database_url, settings.identity_cache_seconds)
    # API keys' last use, written at most once a minute per key (apikeys/service.py).
    app.state.api_key_usage = ApiKeyUsage(app.state.sessions)

    install_error_handlers(app)
    install_openapi(app)
    # Innermost middleware, before anything parses; inside CORS and the request context, so a 413
    # carries the CORS headers (a browser can read it), the request id and the security headers.
    body_limits = BodyLimits(settings.max_body_bytes)
    body_limits.set("/api/v1/workspaces/*/enrichment-jobs", "POST", settings.max_job_body_bytes)
    # Bulk row writes (10,000+ rows a call) and file uploads, streamed to storage as they arrive.
    for method in ("POST", "PATCH"):
        body_limits.set("/api/v1/workspaces/*/tables/*/rows", method, settings.max_bulk_body_bytes)
    body_limits.set("/api/v1/workspaces/*/tables/*/rows/delete", "POST", settings.max_bulk_body_bytes)
    body_limits.set("/api/v1/workspaces/*/imports", "POST", settings.import_max_upload_bytes)
    body_limits.set("/api/v1/inbound/*", "POST", settings.inbound_max_body_bytes)
    app.state.body_limits = body_limits
    app.add_middleware(BodyLimitMiddleware, limits=body_limits)
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
        access_log=settings.access_log_enabled,
    )

    for router in (
        health_router,
        auth_router,
        workspaces_router,
        invitations_router,
        api_keys_router,
        api_key_self_router,
        credentials_router,
        credentials_internal_router,
        billing_router,
        enrichment_router,
        webhooks_router,
        providers_router,
        tables_router,
        imports_router,
        tables_io_router,
        columns_router,
        computed_columns_router,  # issue 10 items 7-8: lookup and HTTP columns
        inbound_router,
        inbound_public_router,
        analytics_router,
        search_router,
        crm_router,  # issue 15 item 1: CRM export
    ):
        app.include_router(router)
    install_api_docs(app)
    # Last: the web app's fallback route must not shadow any API route.
    mount_web_ui(app, Path(settings.web_dist_dir) if settings.web_dist_dir else default_dist_dir())
    return app
