"""Domain errors of the server. Raised anywhere; turned into ``application/problem+json``
(RFC 9457) in one place, ``server.api.problems``::

    ServerError                 500, never raised on purpose
    ├── NotFound                404  an asset, run or location that does not exist
    ├── Conflict                409  e.g. a key that two locations both materialize
    ├── InvalidRequest          400  a malformed cursor, a bad parameter
    ├── InvalidSelection        422  a selection expression that does not parse
    ├── ConfigInvalid           422  run config that does not validate (names the field)
    ├── IdempotencyKeyReused    422  an Idempotency-Key sent again with another request
    ├── Unauthorized            401  a missing or wrong token
    └── CodeLocationUnavailable 503  the location needed is unreachable or failed to load
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodeLocationUnavailable",
    "ConfigInvalid",
    "Conflict",
    "IdempotencyKeyReused",
    "InvalidRequest",
    "InvalidSelection",
    "NotFound",
    "ServerError",
    "Unauthorized",
]


class ServerError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ServerError):
    status = 404
    title = "Not Found"


class Conflict(ServerError):
    status = 409
    title = "Conflict"


class InvalidRequest(ServerError):
    status = 400
    title = "Bad Request"


class InvalidSelection(ServerError):
    status = 422
    title = "Invalid selection"


class ConfigInvalid(ServerError):
    status = 422
    title = "Invalid run config"


class IdempotencyKeyReused(ServerError):
    status = 422
    title = "Idempotency key reused"


class Unauthorized(ServerError):
    status = 401
    title = "Unauthorized"


class CodeLocationUnavailable(ServerError):
    status = 503
    title = "Code location unavailable"
