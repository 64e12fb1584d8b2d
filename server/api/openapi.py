"""The OpenAPI document tells what the API does: the errors each operation answers, as
``application/problem+json`` with one ``Problem`` schema; the bearer tokens it needs; and
operation ids a generated client can use (``listRuns``, ``getAsset``).

Authentication itself is ``server.api.deps``'s. The security schemes here are declared by
dependencies that read nothing and refuse nothing (``auto_error=False``): FastAPI puts them in
the document for every route that has them, and the checks stay where they are.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

from server.schemas import Problem

__all__ = ["API_TOKEN", "RUN_TOKEN", "install_openapi", "operation_id"]

API_TOKEN = HTTPBearer(
    scheme_name="apiToken",
    description=(
        "An API token of scope read, launch or admin (`tessera token create`, or the bootstrap "
        "TESSERA_API_TOKEN): `Authorization: Bearer <token>`."
    ),
    auto_error=False,
)
RUN_TOKEN = HTTPBearer(
    scheme_name="runToken",
    description="The token a run was launched with; its worker reports the run's events.",
    auto_error=False,
)

_ERRORS = {
    400: "A malformed parameter: a cursor not made by this listing, a NUL in the URL.",
    401: "No token, or not a valid one.",
    403: "The token may not do this.",
    404: "No such asset, run or code location.",
    409: "A conflict: e.g. a key that two locations both materialize.",
    413: "The request body is larger than the server accepts.",
    422: "The request does not validate: the problem names the field.",
    503: "A code location or the database is unavailable; try again.",
}


def operation_id(route: APIRoute) -> str:
    """``list_runs`` is ``listRuns``."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _errors_of(path: str, operation: dict[str, Any]) -> list[int]:
    codes = [400, 503]
    if operation.get("parameters") or "requestBody" in operation:
        codes.append(422)
    if operation.get("security"):
        codes += [401, 403]
    if "{" in path:
        codes.append(404)
    if "requestBody" in operation:
        codes += [409, 413] if operation.get("operationId") in _CONFLICTING else [413]
    return sorted(codes)


#: The operations that answer 409.
_CONFLICTING = frozenset({"createRuns", "addLocation", "ingest"})


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the errors and the ``Problem`` schema to the document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    # FastAPI's own validation error shapes: every error is a Problem here.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            # FastAPI's own 422 (a hidden header counts for it) is replaced, where one can come.
            responses.pop("422", None)
            for code in _errors_of(path, operation):
                responses[str(code)] = _problem_response(_ERRORS[code])
    return document


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
