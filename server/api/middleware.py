"""ASGI middleware around every request: what is refused before any route sees it, and the
headers every answer carries.

Plain ASGI rather than ``BaseHTTPMiddleware``: the ingest path's figures are measured per
hop, and these wrap it too.

- :class:`SecurityHeaders` — ``Content-Security-Policy`` and the headers that keep the UI
  from being framed or its files from being sniffed, on every answer, errors included.
- :class:`UrlGuard` — a URL holding NUL (``/runs/a%00b``) is answered 400: PostgreSQL refuses
  NUL in text, so such a path or query parameter would fail in the database (a 500). No
  name, key or id of Tessera holds one.
- :class:`BodyLimit` — a body larger than its limit is answered 413 unread: by its
  ``Content-Length`` at once, or, streamed without one, as soon as its bytes pass the limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.problems import problem

__all__ = ["BodyLimit", "SecurityHeaders", "UrlGuard"]

#: The UI's own files and the API only; the data: URL is the favicon in index.html.
UI_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from their CDN and start them
#: with an inline script; they show the OpenAPI document only.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._ui = [(b"content-security-policy", UI_POLICY.encode()), *_HEADERS]
        self._docs = [(b"content-security-policy", DOCS_POLICY.encode()), *_HEADERS]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope["path"] in DOCS_PATHS else self._ui

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


_NUL = re.compile(rb"%00|\x00")


class UrlGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or _NUL.search(scope.get("query_string", b""))
        ):
            where = "path" if "\x00" in scope["path"] else "query"
            response = problem(400, "Bad Request", f"the URL's {where} holds a NUL character")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class PayloadTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit; as an ``HTTPException``,
    FastAPI's body parsing lets it through to the problem handlers (a 413), where any other
    exception would become a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class BodyLimit:
    """Bodies up to ``limit(scope)`` bytes; the limit may depend on the route."""

    def __init__(self, app: ASGIApp, limit: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        length = _content_length(scope)
        if length is not None and length > limit:
            await problem(413, "Content Too Large", _too_large(limit))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> str:
    return f"the request body is larger than this endpoint accepts ({limit:,} bytes)"
