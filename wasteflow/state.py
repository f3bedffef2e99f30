"""What a process keeps between requests, in one place: which database a cached entry belongs
to, every cache (so one call empties them all), and each database's write lock.

Caches key their entries by :func:`db_key`, a serial number given to each engine the first
time it is seen and never given again (``id()`` of an engine can be reused once the engine is
garbage collected, and a new database would then read the old one's entries). The registry
holds engines weakly: a disposed engine's number goes with it.

How stale each cache may be is said where it is made (``services.cache``, ``services.keys``,
``services.rates``) and in the README.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any, Protocol

from sqlalchemy.engine import Engine


class Clearable(Protocol):
    def clear(self) -> None: ...


_serials: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_next_serial = itertools.count(1)
_write_locks: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_caches: list[Clearable] = []
_lock = threading.Lock()


def db_key(bind: Any) -> int:
    """The number entries of this database are cached under (unique for the process's life)."""
    serial = _serials.get(bind)
    if serial is None:
        with _lock:
            serial = _serials.setdefault(bind, next(_next_serial))
    return serial


def write_lock(engine: Engine) -> threading.RLock:
    """The lock a process's writers to this database take turns on (SQLite: one writer)."""
    lock = _write_locks.get(engine)
    if lock is None:
        with _lock:
            lock = _write_locks.setdefault(engine, threading.RLock())
    return lock


def register(cache: Clearable) -> Clearable:
    """Count a cache among those :func:`reset` empties; returns it."""
    with _lock:
        _caches.append(cache)
    return cache


def reset() -> None:
    """Empty every cache of the process: the next request reads everything afresh."""
    with _lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()
