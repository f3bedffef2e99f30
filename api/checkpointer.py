"""The server signs an audit checkpoint every ``audit_checkpoint_every_s`` while the chain
grows (services/checkpoints.py), in a worker thread so no request waits for it.

Several worker processes may each run one: the chain's lock orders them, and a checkpoint is
written only when the chain has grown since the last, so they add nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wasteflow.config import get_settings
from wasteflow.db import new_session
from wasteflow.services.checkpoints import sign

log = logging.getLogger("wasteflow.audit")


def _sign_once(app: FastAPI) -> None:
    with new_session(app.state.engine) as session:
        cp = sign(session)
    if cp is not None:
        log.info("audit checkpoint signed: %d events, head event %d", cp.events, cp.last_event_id)


async def _every(app: FastAPI, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(_sign_once, app)
        except Exception:  # a failed round is logged and tried again at the next
            log.exception("audit checkpoint failed; trying again in %.0f s", seconds)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    every = get_settings().audit_checkpoint_every_s
    task = asyncio.create_task(_every(app, every)) if every > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
