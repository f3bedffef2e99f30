"""Requests that arrive together, handled together: one worker-thread hop per group.

A route awaits ``Batcher.submit(job)``. If no group is being handled, the job starts one at
once; jobs that arrive while a group is in the worker thread wait for it to end and go
together in the next. Each group is handed to ``handle(jobs)`` in one worker thread, which
answers every job on its own: a result, or the exception that refused it, which ``submit``
raises in that job's request only. Nothing waits on a timer: a lone request is handled at
once.

Why: handing a request to the thread pool and back costs the event loop about as much as
parsing and validating the request (a bare FastAPI endpoint that validates a scan serves
~1,900 requests/s as a ``def``, ~4,400 as an ``async def``; bench/README.md). Scans come in
bursts from many phones, and the database writes a group in one transaction anyway
(``services.handovers.record_handovers``), so one hop per group instead of one per scan.

A request whose client goes away is still handled (its job may already be in a transaction;
the phone's retry with the same Idempotency-Key gets the stored record back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

J = TypeVar("J")
R = TypeVar("R")

log = logging.getLogger(__name__)


class Batcher(Generic[J, R]):
    """Gather concurrent jobs of one event loop and hand them to ``handle`` in groups of at
    most ``max_jobs``, in one worker thread per group."""

    def __init__(
        self, handle: Callable[[Sequence[J]], Sequence[R | Exception]], max_jobs: int = 256
    ) -> None:
        self._handle = handle
        self._max_jobs = max_jobs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[J, asyncio.Future[R]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, job: J) -> R:
        """Handle ``job`` in the next group: its result, or its exception raised here."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (an app served again, a test client)
            self._loop, self._waiting, self._draining = loop, [], None
        future: asyncio.Future[R] = loop.create_future()
        # If the request is gone, nobody awaits the answer: read it, so that asyncio does not
        # log an error that was answered (to no one) as never retrieved.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((job, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        # Shielded: a request cancelled while waiting leaves its job to be handled.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self._max_jobs]
                del self._waiting[: self._max_jobs]
                try:
                    results = await run_in_threadpool(self._handle, [job for job, _ in group])
                    if len(results) != len(group):
                        raise AssertionError("a group's handler must answer every job")
                except Exception as exc:  # the handler itself failed: every job hears it
                    log.exception("a group of %d requests failed", len(group))
                    results = [exc] * len(group)
                for (_, future), result in zip(group, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._draining = None
