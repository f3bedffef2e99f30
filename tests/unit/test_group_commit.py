"""Group commit: who leads, what a group holds, and what every waiter is told."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from wasteflow.services.group_commit import GroupCommit


class _Db:
    """A session as far as GroupCommit looks at one: the database it is bound to."""

    def __init__(self, bind: object) -> None:
        self._bind = bind

    def get_bind(self) -> object:
        return self._bind


class _Writer:
    """Records each group; the first group can be held open until the others have queued."""

    def __init__(self, fail: bool = False, short: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.first_entered = threading.Event()
        self.release_first = threading.Event()
        self.fail = fail
        self.short = short  # answer only the first job of a group

    def __call__(self, session: Any, jobs: Sequence[int]) -> list[str]:
        self.groups.append(list(jobs))
        if len(self.groups) == 1:
            self.first_entered.set()
            assert self.release_first.wait(10)
        if self.fail and len(jobs) > 1:
            raise RuntimeError("the database said no")
        answers = [f"written {j}" for j in jobs]
        return answers[:1] if self.short else answers


def _joined(
    threads: list[threading.Thread], answers: dict[int, str | None]
) -> dict[int, str | None]:
    for t in threads:
        t.join(10)
        assert not t.is_alive(), "a submit never returned"
    return answers


def _hold_first_group(writer: _Writer, group: GroupCommit[int, str], db: _Db) -> threading.Thread:
    """Start job 0 and keep its group's write open."""
    leader = threading.Thread(target=group.submit, args=(db, 0))
    leader.start()
    assert writer.first_entered.wait(10)
    return leader


def _queue_then_release(
    writer: _Writer, group: GroupCommit[int, str], db: _Db, jobs: range
) -> dict[int, str | None]:
    answers: dict[int, str | None] = {}

    def run(job: int) -> None:
        answers[job] = group.submit(db, job)  # type: ignore[arg-type]

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    # Every job is queued behind the open group before it is let go.
    while sum(len(q) for q in group._waiting.values()) < len(jobs):
        time.sleep(0.001)
    writer.release_first.set()
    return _joined(threads, answers)


def test_a_lone_job_is_written_at_once() -> None:
    writer = _Writer()
    writer.release_first.set()
    group = GroupCommit(writer)
    assert group.submit(_Db("db"), 7) == "written 7"  # type: ignore[arg-type]
    assert writer.groups == [[7]]


def test_jobs_arriving_during_a_write_are_written_together_and_each_gets_its_own_answer() -> None:
    writer, db = _Writer(), _Db("db")
    group = GroupCommit(writer)
    leader = _hold_first_group(writer, group, db)
    answers = _queue_then_release(writer, group, db, range(1, 9))
    leader.join(10)
    assert writer.groups[0] == [0]
    assert sorted(writer.groups[1]) == list(range(1, 9))  # one transaction for all eight
    assert answers == {j: f"written {j}" for j in range(1, 9)}


def test_a_failed_group_tells_each_of_its_jobs_to_write_alone() -> None:
    writer, db = _Writer(fail=True), _Db("db")
    group = GroupCommit(writer)
    leader = _hold_first_group(writer, group, db)
    answers = _queue_then_release(writer, group, db, range(1, 5))
    leader.join(10)
    assert answers == dict.fromkeys(range(1, 5))  # None: nothing was written, write it alone
    # The group is not stuck: the next job is written.
    assert group.submit(db, 99) == "written 99"  # type: ignore[arg-type]


def test_a_group_holds_at_most_max_jobs_and_the_rest_follow() -> None:
    writer, db = _Writer(), _Db("db")
    group = GroupCommit(writer, max_jobs=3)
    leader = _hold_first_group(writer, group, db)
    answers = _queue_then_release(writer, group, db, range(1, 8))
    leader.join(10)
    assert all(len(g) <= 3 for g in writer.groups)
    assert sorted(j for g in writer.groups for j in g) == list(range(8))  # each written once
    assert answers == {j: f"written {j}" for j in range(1, 8)}


def test_jobs_for_different_databases_are_never_grouped() -> None:
    writer = _Writer()
    writer.release_first.set()
    group = GroupCommit(writer)
    one, two = _Db("one"), _Db("two")
    answers: dict[int, str | None] = {}

    def run(job: int) -> None:
        answers[job] = group.submit(one if job % 2 else two, job)  # type: ignore[arg-type]

    threads = [threading.Thread(target=run, args=(j,)) for j in range(20)]
    for t in threads:
        t.start()
    _joined(threads, answers)
    for g in writer.groups:
        assert len({j % 2 for j in g}) == 1, g
    assert answers == {j: f"written {j}" for j in range(20)}


def test_a_write_that_leaves_a_job_unanswered_fails_the_whole_group() -> None:
    writer, db = _Writer(short=True), _Db("db")
    group = GroupCommit(writer)
    leader = _hold_first_group(writer, group, db)
    answers = _queue_then_release(writer, group, db, range(1, 4))
    leader.join(10)
    assert answers == dict.fromkeys(range(1, 4))
