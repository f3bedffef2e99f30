"""One process at a time: an OS file lock next to the state file.

``sync`` holds it while it sends, so two syncs of one outbox never both send (each would
mark the same rows ``sending`` and post them: the server's idempotency would save the day,
but the phone's counts and states would race). Setting a damaged state file aside holds it
too. It is ``flock`` on ``<state file>.lock``, released by the kernel when the process dies,
so a killed sync never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mobile_stub.i18n import UserError

POLL_S = 0.1


class Busy(UserError):
    """Another process holds the state file's lock (``pid`` when it wrote it)."""

    exit_code = 4

    def __init__(self, path: Path, pid: int | None):
        super().__init__("sync.busy", file=str(path), pid=pid if pid is not None else "?")
        self.path = path
        self.pid = pid


def lock_path(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip() or "x")
    return None


@contextmanager
def exclusive(state: Path, wait: float = 5.0) -> Iterator[None]:
    """Hold the state file's lock; wait up to ``wait`` seconds for it, then raise Busy."""
    path = lock_path(state)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UserError("state.cannot_open", file=str(path), why=exc.strerror or str(exc)) from None
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(state, _holder(fd)) from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
