"""Run every benchmark at one scale and print each one's table against its own baseline.

    python bench/run.py --scale small|medium|full [--only ingest,batch,report,graph,memory,import]
                        [--backend sqlite,postgresql] [--json out.json] [--postgres-url URL]

Each benchmark prints a table: figure, median, min and max of its runs, the baseline measured
in the same run on the same machine, their ratio, the issue's goal and whether it is met.
``small`` takes a minute or two (tiny row counts, 1 s wrk runs) and is what CI runs as a smoke
test; ``medium`` is a 1 M-row rehearsal; ``full`` is the issue's sizes (10 M handovers: half
an hour or more, with progress). The exit status says whether the benchmarks ran, never
whether a goal was met. See bench/README.md for what each one measures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

# Run from a checkout: this directory's modules import each other by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_batch
import bench_import
import bench_ingest
import bench_report
from harness import Databases, Figure, Goal, Table, log, machine, render, stop_all_children

BENCHES = ("ingest", "batch", "report", "graph", "memory", "import")
BACKENDS = ("sqlite", "postgresql")
GRAPH_GOAL_MS = 2000
# The calls of bench_graph.py that the "origin attribution and balance" goal covers.
GRAPH_GOAL_ON = (
    "mass_balance",
    "origin_shares by township, all materials",
    "utilised_by_origin, all materials",
)


@dataclass(frozen=True)
class Scale:
    wrk_seconds: float  # length of one wrk run
    wrk_runs: int
    ingest_workers: tuple[int, ...]  # uvicorn worker counts the ingest benchmark compares
    batch_rows: int  # rows per run, in requests of 1,000
    batch_runs: int
    report_stops: tuple[int, ...]  # synthetic handovers loaded when the report is timed
    memory_checkpoints: tuple[int, ...]  # rows loaded when the loader's peak RSS is sampled
    report_runs: int
    raw_load_rows: int  # rows per run of the raw bulk path (the load's baseline)
    graph_sites: int
    graph_flows: int
    graph_repeat: int
    import_rows: int  # rows of the 2025 ledger uploaded to POST /api/v1/imports
    import_runs: int


SCALES = {
    # A smoke test: every path runs once over, in about two minutes with both backends.
    "small": Scale(
        wrk_seconds=1,
        wrk_runs=3,
        ingest_workers=(1,),
        batch_rows=2_000,
        batch_runs=3,
        report_stops=(20_000,),
        memory_checkpoints=(5_000, 10_000, 20_000),
        report_runs=3,
        raw_load_rows=10_000,
        graph_sites=2_000,
        graph_flows=6_000,
        graph_repeat=3,
        import_rows=2_000,
        import_runs=1,
    ),
    "medium": Scale(
        wrk_seconds=5,
        wrk_runs=3,
        ingest_workers=(1, 2),
        batch_rows=20_000,
        batch_runs=3,
        report_stops=(100_000, 1_000_000),
        memory_checkpoints=(100_000, 200_000, 500_000, 1_000_000),
        report_runs=3,
        raw_load_rows=100_000,
        graph_sites=100_000,
        graph_flows=300_000,
        graph_repeat=3,
        import_rows=50_000,
        import_runs=3,
    ),
    # The sizes.
    "full": Scale(
        wrk_seconds=10,
        wrk_runs=3,
        ingest_workers=(1, 2),
        batch_rows=50_000,
        batch_runs=3,
        report_stops=(1_000_000, 10_000_000),
        memory_checkpoints=(1_000_000, 2_000_000, 5_000_000, 10_000_000),
        report_runs=3,
        raw_load_rows=200_000,
        graph_sites=100_000,
        graph_flows=300_000,
        graph_repeat=3,
        import_rows=50_000,
        import_runs=5,
    ),
}


def graph_table(scale: Scale) -> Table:
    """bench/bench_graph.py's figures at this scale, with the issue's < 2 s goal."""
    import bench_graph

    log(
        f"graph: {scale.graph_sites:,} sites, {scale.graph_flows:,} flows, "
        f"{scale.graph_repeat} runs"
    )
    result = bench_graph.run(scale.graph_sites, scale.graph_flows, scale.graph_repeat)
    names = list(result["figures"])
    base = result["figures"][names[0]]
    table = Table(
        "graph",
        "in memory",
        f"bench/bench_graph.py, {result['sites']:,} sites, {result['flows']:,} flows, "
        f"{result['treatments']:,} treatments",
        f"{names[0].removeprefix('baseline: ')} (the same flows, same run)",
    )
    for name in names[1:]:
        f = result["figures"][name]
        goals = []
        if name in GRAPH_GOAL_ON:
            goals = [Goal(f"< {GRAPH_GOAL_MS / 1000:g} s", lambda m, _r: m < GRAPH_GOAL_MS)]
        table.add(
            Figure(
                name,
                "ms",
                [],
                [base["median_s"] * 1000],
                goals=goals,
                summary=(f["median_s"] * 1000, f["min_s"] * 1000, f["max_s"] * 1000),
            )
        )
    table.notes.append(
        f"balance residual {result['balance_residual_g']:.1e} g, largest per-source fate "
        f"residual {result['max_source_fate_residual_g']:.1e} g; anomalies {result['anomalies']}"
    )
    return table


def _parse_list(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [x.strip() for x in value.split(",") if x.strip()]
    unknown = sorted(set(items) - set(allowed))
    if unknown or not items:
        raise SystemExit(f"--{what}: choose from {', '.join(allowed)} (got {value!r})")
    return [x for x in allowed if x in items]


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that clean up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated benchmarks")
    parser.add_argument("--backend", default=",".join(BACKENDS), help="sqlite,postgresql")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "WASTEFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a server and database to create (and drop) throwaway databases from",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    only = _parse_list(args.only, BENCHES, "only")
    backends = _parse_list(args.backend, BACKENDS, "backend")
    db_benches = [b for b in only if b != "graph"]
    signal.signal(signal.SIGTERM, _on_sigterm)

    workdir = Path(tempfile.mkdtemp(prefix="wf-bench-"))
    dbs = Databases(workdir, args.postgres_url)
    tables: list[Table] = []
    keep = args.keep
    try:
        if "ingest" in only and shutil.which("wrk") is None:
            raise SystemExit("the ingest benchmark needs wrk (apt-get install wrk)")
        pg_version = None
        if db_benches and "postgresql" in backends:
            if err := dbs.pg_error():
                raise SystemExit(f"{err}\n(use --backend sqlite, or --postgres-url)")
            pg_version = dbs.pg_version()
        info = machine(pg_version)
        log(
            f"scale {args.scale}: {', '.join(only)} on "
            f"{', '.join(backends) if db_benches else 'no database'}; work dir {workdir}"
        )
        log("machine: " + ", ".join(f"{k} {v}" for k, v in info.items() if v))

        def show(t: Table) -> None:
            tables.append(t)
            print("\n" + render(t) + "\n", flush=True)

        if db_benches:
            # The demo district is built once per backend, both at once (two cores, and the
            # PostgreSQL build waits on the server half the time); benchmarks get copies.
            t0 = time.monotonic()
            procs = {b: dbs.start_demo(b) for b in backends}
            for b, proc in procs.items():
                dbs.finish_demo(b, proc)
            log(f"demo district built on {', '.join(backends)} in {time.monotonic() - t0:.0f} s")
        for backend in backends if db_benches else []:
            if "ingest" in only:
                show(
                    bench_ingest.run(
                        backend=backend,
                        dbs=dbs,
                        workdir=workdir,
                        seconds=scale.wrk_seconds,
                        runs=scale.wrk_runs,
                        worker_counts=scale.ingest_workers,
                    )
                )
            if "batch" in only:
                show(
                    bench_batch.run(
                        backend=backend,
                        dbs=dbs,
                        workdir=workdir,
                        rows=scale.batch_rows,
                        runs=scale.batch_runs,
                    )
                )
            if "report" in only or "memory" in only:
                report, memory = "report" in only, "memory" in only
                stops = list(scale.report_stops) if report else [max(scale.memory_checkpoints)]
                checkpoints = [c for c in scale.memory_checkpoints if c <= stops[-1]]
                for t in bench_report.run(
                    backend=backend,
                    dbs=dbs,
                    workdir=workdir,
                    stops=stops,
                    checkpoints=checkpoints,
                    report=report,
                    memory=memory,
                    runs=scale.report_runs,
                    raw_rows=scale.raw_load_rows,
                ):
                    show(t)
            if "import" in only:
                show(
                    bench_import.run(
                        backend=backend,
                        dbs=dbs,
                        workdir=workdir,
                        rows=scale.import_rows,
                        runs=scale.import_runs,
                    )
                )
        if "graph" in only:
            show(graph_table(scale))

        print("## summary\n")
        for t in tables:
            print(render(t) + "\n")
        verdicts = [f.met for t in tables for f in t.figures if f.met is not None]
        log(f"done: {verdicts.count(True)} goals met, {verdicts.count(False)} missed")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "scale": args.scale,
                        "scale_parameters": asdict(scale),
                        "machine": info,
                        "benchmarks": [
                            {"bench": t.bench, "backend": t.backend, **t.as_json()} for t in tables
                        ],
                    },
                    indent=2,
                    default=str,
                )
            )
        return 0
    except BaseException:
        keep = True  # the servers' and loaders' logs say what went wrong
        raise
    finally:
        stop_all_children()
        dbs.cleanup()
        if keep:
            print(f"work directory kept (logs): {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
