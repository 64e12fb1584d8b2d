"""Domain errors of the server. Raised anywhere; turned into ``application/problem+json``
(RFC 9457) in one place, ``server.api.problems``::

    ServerError                 500, never raised on purpose
    ├── NotFound                404  an asset, run or location that does not exist
    ├── Conflict                409  e.g. a key that two locations both materialize
    │   └── RunEnded            409  an event for a run that has ended
    ├── InvalidRequest          400  a malformed cursor, a bad parameter
    ├── InvalidEvent            422  an event a worker may not send (names the field)
    ├── InvalidSelection        422  a selection expression that does not parse
    ├── ConfigInvalid           422  run config that does not validate (names the field)
    ├── IdempotencyKeyReused    422  an Idempotency-Key sent again with another request
    ├── Unauthorized            401  a missing, unknown, expired or revoked token
    ├── Forbidden               403  a token whose scope or locations do not reach that far
    └── CodeLocationUnavailable 503  the location needed is unreachable or failed to load
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodeLocationUnavailable",
    "ConfigInvalid",
    "Conflict",
    "Forbidden",
    "IdempotencyKeyReused",
    "InvalidEvent",
    "InvalidRequest",
    "InvalidSelection",
    "NotFound",
    "RunEnded",
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


class RunEnded(Conflict):
    """A run that has ended stores no more events: its end is its last event."""

    title = "Run has ended"


class InvalidRequest(ServerError):
    status = 400
    title = "Bad Request"


class InvalidSelection(ServerError):
    status = 422
    title = "Invalid selection"


class InvalidEvent(ServerError):
    """Shaped as a body that does not validate is: ``errors`` holds the field and why."""

    status = 422
    title = "Invalid request"

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(
            f"{field}: {message}", errors=[{"field": field, "message": message}], **extra
        )


class ConfigInvalid(ServerError):
    status = 422
    title = "Invalid run config"


class IdempotencyKeyReused(ServerError):
    status = 422
    title = "Idempotency key reused"


class Unauthorized(ServerError):
    status = 401
    title = "Unauthorized"


class Forbidden(ServerError):
    status = 403
    title = "Forbidden"


class CodeLocationUnavailable(ServerError):
    status = 503
    title = "Code location unavailable"
