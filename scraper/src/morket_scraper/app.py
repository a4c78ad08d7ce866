"""The scraper's HTTP API: service-to-service (X-Service-Key), envelope responses."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from morket_scraper.config import ScraperSettings
from morket_scraper.models import BatchRequest, JobOut, JobStatus, ScrapeRequest, TargetType, TaskOut, TaskStatus
from morket_scraper.repository import TaskRow
from morket_scraper.service import Scraper, TaskQueue

log = logging.getLogger("morket_scraper.api")
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def envelope(data: Any, meta: dict[str, Any] | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data, "error": None, "meta": meta}, status_code=status)


def error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse(
        {"success": False, "data": None, "error": {"code": code, "message": message, "details": details}, "meta": None},
        status_code=status,
    )


def task_out(row: TaskRow) -> dict[str, Any]:
    return TaskOut(
        id=row.id,
        job_id=row.job_id,
        url=row.url,
        target_type=TargetType(row.target_type),
        status=row.status,
        priority=row.priority,
        attempts=row.attempts,
        result=row.result,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    ).model_dump(mode="json")


def create_app(settings: ScraperSettings, *, scraper: Scraper | None = None, with_browser: bool = True) -> FastAPI:
    """The service; `scraper` lets a test share one Chromium between several app instances."""
    owns_scraper = scraper is None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = scraper or Scraper(settings)
        if owns_scraper:
            await service.start(with_browser=with_browser)
        pool = await asyncpg.create_pool(settings.asyncpg_dsn, min_size=1, max_size=max(4, settings.workers + 2))
        queue = TaskQueue(service, pool)
        await queue.start()
        health = asyncio.create_task(_proxy_health(service, settings.proxy_health_interval_seconds))
        app.state.scraper = service
        app.state.queue = queue
        try:
            yield
        finally:
            health.cancel()
            await queue.stop()
            await pool.close()
            if owns_scraper:
                await service.close()

    app = FastAPI(title="Morket scraper", version="0.1.0", lifespan=lifespan, docs_url="/docs")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")} for e in exc.errors()]
        return error(422, "validation_error", "The request is invalid.", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail))

    def service_key(x_service_key: Annotated[str | None, Header()] = None) -> None:
        if x_service_key is None or not hmac.compare_digest(
            x_service_key.encode("utf-8", "surrogateescape"), settings.service_api_key.encode()
        ):
            raise ApiError(401, "invalid_service_key", "A valid X-Service-Key header is required.")

    guarded = [Depends(service_key)]

    def queue_of(request: Request) -> TaskQueue:
        queue: TaskQueue = request.app.state.queue
        return queue

    def task_fields(body: ScrapeRequest | Any, url: str, target_type: str, mode: str, priority: int) -> dict[str, Any]:
        return {
            "url": url,
            "target_type": target_type,
            "mode": mode,
            "priority": priority,
            "options": {
                "follow_links": body.follow_links,
                "workspace_id": str(body.workspace_id) if body.workspace_id else None,
            },
        }

    async def enqueue(request: Request, body: ScrapeRequest, priority: int) -> uuid.UUID:
        queue = queue_of(request)
        fields = task_fields(body, str(body.url), body.target_type.value, body.mode.value, priority)
        fields["webhook_url"] = str(body.webhook_url) if body.webhook_url else None
        fields["webhook_secret"] = body.webhook_secret
        (task_id,) = await queue.repo.add_tasks([fields])
        queue.notify()
        return task_id

    def check_webhook(body: ScrapeRequest | BatchRequest) -> None:
        if bool(body.webhook_url) != bool(body.webhook_secret):
            raise ApiError(422, "validation_error", "webhook_url and webhook_secret go together.")

    @app.post("/api/v1/scrape", dependencies=guarded, status_code=202)
    async def scrape_async(request: Request, body: ScrapeRequest) -> JSONResponse:
        """Queue one scrape task; poll GET /api/v1/scrape/{task_id} or wait for the webhook."""
        check_webhook(body)
        task_id = await enqueue(request, body, body.priority)
        row = await queue_of(request).repo.get(task_id)
        assert row is not None
        return envelope(task_out(row), status=202)

    @app.post("/api/v1/scrape/sync", dependencies=guarded)
    async def scrape_sync(request: Request, body: ScrapeRequest) -> JSONResponse:
        """Scrape one target and wait for the result (up to 60 s; 202 with the task if it takes longer)."""
        check_webhook(body)
        # Someone is waiting: ahead of queued background work.
        task_id = await enqueue(request, body, min(100, body.priority + 50))
        queue = queue_of(request)
        await queue.wait_for(task_id, settings.sync_timeout_seconds)
        row = await queue.repo.get(task_id)
        assert row is not None
        return envelope(task_out(row), status=200 if row.status.finished else 202)

    @app.get("/api/v1/scrape/{task_id}", dependencies=guarded)
    async def get_task(request: Request, task_id: uuid.UUID) -> JSONResponse:
        """A task's status and, once finished, its result."""
        row = await queue_of(request).repo.get(task_id)
        if row is None:
            raise ApiError(404, "not_found", "No such task.")
        return envelope(task_out(row))

    @app.post("/api/v1/scrape/batch", dependencies=guarded, status_code=202)
    async def scrape_batch(request: Request, body: BatchRequest) -> JSONResponse:
        """Queue up to 100 targets as one job."""
        check_webhook(body)
        if len(body.targets) > settings.batch_max_targets:
            raise ApiError(413, "payload_too_large", f"At most {settings.batch_max_targets} targets per batch.")
        queue = queue_of(request)
        job_id = uuid.uuid4()
        tasks = [task_fields(body, str(t.url), t.target_type.value, t.mode.value, body.priority) for t in body.targets]
        job = {
            "id": job_id,
            "workspace_id": body.workspace_id,
            "webhook_url": str(body.webhook_url) if body.webhook_url else None,
            "webhook_secret": body.webhook_secret,
        }
        task_ids = await queue.repo.add_tasks(tasks, job)
        queue.notify()
        return envelope(
            {"job_id": str(job_id), "task_ids": [str(t) for t in task_ids], "total": len(task_ids)}, status=202
        )

    async def job_or_404(request: Request, job_id: uuid.UUID) -> dict[str, Any]:
        found = await queue_of(request).repo.job(job_id)
        if found is None:
            raise ApiError(404, "not_found", "No such job.")
        job, progress = found
        return JobOut(
            id=job["id"],
            status=JobStatus(job["status"]),
            progress=progress,
            created_at=job["created_at"],
            finished_at=job["finished_at"],
        ).model_dump(mode="json")

    @app.get("/api/v1/scrape/jobs/{job_id}", dependencies=guarded)
    async def get_job(request: Request, job_id: uuid.UUID) -> JSONResponse:
        """A batch job's status and progress."""
        return envelope(await job_or_404(request, job_id))

    @app.get("/api/v1/scrape/jobs/{job_id}/results", dependencies=guarded)
    async def job_results(
        request: Request,
        job_id: uuid.UUID,
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> JSONResponse:
        """The job's finished tasks with their results, paged."""
        await job_or_404(request, job_id)
        rows, total = await queue_of(request).repo.job_results(job_id, limit, (page - 1) * limit)
        return envelope([task_out(r) for r in rows], meta={"page": page, "limit": limit, "total": total})

    @app.post("/api/v1/scrape/jobs/{job_id}/cancel", dependencies=guarded)
    async def cancel_job(request: Request, job_id: uuid.UUID) -> JSONResponse:
        """Cancel the job's queued tasks; the running ones finish."""
        job = await job_or_404(request, job_id)
        if job["status"] != JobStatus.RUNNING.value:
            raise ApiError(409, "conflict", f"The job is already {job['status']}.")
        queue = queue_of(request)
        cancelled = await queue.repo.cancel_job(job_id)
        await queue.close_job(job_id)
        return envelope({**(await job_or_404(request, job_id)), "cancelled_tasks": cancelled})

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        """Service, browser pool and proxy status."""
        service: Scraper = request.app.state.scraper
        return envelope(
            {
                "status": "ok",
                "browser": service.browser.status(),
                "proxies": service.proxies.status(),
                "open_circuits": service.breaker.open_domains(),
                "workers": queue_of(request).active,
            }
        )

    @app.get("/readiness")
    async def readiness(request: Request) -> JSONResponse:
        """Ready when the browser pool is up and, with proxies configured, at least one is healthy."""
        service: Scraper = request.app.state.scraper
        proxies_ok = not service.proxies.enabled or any(p.healthy for p in service.proxies.proxies)
        ready = (service.browser.ready or not with_browser) and proxies_ok
        data = {"ready": ready, "browser": service.browser.ready, "proxies": proxies_ok}
        if not ready:
            return error(503, "not_ready", "The browser pool or the proxies are not ready.", data)
        return envelope(data)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Prometheus text: queue depth, active workers, pages, errors, latency."""
        service: Scraper = request.app.state.scraper
        depth = await queue_of(request).repo.depth()
        service.metrics.queue_depth.set(depth.get(TaskStatus.QUEUED.value, 0))
        service.metrics.running.set(depth.get(TaskStatus.RUNNING.value, 0))
        service.metrics.browser_active.set(service.browser.active)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _proxy_health(service: Scraper, interval: float) -> None:
    while service.proxies.enabled:
        await service.proxies.check()
        await asyncio.sleep(interval)
