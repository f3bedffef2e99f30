"""Group commit: concurrent writers' jobs written in one transaction, each answered on its own.

A scan's own work is small; what costs is the transaction around it: taking the write lock
(SQLite) or the audit chain's lock (PostgreSQL), reading the chain's last hash, upserting the
totals, committing. When many scans arrive at once, the first to find no write under way
becomes the *leader*: it takes every job waiting and writes them all in one transaction,
while the others wait. When it is done each waiter wakes with its own job's result; a job
that arrived meanwhile is taken by the next leader, one of the waiters. A lone scan is
written at once, as before: nothing waits on a timer.

Each caller is answered only after the transaction holding its job has committed, so an
answer still means the record is stored. If the group's transaction fails, no job in it was
written, and every caller is told to write its job alone (``submit`` returns ``None``), so
that one bad job cannot refuse the others and each caller gets its own error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlmodel import Session

J = TypeVar("J")
R = TypeVar("R")

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Slot(Generic[J, R]):
    job: J
    done: bool = False
    failed: bool = False
    result: R | None = None


class GroupCommit(Generic[J, R]):
    """Run ``write(session, jobs) -> results`` (one result per job, in order, none of them
    None, in one transaction) over the jobs of concurrent ``submit`` calls on the same
    database."""

    def __init__(self, write: Callable[[Session, Sequence[J]], Sequence[R]], max_jobs: int = 256):
        self._write = write
        self._max_jobs = max_jobs
        self._cond = threading.Condition()
        self._waiting: dict[Hashable, list[_Slot[J, R]]] = {}
        self._leading: set[Hashable] = set()

    def submit(self, session: Session, job: J) -> R | None:
        """Write ``job`` in the next group: its result, or None if the caller must write it
        alone (the group's transaction failed and nothing in it was written)."""
        db = id(session.get_bind())  # only jobs for the same database are grouped
        slot: _Slot[J, R] = _Slot(job)
        with self._cond:
            self._waiting.setdefault(db, []).append(slot)
            while not slot.done and db in self._leading:
                self._cond.wait()
            if slot.done:
                return None if slot.failed else slot.result
            self._leading.add(db)
            queue = [s for s in self._waiting.pop(db) if s is not slot]
            group, rest = [slot, *queue[: self._max_jobs - 1]], queue[self._max_jobs - 1 :]
            if rest:
                self._waiting[db] = rest
        try:
            results = self._write(session, [s.job for s in group])
            if len(results) != len(group):
                raise AssertionError("a group write must answer every job")
            for s, r in zip(group, results, strict=True):
                s.result = r
        except Exception:
            log.exception("a group of %d writes failed; each is retried alone", len(group))
            for s in group:
                s.failed = True
        finally:
            with self._cond:
                for s in group:
                    s.done = True
                self._leading.discard(db)
                self._cond.notify_all()
        return None if slot.failed else slot.result
