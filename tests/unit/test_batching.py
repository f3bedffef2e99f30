"""The API's request batcher: concurrent requests handled in groups, each answered on its own."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Sequence

import pytest

from api.batching import Batcher
from tests.conftest import run_async


class Recorder:
    """A handler that records its groups; a job "bad" is refused, and the first group can be
    held until released, so that others queue behind it."""

    def __init__(self, hold_first: bool = False) -> None:
        self.groups: list[list[str]] = []
        self.threads: set[int] = set()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, jobs: Sequence[str]) -> list[str | Exception]:
        self.threads.add(threading.get_ident())
        self.groups.append(list(jobs))
        if len(self.groups) == 1:
            self.release.wait(5)
        return [ValueError(f"refused {j}") if j == "bad" else j.upper() for j in jobs]


async def _until(condition: object, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)


def test_a_lone_job_is_handled_at_once_in_a_worker_thread() -> None:
    handler = Recorder()
    batcher: Batcher[str, str] = Batcher(handler)

    async def main() -> tuple[str, int]:
        return await batcher.submit("one"), threading.get_ident()

    answer, loop_thread = run_async(main)
    assert answer == "ONE"
    assert handler.groups == [["one"]]
    assert loop_thread not in handler.threads  # the event loop's thread is not blocked


def test_jobs_arriving_while_a_group_is_handled_go_together_in_the_next() -> None:
    handler = Recorder(hold_first=True)
    batcher: Batcher[str, str] = Batcher(handler)

    async def main() -> list[str | BaseException]:
        first = asyncio.create_task(batcher.submit("first"))
        await _until(lambda: handler.groups)  # the first group is in the worker thread
        rest = [asyncio.create_task(batcher.submit(j)) for j in ("a", "bad", "c")]
        await asyncio.sleep(0.01)
        handler.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    first, a, bad, c = run_async(main)
    assert handler.groups == [["first"], ["a", "bad", "c"]]
    assert (first, a, c) == ("FIRST", "A", "C")
    # One job's refusal is raised in its own request only.
    assert isinstance(bad, ValueError) and str(bad) == "refused bad"


def test_groups_are_capped() -> None:
    handler = Recorder(hold_first=True)
    batcher: Batcher[str, str] = Batcher(handler, max_jobs=2)

    async def main() -> list[str]:
        first = asyncio.create_task(batcher.submit("x"))
        await _until(lambda: handler.groups)
        rest = [asyncio.create_task(batcher.submit(f"j{i}")) for i in range(5)]
        await asyncio.sleep(0.01)
        handler.release.set()
        return await asyncio.gather(first, *rest)

    assert run_async(main) == ["X", "J0", "J1", "J2", "J3", "J4"]
    assert [len(g) for g in handler.groups] == [1, 2, 2, 1]


def test_a_handler_that_fails_fails_every_job_of_its_group_and_the_next_group_goes_on() -> None:
    calls: list[list[str]] = []

    def handler(jobs: Sequence[str]) -> list[str | Exception]:
        calls.append(list(jobs))
        if "boom" in jobs:
            raise RuntimeError("database gone")
        return [j.upper() for j in jobs]

    batcher: Batcher[str, str] = Batcher(handler)

    async def main() -> tuple[list[str | BaseException], str]:
        failed = await asyncio.gather(
            batcher.submit("boom"), batcher.submit("other"), return_exceptions=True
        )
        return failed, await batcher.submit("later")

    failed, later = run_async(main)
    assert all(isinstance(r, RuntimeError) for r in failed), failed
    assert later == "LATER"


def test_a_request_that_goes_away_leaves_its_job_to_be_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Recorder(hold_first=True)
    batcher: Batcher[str, str] = Batcher(handler)

    async def main() -> None:
        first = asyncio.create_task(batcher.submit("first"))
        await _until(lambda: handler.groups)
        gone = asyncio.create_task(batcher.submit("bad"))  # refused, and nobody will read it
        await asyncio.sleep(0.01)
        gone.cancel()
        handler.release.set()
        assert await first == "FIRST"
        with pytest.raises(asyncio.CancelledError):
            await gone
        await _until(lambda: len(handler.groups) == 2)

    run_async(main)
    assert handler.groups == [["first"], ["bad"]]
    gc.collect()  # an answer nobody read would be logged as never retrieved here
    assert "never retrieved" not in caplog.text


def test_a_new_event_loop_starts_afresh() -> None:
    # An app served again (or a second test client) runs on a new loop: nothing of the old
    # one's queue is carried over.
    handler = Recorder()
    batcher: Batcher[str, str] = Batcher(handler)
    assert run_async(lambda: batcher.submit("a")) == "A"
    assert run_async(lambda: batcher.submit("b")) == "B"
    assert handler.groups == [["a"], ["b"]]
