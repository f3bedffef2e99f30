"""Load synthetic handovers through ``import_handovers``, reporting time and memory as it goes.

    python bench/loader.py --url URL --stops 1000000,10000000 --checkpoints 1000000,2000000,…

Run by ``bench_report`` in a fresh process, so that its peak resident set (VmHWM) is
the peak of loading and nothing else. Each stop ends one ``import_handovers`` call (one
transaction) and waits for a line on stdin, so the caller can time the report on the rows
loaded so far; a checkpoint samples memory without stopping: between two chunks of the bulk
path, when the rows before it are inserted and their totals written. Events are JSON lines on
stdout, prefixed with ``LOADER``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
import synth

from wasteflow.config import get_settings
from wasteflow.db import make_engine, new_session, unit_of_work
from wasteflow.services.imports import import_handovers


def memory() -> dict[str, float]:
    """Peak and current resident set of this process image, in MiB.

    Read from /proc/self/status (VmHWM, VmRSS), not ``getrusage``: Linux carries
    ``ru_maxrss`` across exec from the forked parent, so a child of a large parent would
    report the parent's size as its own peak.
    """
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                key, kib, _unit = line.split()
                values[key] = int(kib) / 1024
    return {"peak_mib": values["VmHWM:"], "rss_mib": values["VmRSS:"]}


def emit(event: str, **data: Any) -> None:
    print("LOADER " + json.dumps({"event": event, **data}), flush=True)


def sampled(
    rows: Iterator[dict[str, Any]], first: int, checkpoints: set[int]
) -> Iterator[dict[str, Any]]:
    """Pass rows through, sampling memory when the bulk path asks for the row after a
    checkpoint: by then every row before it has been written (chunks are pulled whole)."""
    n = first
    for row in rows:
        if n in checkpoints and n != first:
            emit("checkpoint", rows=n, **memory())
        yield row
        n += 1


def tidy(engine: sa.Engine) -> None:
    """ANALYZE on PostgreSQL; on SQLite, fold the write-ahead log into the database file."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        pg = engine.dialect.name == "postgresql"
        cur.execute("ANALYZE" if pg else "PRAGMA wal_checkpoint(TRUNCATE)")
        cur.close()
        raw.commit()
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--stops", required=True, help="row counts at which to commit and wait")
    parser.add_argument("--checkpoints", default="", help="row counts at which to sample RSS")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    stops = sorted({int(x) for x in args.stops.split(",") if x})
    checkpoints = {int(x) for x in args.checkpoints.split(",") if x}
    engine = make_engine(args.url)
    with engine.connect() as conn:
        edges = synth.read_edges(conn, get_settings().timezone)
    emit("ready", edges=int(edges.weight.size), **memory())
    loaded = 0
    for stop in stops:
        timer = synth.Timer()
        rows = synth.handover_rows(
            edges, start=loaded, count=stop - loaded, seed=args.seed, timer=timer
        )
        t0 = time.perf_counter()
        with new_session(engine) as session, unit_of_work(session):
            import_handovers(session, sampled(rows, loaded, checkpoints), label="bench-load")
        wall = time.perf_counter() - t0
        if stop in checkpoints:
            emit("checkpoint", rows=stop, **memory())
        emit(
            "loaded",
            rows=stop,
            batch_rows=stop - loaded,
            wall_s=wall,
            generate_s=timer.seconds,
            load_s=wall - timer.seconds,
            **memory(),
        )
        # Tidy up outside the timing, as a database would be between loads and reports:
        # fresh planner statistics on PostgreSQL, the write-ahead log folded back on SQLite.
        tidy(engine)
        loaded = stop
        if stop != stops[-1]:
            emit("paused", rows=stop)
            if not sys.stdin.readline():
                break  # the caller went away
    engine.dispose()
    emit("done", rows=loaded, **memory())


if __name__ == "__main__":
    main()
