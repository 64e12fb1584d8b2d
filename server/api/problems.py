"""The one error path: every error becomes ``application/problem+json`` (RFC 9457) here."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.errors import ServerError

__all__ = ["RETRY_AFTER_SECONDS", "install_problem_handlers", "problem"]

log = logging.getLogger(__name__)

#: What a client is told to wait before it tries again when the database is unavailable.
RETRY_AFTER_SECONDS = 1


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServerError)
    async def _domain(request: Request, exc: ServerError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        return problem(
            422,
            "Invalid request",
            f"{first['field'] or 'request'}: {first['message']}",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path}"
        return problem(exc.status_code, _title(exc.status_code), detail)

    # The database went away under a request (restarted, a connection killed), or stayed
    # too busy for a connection to come free: the request may well succeed in a moment.
    @app.exception_handler(OperationalError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and not _unavailable(exc):
            return await _unexpected(request, exc)
        log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
        answer = problem(
            503,
            "Database unavailable",
            "the server lost its database connection or found none free; try again",
        )
        answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return answer

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a bad request: logged with its traceback, answered without one.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal Server Error", "the server failed; see its log")


def _unavailable(exc: DBAPIError) -> bool:
    """A lost connection, or the database refusing for now (locked, shutting down)."""
    return exc.connection_invalidated or isinstance(exc, OperationalError)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
