"""Single-scan ingest over HTTP: ``POST /api/v1/handovers`` against a bare FastAPI endpoint.

Both apps run under the same uvicorn command line on loopback, with 1 and then 2 worker
processes, and ``wrk`` drives each with 32 keep-alive clients for a fixed duration. Runs
alternate between the two servers (bare, real, real, bare, …) so that the machine's drift
falls on both. The request is what a collector's phone sends: the signed plaque of a household
cluster on the collector's round, to that round's collection point, 12.5 kg of farm film,
weighed, the phone's clock now, and its GPS position; every request carries its own
Idempotency-Key, so every one is recorded.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from harness import (
    BENCH_DIR,
    COLLECTOR,
    Databases,
    Figure,
    Server,
    Table,
    WrkResult,
    at_least_ratio,
    at_most_ratio,
    base_env,
    log,
    login,
    run_wrk,
    scan_body,
    tail,
)

CLIENTS = 32


def _check(name: str, res: WrkResult, server: Server) -> None:
    """Refuse a run whose every answer was an error: the setup is wrong, not slow."""
    if res.ok == 0 and res.bad > 0:
        raise RuntimeError(
            f"{name}: no request answered 201 (last status {res.last_bad_status}):\n"
            f"{tail(server.log)}"
        )


def run(
    *,
    backend: str,
    dbs: Databases,
    workdir: Path,
    seconds: float,
    runs: int,
    worker_counts: tuple[int, ...] = (1, 2),
) -> Table:
    """Interleaved wrk runs against both servers; one table for every worker count."""
    table = Table(
        "ingest",
        backend,
        f"POST /api/v1/handovers, {CLIENTS} clients, wrk {seconds:g} s × {runs}",
        "bare FastAPI endpoint validating the same body (bench/bare_app.py), same uvicorn "
        "settings, measured in alternation with the real one",
    )
    db_url = dbs.copy(backend, "ingest")
    try:
        for workers in worker_counts:
            _run_workers(table, backend, db_url, workdir, seconds, runs, workers)
    finally:
        dbs.drop(db_url)
    return table


def _run_workers(
    table: Table, backend: str, db_url: str, workdir: Path, seconds: float, runs: int, workers: int
) -> None:
    label = f"{workers} worker" + ("s" if workers > 1 else "")
    log(f"ingest · {backend} · {label}: starting the servers")
    # Both start at once; entering each waits until it answers.
    real = Server(
        "api.main:create_app",
        env=base_env(db_url, workdir),
        workdir=workdir,
        workers=workers,
        name=f"ingest-real-{backend}",
    )
    bare = Server(
        "bare_app:create_app",
        env=base_env(None, workdir),
        workdir=workdir,
        workers=workers,
        app_dir=BENCH_DIR,
        name=f"ingest-bare-{backend}",
    )
    with real, bare:
        token = login(real.url, COLLECTOR)
        body_file = workdir / f"handover-{backend}-{workers}.json"
        body_file.write_text(json.dumps(scan_body(real.url, token, db_url)))
        servers = {"bare": bare, "real": real}
        results: dict[str, list[WrkResult]] = {"bare": [], "real": []}
        # A short warm-up on each: lazy imports, caches and the pools fill before timing.
        for name, srv in servers.items():
            _check(
                name,
                run_wrk(
                    srv.url + "/api/v1/handovers",
                    body_file=body_file,
                    token=token,
                    run_id=secrets.token_hex(5),
                    seconds=1,
                ),
                srv,
            )
        for r in range(runs):
            for name in ("bare", "real") if r % 2 == 0 else ("real", "bare"):
                res = run_wrk(
                    servers[name].url + "/api/v1/handovers",
                    body_file=body_file,
                    token=token,
                    run_id=secrets.token_hex(5),
                    seconds=seconds,
                    connections=CLIENTS,
                )
                _check(name, res, servers[name])
                results[name].append(res)
                log(
                    f"ingest · {backend} · {label} · run {r + 1}/{runs} · {name}: "
                    f"{res.rate:,.0f} req/s, p50 {res.p50_ms:.1f} ms, p99 {res.p99_ms:.1f} ms"
                )
    bare_r, real_r = results["bare"], results["real"]
    table.add(
        Figure(
            f"req/s, {label}",
            "req/s",
            [x.rate for x in real_r],
            [x.rate for x in bare_r],
            goals=[at_least_ratio(0.5, " (≥ 50 % of bare)")],
        )
    )
    table.add(
        Figure(
            f"p50 latency, {label}", "ms", [x.p50_ms for x in real_r], [x.p50_ms for x in bare_r]
        )
    )
    table.add(
        Figure(
            f"p99 latency, {label}",
            "ms",
            [x.p99_ms for x in real_r],
            [x.p99_ms for x in bare_r],
            goals=[at_most_ratio(2, " (≤ 2× bare)")],
        )
    )
    for name, rs in results.items():
        stalled = sum(x.ok == 0 for x in rs)
        if stalled:
            table.notes.append(
                f"{label}, {name}: {stalled} run(s) in which no request was "
                "answered (a stall): 0 req/s, latency ≥ the run's length"
            )
        bad = sum(x.bad for x in rs)
        errors = sum(x.socket_errors for x in rs)
        if bad or errors:
            last = next((x.last_bad_status for x in rs if x.last_bad_status), 0)
            table.notes.append(
                f"{label}, {name}: {bad} answers other than 201 (last {last}), "
                f"{errors} socket errors/timeouts; not counted in req/s"
            )
