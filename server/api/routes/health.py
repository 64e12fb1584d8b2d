"""``/api/v1/health``."""

from __future__ import annotations

from fastapi import APIRouter

from server.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
async def health() -> dict[str, str]:
    # A coroutine that touches nothing: it answers at once however busy the threads, the
    # database pool or the locations are. A plain function would wait for a thread.
    return {"status": "ok"}
