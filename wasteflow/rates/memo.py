"""Memos shared between the rate engines of successive data versions in one process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from wasteflow import state

T = TypeVar("T")


_MISSING = object()


class ValueKey:
    """A key compared by value whose hash is computed once: the attribution memo's keys hold
    a material's rows (thousands of tuples), which a plain tuple would hash at every lookup."""

    __slots__ = ("_hash", "parts")

    def __init__(self, *parts: Hashable) -> None:
        self.parts = parts
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, ValueKey) and self._hash == other._hash and self.parts == other.parts
        )


class LRUMemo:
    """The ``max_entries`` most recently used results by key; safe to share between the
    server's threads."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        state.register(self)

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            # Taken out and put back as the newest: one comparison of the key, not two.
            found = self._data.pop(key, _MISSING)
            if found is not _MISSING:
                self._data[key] = found
                return found  # type: ignore[no-any-return]
        value = make()  # outside the lock: two threads may both compute; either result is right
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# Attributions of one material, shared between the engines of successive data versions while
# the material's inputs are unchanged (``RateEngine._solved``): a report after a scan of film
# solves film again and reads every other material's from here. Two periods of 33 materials
# fit with room; an entry holds its key's rows (the material's flows) and a small result.
solved_memo = LRUMemo(max_entries=128)
shapes = LRUMemo(max_entries=8)


K = TypeVar("K")
V = TypeVar("V")


def summed(parts: Iterable[Mapping[K, V]], add: Callable[[V, V], V]) -> dict[K, V]:
    """The mappings added key by key, in order."""
    out: dict[K, V] = {}
    for part in parts:
        for k, v in part.items():
            out[k] = add(out[k], v) if k in out else v
    return out


Counts = tuple[int, int, int]


def add_counts(a: Counts, b: Counts) -> Counts:
    """Two triples of counts added element by element."""
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]
