"""The response envelope `{success, data, error, meta}` and the handlers that render errors."""

from __future__ import annotations

import logging
from typing import Any, Generic, TypeVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from morket.core.errors import AppError

T = TypeVar("T")
log = logging.getLogger("morket.errors")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class PageMeta(BaseModel):
    page: int
    limit: int
    total: int


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T | None = None
    error: ErrorBody | None = None
    meta: PageMeta | dict[str, Any] | None = None


def ok(data: T, meta: PageMeta | dict[str, Any] | None = None) -> Envelope[T]:
    return Envelope[T](success=True, data=data, error=None, meta=meta)


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "success": False,
        "data": None,
        "error": {"code": code, "message": message, "details": details},
        "meta": None,
    }
    return JSONResponse(body, status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _clean_validation_errors(errors: list[Any]) -> list[dict[str, Any]]:
    # Never echo the submitted value: it may be a password or an API key.
    cleaned = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        cleaned.append({"field": ".".join(loc), "message": err.get("msg", "invalid"), "type": err.get("type")})
    return cleaned


def _sqlstate(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def is_data_error(exc: BaseException) -> bool:
    """SQLSTATE class 22, "data exception": input PostgreSQL cannot store (a NUL character, a number
    out of range). The client's mistake, not a server fault."""
    return _sqlstate(exc).startswith("22")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            422, "validation_error", "The request is not valid.", _clean_validation_errors(list(exc.errors()))
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404 and message == "Not Found":
            message = "No such resource."
        if exc.status_code == 405:
            message = "Method not allowed on this resource."
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    @app.exception_handler(asyncpg.PostgresError)  # raw driver errors (COPY) are not wrapped by SQLAlchemy
    async def _db_error(_: Request, exc: Exception) -> JSONResponse:
        # The transaction has been rolled back by the session dependency.
        if is_data_error(exc):
            log.info("database rejected input", extra={"sqlstate": _sqlstate(exc)})
            return error_response(422, "invalid_data", "The request contains a value that cannot be stored.")
        log.exception("database error", exc_info=exc)
        return error_response(500, "internal_error", "An unexpected error occurred.")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "An unexpected error occurred.")
