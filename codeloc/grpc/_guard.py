"""The check of the shared secret on every call of the ``CodeLocation`` service.

A server interceptor, so that no method can be added without it: each call of the service
must carry ``authorization: Bearer <TESSERA_LOCATION_SECRET>``, compared in constant time
(``hmac.compare_digest``), or it ends ``UNAUTHENTICATED`` before the servicer sees it.
Health and reflection stay open: they tell nothing a port scan would not, and container
health checks call them without credentials.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

import grpc

from codeloc.grpc._errors import CredentialsRejected
from codeloc.grpc._security import METADATA_KEY

__all__ = ["SecretGuard"]

log = logging.getLogger(__name__)

_Continuation = Callable[[grpc.HandlerCallDetails], "grpc.RpcMethodHandler[Any, Any] | None"]
WARN_EVERY = 60.0
"""Seconds between two log lines about refused calls: a misconfigured server polls every
few seconds, and an attacker could call in a loop; neither should flood the log."""


class SecretGuard(grpc.ServerInterceptor):
    """Refuses the calls of ``service`` (its full name) that lack ``secret``."""

    def __init__(self, secret: str, service: str) -> None:
        self._expected = f"Bearer {secret}".encode()
        self._prefix = f"/{service}/"
        self._lock = threading.Lock()
        self._last_warning = -WARN_EVERY

    def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith(self._prefix):
            return handler
        presented = _presented(handler_call_details.invocation_metadata)
        if presented is not None and hmac.compare_digest(presented, self._expected):
            return handler
        reason = (
            "the location requires credentials and the call carried none: "
            "set TESSERA_LOCATION_SECRET on the server to the location's"
            if presented is None
            else "the location refused the caller's credentials: "
            "TESSERA_LOCATION_SECRET differs between the server and the location"
        )
        self._warn(handler_call_details.method, reason)
        return _refusal(handler, reason)

    def _warn(self, method: str, reason: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_warning < WARN_EVERY:
                return
            self._last_warning = now
        log.warning("refused a call of %s: %s", method, reason)


def _presented(metadata: Any) -> bytes | None:
    """The value of the secret's metadata, as bytes for ``compare_digest``; ``None`` when
    the call has none."""
    for key, value in metadata or ():
        if key == METADATA_KEY:
            return value.encode() if isinstance(value, str) else bytes(value)
    return None


def _refusal(
    handler: grpc.RpcMethodHandler[Any, Any], reason: str
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape as ``handler`` that ends the call ``UNAUTHENTICATED``."""

    def refuse(request: Any, context: grpc.ServicerContext) -> NoReturn:
        context.set_trailing_metadata((("tessera-error", CredentialsRejected.__name__),))
        context.abort(grpc.StatusCode.UNAUTHENTICATED, reason)

    make = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }[(handler.request_streaming, handler.response_streaming)]
    return make(refuse, handler.request_deserializer, handler.response_serializer)
