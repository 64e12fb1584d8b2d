"""``/api/v1/health``."""

from __future__ import annotations

from fastapi import APIRouter

from server.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health() -> dict[str, str]:
    return {"status": "ok"}
