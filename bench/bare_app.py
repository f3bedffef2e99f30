"""The floor of single-scan ingest: a FastAPI app that validates a handover and stores nothing.

    uvicorn bare_app:create_app --factory --app-dir bench --no-access-log

It takes the request ``POST /api/v1/handovers`` takes (the same ``HandoverCreate`` body, the
same ``Idempotency-Key`` header rule, a plain ``def`` endpoint that runs in the thread pool
like the real one) and answers 201 with the validated body. Whatever the real endpoint costs
beyond this is authentication, the plaque's signature, the rules, the insert, the totals and
the audit event.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Header

from wasteflow.schemas import HandoverCreate


def create_app() -> FastAPI:
    """The bare app (a factory, so both servers are started the same way)."""
    app = FastAPI(title="bare handover endpoint")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/handovers", status_code=201)
    def record_handover(
        body: HandoverCreate,
        idempotency_key: Annotated[
            str, Header(alias="Idempotency-Key", pattern=r"^[A-Za-z0-9_.:-]{8,64}$")
        ],
    ) -> HandoverCreate:
        return body

    return app
