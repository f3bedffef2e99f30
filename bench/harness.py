"""What every benchmark of ``bench/run.py`` shares: figures and their tables, throwaway
databases, server processes, ``wrk``, and the machine's description.

A figure is the median of several runs with its min and max, beside a baseline measured in the
same run on the same machine, and the ratio between the two: these 2-core machines drift by
tens of percent between minutes, so only a ratio measured side by side means anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEMO_PASSWORD = "wulong-demo-2025"
# Every process of a run shares this secret: the signing keys the demo's plaques are checked
# with are stored encrypted with it, and a server that could not decrypt them refuses plaques.
BENCH_SECRET = "bench-secret-not-for-production"
_T0 = time.monotonic()


def log(message: str) -> None:
    """Progress on stdout, stamped with the time since the run started (full runs are long)."""
    elapsed = int(time.monotonic() - _T0)
    print(f"[{elapsed // 60:3d}:{elapsed % 60:02d}] {message}", flush=True)


# --- figures and tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """A goal from the issue: its wording, and the test applied to (median, ratio)."""

    text: str
    check: Callable[[float, float | None], bool]


def at_least_ratio(x: float, what: str = "") -> Goal:
    return Goal(f"ratio ≥ {x:g}{what}", lambda _m, r: r is not None and r >= x)


def at_most_ratio(x: float, what: str = "") -> Goal:
    return Goal(f"ratio ≤ {x:g}{what}", lambda _m, r: r is not None and r <= x)


@dataclass
class Figure:
    """One row of a table. Values are in ``unit``; ``ratio`` is figure ÷ baseline, or
    baseline ÷ figure when ``inverse`` (a speed-up: how many times faster than the baseline)."""

    name: str
    unit: str
    runs: list[float]
    baseline: list[float] = field(default_factory=list)
    inverse: bool = False
    goals: list[Goal] = field(default_factory=list)
    note: str = ""
    summary: tuple[float, float, float] | None = None  # (median, min, max) when runs are unknown

    @property
    def median(self) -> float:
        return self.summary[0] if self.summary else statistics.median(self.runs)

    @property
    def low(self) -> float:
        return self.summary[1] if self.summary else min(self.runs)

    @property
    def high(self) -> float:
        return self.summary[2] if self.summary else max(self.runs)

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline_median
        if base is None or base == 0 or self.median == 0:
            return None
        return base / self.median if self.inverse else self.median / base

    @property
    def met(self) -> bool | None:
        if not self.goals:
            return None
        return all(g.check(self.median, self.ratio) for g in self.goals)

    def as_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "runs": self.runs,
            "baseline_runs": self.baseline,
            "baseline_median": self.baseline_median,
            "ratio": self.ratio,
            "ratio_is_speedup": self.inverse,
            "goal": " and ".join(g.text for g in self.goals) or None,
            "met": self.met,
            "note": self.note or None,
        }


@dataclass
class Table:
    """The figures of one benchmark on one backend, with what the baseline is."""

    bench: str
    backend: str
    title: str
    baseline: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "baseline": self.baseline,
            "figures": {f.name: f.as_json() for f in self.figures},
            "notes": self.notes,
        }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("req/s", "rows/s"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        if value >= 10_000:
            return f"{value / 1000:.2f} s"
        return f"{value:.1f} ms" if value >= 1 else f"{value * 1000:.0f} µs"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    return f"{value:,.3g} {unit}"


def fmt_ratio(figure: Figure) -> str:
    r = figure.ratio
    if r is None:
        return "—"
    if figure.inverse:
        return f"{r:,.0f}× faster" if r >= 10 else f"{r:.2f}× faster"
    return f"{r:.2f}×" if r < 100 else f"{r:,.0f}×"


def render(table: Table) -> str:
    """The table as text: figure, median, min, max, baseline, ratio, goal, met/missed."""
    head = ("figure", "median", "min", "max", "baseline", "ratio", "goal", "met")
    rows = [head]
    for f in table.figures:
        met = {None: "—", True: "met", False: "MISSED"}[f.met]
        rows.append(
            (
                f.name,
                fmt(f.median, f.unit),
                fmt(f.low, f.unit),
                fmt(f.high, f.unit),
                fmt(f.baseline_median, f.unit),
                fmt_ratio(f),
                " and ".join(g.text for g in f.goals) or "—",
                met,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [f"### {table.bench} · {table.backend} · {table.title}"]
    for n, r in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, 6) else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"baseline: {table.baseline}")
    lines += [f"note: {n}" for n in table.notes]
    return "\n".join(lines)


def timed(fn: Callable[[], object]) -> float:
    """Wall time of one call, in milliseconds."""
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


# --- processes -------------------------------------------------------------------------------

_children: list[subprocess.Popen[Any]] = []


def start_process(
    args: Sequence[str], *, env: dict[str, str], cwd: Path, log_path: Path, **kw: Any
) -> subprocess.Popen[Any]:
    """A child in its own process group (uvicorn's workers go with it), stopped at exit."""
    out = log_path.open("ab")
    proc = subprocess.Popen(
        list(args),
        env=env,
        cwd=cwd,
        stdout=kw.pop("stdout", out),
        stderr=out,
        start_new_session=True,
        **kw,
    )
    _children.append(proc)
    return proc


def stop_process(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM to the child's own group (it and the workers it forked), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc in _children:
        _children.remove(proc)


def stop_all_children() -> None:
    for proc in list(_children):
        stop_process(proc, timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(database_url: str | None, workdir: Path) -> dict[str, str]:
    """The environment of every child: none of the caller's WASTEFLOW_ settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
    env |= {"WASTEFLOW_SECRET_KEY": BENCH_SECRET, "WASTEFLOW_STATE_DIR": str(workdir)}
    if database_url:
        env["WASTEFLOW_DATABASE_URL"] = database_url
    return env


class Server:
    """uvicorn serving an app factory on a free loopback port.

    Both servers of a comparison get the same command line (workers, no access log, warning
    log level, uvicorn's default loop and HTTP parser), so only the app differs.
    """

    def __init__(
        self,
        app: str,
        *,
        env: dict[str, str],
        workdir: Path,
        workers: int = 1,
        app_dir: Path | None = None,
        name: str = "server",
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}-{self.port}.log"
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if app_dir is not None:
            args += ["--app-dir", str(app_dir)]
        self.proc = start_process(args, env=env, cwd=workdir, log_path=self.log)
        self._ready = False

    def ready(self, timeout: float = 90) -> Server:
        """Wait until it answers /healthz (servers started together start in parallel)."""
        if self._ready:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{tail(self.log)}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    self._ready = True
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s:\n{tail(self.log)}")

    def stop(self) -> None:
        stop_process(self.proc)

    def __enter__(self) -> Server:
        return self.ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} unreadable)"


def login(url: str, username: str) -> str:
    r = httpx.post(
        url + "/api/v1/auth/token",
        data={"username": username, "password": DEMO_PASSWORD},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


# --- wrk -------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    ok: int
    bad: int
    last_bad_status: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int

    @property
    def rate(self) -> float:
        """Requests per second answered with the expected status (errors do not count)."""
        return self.ok / self.duration_s


def run_wrk(
    url: str,
    *,
    body_file: Path,
    token: str,
    run_id: str,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
    expected_status: int = 201,
) -> WrkResult:
    """POST the body for ``seconds`` with ``connections`` keep-alive clients (wrk_post.lua)."""
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(seconds, 1):g}s",
        "--timeout",
        "30s",
        "-s",
        str(BENCH_DIR / "wrk_post.lua"),
        url,
        "--",
        str(body_file),
        token,
        run_id,
        str(expected_status),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    d = json.loads(line.removeprefix("WRK_JSON "))
    if d["ok"] == 0:
        # Nothing answered within the run (a stall): the latencies are at least the run's
        # length; wrk's own figures would be zeros.
        d["p50_us"] = d["p99_us"] = d["max_us"] = max(d["max_us"], d["duration_us"])
    return WrkResult(
        ok=d["ok"],
        bad=d["bad"],
        last_bad_status=d["last_bad_status"],
        duration_s=d["duration_us"] / 1e6,
        p50_ms=d["p50_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        max_ms=d["max_us"] / 1000,
        socket_errors=d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"],
    )


# --- databases -------------------------------------------------------------------------------


class Databases:
    """Throwaway databases of one run: the demo district built once per backend, and copies
    of it for each benchmark (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on
    PostgreSQL). Everything is removed by :meth:`cleanup`."""

    def __init__(self, workdir: Path, pg_admin_url: str):
        self.workdir = workdir
        self.pg_admin_url = pg_admin_url
        self.tag = secrets.token_hex(3)
        self.demo: dict[str, str] = {}
        self.pg_created: list[str] = []
        self._pg: sa.Engine | None = None

    def _admin(self) -> sa.Engine:
        if self._pg is None:
            self._pg = sa.create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        return self._pg

    def pg_error(self) -> str | None:
        """Why the PostgreSQL server cannot be used, or None."""
        try:
            with self._admin().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # any failure to connect means: no PostgreSQL here
            return f"PostgreSQL at {make_url(self.pg_admin_url).render_as_string()}: {exc}"
        return None

    def _pg_url(self, name: str) -> str:
        return make_url(self.pg_admin_url).set(database=name).render_as_string(hide_password=False)

    def _pg_create(self, name: str, template: str | None = None) -> str:
        sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        for attempt in range(10):
            try:
                with self._admin().connect() as conn:
                    conn.execute(sa.text(sql))
                break
            except sa.exc.OperationalError:
                # A template still in use (a backend that has not quite exited) refuses to
                # be copied: wait for it.
                if attempt == 9:
                    raise
                time.sleep(1)
        self.pg_created.append(name)
        return self._pg_url(name)

    def start_demo(self, backend: str) -> subprocess.Popen[Any]:
        """Start ``wasteflow demo --no-serve`` into a new database; :meth:`finish_demo` waits."""
        if backend == "sqlite":
            url = f"sqlite:///{self.workdir / 'demo.db'}"
        else:
            url = self._pg_create(f"wf_bench_{self.tag}_demo")
        self.demo[backend] = url
        return start_process(
            # One whole demo year, as the baselines in bench/README.md were measured on (the
            # demo's default is the last full year and this year so far).
            [sys.executable, "-m", "wasteflow", "demo", "--no-serve", "--year", "2025"],
            env=base_env(url, self.workdir),
            cwd=self.workdir,
            log_path=self.workdir / f"demo-{backend}.log",
        )

    def finish_demo(self, backend: str, proc: subprocess.Popen[Any]) -> None:
        if proc.wait() != 0:
            raise RuntimeError(
                f"demo build failed on {backend}:\n{tail(self.workdir / f'demo-{backend}.log')}"
            )
        _children.remove(proc)

    def copy(self, backend: str, name: str) -> str:
        """A fresh copy of the demo database."""
        if backend == "sqlite":
            src = Path(make_url(self.demo["sqlite"]).database or "")
            dst = self.workdir / f"{name}.db"
            for suffix in ("", "-wal"):
                if Path(f"{src}{suffix}").exists():
                    shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")
            return f"sqlite:///{dst}"
        return self._pg_create(f"wf_bench_{self.tag}_{name}", make_url(self.demo[backend]).database)

    def drop(self, url: str) -> None:
        """Remove a copy as soon as a benchmark is done with it (10 M rows take gigabytes)."""
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{u.database}{suffix}").unlink(missing_ok=True)
            return
        with self._admin().connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        if u.database in self.pg_created:
            self.pg_created.remove(u.database)

    def cleanup(self) -> None:
        if self.pg_created:
            with self._admin().connect() as conn:
                for name in reversed(self.pg_created):
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.pg_created.clear()
        if self._pg is not None:
            self._pg.dispose()

    def pg_version(self) -> str | None:
        with self._admin().connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar())


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    """An engine with the app's own connection settings (WAL, synchronous=NORMAL…)."""
    from wasteflow.db import make_engine

    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


# --- the machine ------------------------------------------------------------------------------


def machine(pg_version: str | None) -> dict[str, Any]:
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        wrk_version = (out.stdout or out.stderr).split("Copyright")[0].strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "wrk": wrk_version,
        "platform": platform.platform(),
    }


# --- the demo district ------------------------------------------------------------------------

COLLECTOR = "collector.baima"  # the README's collector: 白马镇's rounds
OFFICIAL = "official"


@dataclass(frozen=True)
class Source:
    code: str
    collection_point: str
    lat: float
    lon: float


def round_sources(url: str, username: str = COLLECTOR) -> list[Source]:
    """The household clusters on a collector's rounds, each with its round's collection point:
    loads the collector may record and the collection point accepts (film, household waste)."""
    sql = sa.text(
        "SELECT s.code, cp.code, s.lat, s.lon FROM account a "
        "JOIN account_round ar ON ar.account_id = a.id "
        "JOIN collection_round r ON r.id = ar.round_id "
        "JOIN round_site rs ON rs.round_id = r.id "
        "JOIN site s ON s.id = rs.site_id "
        "JOIN site cp ON cp.id = r.collection_point_id "
        "WHERE a.username = :u AND s.code LIKE 'WL-HH-%' ORDER BY s.code"
    )
    with engine_for(url) as engine, engine.connect() as conn:
        rows = conn.execute(sql, {"u": username}).all()
    if not rows:
        raise RuntimeError(f"no household sources on the rounds of {username}")
    return [Source(*r) for r in rows]


def plaque(url: str, token: str, site_code: str) -> str:
    r = httpx.get(
        f"{url}/api/v1/sites/{site_code}/plaque",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["payload"])


def scan_body(url: str, token: str, db_url: str) -> dict[str, object]:
    """The brief's scan: the signed plaque of a household cluster on the collector's round, to
    the round's collection point, 12.5 kg of farm film, weighed, now, with the phone's place."""
    src = round_sources(db_url)[0]
    return {
        "source_plaque": plaque(url, token, src.code),
        "to_site": src.collection_point,
        "material": "film.agri",
        "declared_mass_kg": 12.5,
        "mass_method": "weighed",
        "device_time": datetime.now(UTC).isoformat(),
        "lat": src.lat,
        "lon": src.lon,
    }
