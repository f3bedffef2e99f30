"""The process's registry of caches: a database's number is never given to another, and one
reset empties every cache."""

from __future__ import annotations

import gc

import sqlalchemy as sa

from wasteflow import state
from wasteflow.rates.memo import LRUMemo
from wasteflow.services.cache import TTLCache


def test_a_database_number_is_never_reused_after_its_engine_is_gone() -> None:
    seen = set()
    for _ in range(50):
        engine = sa.create_engine("sqlite://")
        key = state.db_key(engine)
        assert state.db_key(engine) == key  # stable while the engine lives
        assert key not in seen  # id(engine) repeats here; the number does not
        seen.add(key)
        engine.dispose()
        del engine
        gc.collect()


def test_one_reset_empties_every_cache() -> None:
    ttl, memo = TTLCache(), LRUMemo(max_entries=4)
    assert ttl.get("k", lambda: 1) == 1 and memo.get("k", lambda: 1) == 1
    state.reset()
    assert ttl.get("k", lambda: 2) == 2
    assert memo.get("k", lambda: 2) == 2


def test_each_database_has_its_own_write_lock() -> None:
    a, b = sa.create_engine("sqlite://"), sa.create_engine("sqlite://")
    assert state.write_lock(a) is state.write_lock(a)
    assert state.write_lock(a) is not state.write_lock(b)
