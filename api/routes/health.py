from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import SessionDep
from wasteflow.services.health import health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, Any]:
    """Liveness and readiness: the database answers; says whether the data is a synthetic demo."""
    return health(session=session)
