"""End-to-end fixtures: a real ``wasteflow serve`` process over a fresh database, a small
district built through its API, the field client's CLI, and a proxy that loses answers.

One server per backend for the whole session: it is prepared the way an operator would
(``migrate``, ``load-reference``, ``create-account``), then an admin registers a miniature
白马镇 with the demo's codes and account names. Tests that must not see each other's records
get their own collector and sources (:meth:`District.new_crew`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import BACKENDS, PostgresServer, fresh_database_url
from wasteflow.demo import DEMO_PASSWORD

ADMIN_PASSWORD = "e2e-admin-password"
VILLAGE = "500156101001"  # 白马生成社区01 (reference data)
TOWNSHIP = "500156101"  # 白马镇
VILLAGE_AT = (29.42207, 107.53985)
CP = f"WL-CP-{VILLAGE}"
TS = "WL-TS-101"
PR_FILM = "WL-PR-FILM"
PR_RECY = "WL-PR-RECY"
POINT_MATERIALS = [
    "film.agri",
    "hh.recyclable",
    "hh.other",
    "rec.plastics",
    "rec.paper",
    "appliance.tv",
]
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str) -> dict[str, str]:
    """The server's environment: only what these tests set, cheap password hashing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASTEFLOW_")}
    env |= {
        "WASTEFLOW_DATABASE_URL": database_url,
        "WASTEFLOW_SECRET_KEY": "e2e-secret-not-for-production",
        "WASTEFLOW_ARGON2_TIME_COST": "1",
        "WASTEFLOW_ARGON2_MEMORY_KIB": "1024",
    }
    return env


def _wasteflow(env: dict[str, str], cwd: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wasteflow", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"wasteflow {' '.join(args)}: {done.stdout}{done.stderr}"


class LiveServer:
    """``python -m wasteflow serve`` in a subprocess on a free loopback port."""

    def __init__(self, database_url: str, workdir: Path, workers: int = 1):
        self.database_url = database_url
        self.workdir = workdir
        self.workers = workers
        self.env = server_env(database_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"
        self._tokens: dict[str, str] = {}

    def prepare(self) -> None:
        """Schema by the migrations, reference data, and the first admin (as in the README)."""
        _wasteflow(self.env, self.workdir, "migrate")
        _wasteflow(self.env, self.workdir, "load-reference")
        _wasteflow(
            self.env | {"WASTEFLOW_NEW_PASSWORD": ADMIN_PASSWORD},
            self.workdir,
            "create-account",
            "--username",
            "admin",
            "--role",
            "admin",
        )

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "wasteflow", "serve", "--port", str(self.port)),
                    *("--workers", str(self.workers)),
                ],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"the server exited: {self.log_tail()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"no server in 60 s: {self.log_tail()}"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        if username not in self._tokens:
            if username == "admin":
                password = ADMIN_PASSWORD
            r = httpx.post(
                f"{self.url}/api/v1/auth/token",
                data={"username": username, "password": password},
            )
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def http(self, username: str = "admin") -> httpx.Client:
        """An httpx client for /api/v1 as ``username`` (for setup and for checking results)."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.token(username)}"},
            timeout=30,
        )


# --- the district ------------------------------------------------------------------------------


@dataclass
class Crew:
    """A collector of its own with its own household clusters, all delivering to ``CP``."""

    collector: str
    sources: list[str]


class District:
    """A miniature 白马镇 registered through the API by the admin, with the demo's codes."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.admin = server.http("admin")
        self._seq = itertools.count(1)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.admin.post(path, json=body)
        assert r.status_code == 201, f"{path}: {r.status_code} {r.text}"
        return r.json()  # type: ignore[no-any-return]

    def site(self, code: str, kind: str, region: str, at: tuple[float, float], **kw: Any) -> None:
        self._post(
            "/sites",
            {"code": code, "name": f"{code}（e2e）", "kind": kind, "region_code": region}
            | {"lat": at[0], "lon": at[1]}
            | kw,
        )

    def account(self, username: str, role: str, sites: list[str]) -> None:
        self._post(
            "/accounts",
            {
                "username": username,
                "display_name": username,
                "role": role,
                "password": DEMO_PASSWORD,
                "sites": sites,
            },
        )

    def build(self) -> None:
        lat, lon = VILLAGE_AT
        self.site(
            PR_FILM,
            "processor",
            TOWNSHIP,
            (29.41, 107.56),
            materials=["film.agri"],
            routes=["recycling"],
        )
        self.site(
            PR_RECY,
            "processor",
            TOWNSHIP,
            (29.40, 107.55),
            materials=["hh.recyclable", "rec.plastics", "rec.paper"],
            routes=["recycling"],
        )
        self.site(
            TS,
            "transfer_station",
            TOWNSHIP,
            (29.408, 107.552),
            materials=["hh.recyclable", "hh.other", "rec.plastics", "rec.paper"],
        )
        self.site(CP, "collection_point", VILLAGE, (lat, lon), materials=POINT_MATERIALS)
        households = [f"WL-HH-{VILLAGE}-{i}" for i in (1, 2, 3)]
        for i, code in enumerate(households):
            self.site(
                code,
                "source",
                VILLAGE,
                (lat + 0.004 * (i + 1), lon - 0.003 * i),
                materials=POINT_MATERIALS,
            )
        self.account("collector.baima", "collector", households)
        self.account("operator.baima", "site_operator", [CP, TS])
        self.account("processor.prfilm", "processor", [PR_FILM])
        self.account("processor.prrecy", "processor", [PR_RECY])

    def new_crew(self, sources: int = 1) -> Crew:
        """A new collector bound to ``sources`` new household clusters of the village."""
        n = next(self._seq)
        lat, lon = VILLAGE_AT
        codes = []
        for i in range(sources):
            code = f"WL-HH-{VILLAGE}-E{n:02d}{i:02d}"
            self.site(
                code,
                "source",
                VILLAGE,
                (lat - 0.002 * (i + 1), lon + 0.002 * n),
                materials=POINT_MATERIALS,
            )
            codes.append(code)
        username = f"collector.e2e{n:02d}"
        self.account(username, "collector", codes)
        return Crew(username, codes)

    def plaque(self, code: str) -> str:
        """The signed payload printed on a site's plaque."""
        r = self.admin.get(f"/sites/{code}/plaque")
        assert r.status_code == 200, r.text
        return str(r.json()["payload"])

    def register(self, site: str) -> list[dict[str, Any]]:
        """Every handover touching ``site``, from the server's register (admin view)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.admin.get(
                "/handovers", params={"site": site, "limit": 500, "offset": len(items)}
            ).json()
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items


@dataclass
class E2E:
    """What a test gets: the live server, the district, and where to put state files."""

    backend: str
    server: LiveServer
    district: District


@pytest.fixture(scope="session", params=BACKENDS)
def e2e(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[E2E]:
    """A running server over a fresh database of each backend, with the district built."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"e2e-{backend}")
    server = LiveServer(fresh_database_url(backend, pg_server, workdir), workdir)
    server.prepare()
    server.start()
    try:
        district = District(server)
        district.build()
        yield E2E(backend, server, district)
    finally:
        server.stop()


@pytest.fixture
def live(e2e: E2E) -> E2E:
    """The session's server, started again if a test left it stopped."""
    if e2e.server.proc is None or e2e.server.proc.poll() is not None:
        e2e.server.start()
    return e2e


# --- the client's command line -------------------------------------------------------------


def mobile(
    state: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mobile_stub --state STATE ARGS`` (what ``wasteflow-mobile`` runs)."""
    done = subprocess.run(
        [sys.executable, "-m", "mobile_stub", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=(env or os.environ.copy()) | {"WASTEFLOW_MOBILE_PASSWORD": DEMO_PASSWORD},
    )
    if check:
        assert done.returncode == 0, (
            f"wasteflow-mobile {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done


def mobile_popen(state: Path, *args: str) -> subprocess.Popen[str]:
    """The same, in the background (to be killed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mobile_stub", "--state", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env=os.environ.copy() | {"WASTEFLOW_MOBILE_PASSWORD": DEMO_PASSWORD},
    )


# --- checks ---------------------------------------------------------------------------------


def assert_exactly_once(district: District, source: str, sent: list[dict[str, Any]]) -> None:
    """Every scan the phone sent from ``source`` is on the server once, and nothing else is.

    The register does not show idempotency keys, so a scan is identified by the handover code
    the server gave it (a duplicate record would have its own code and raise the total).
    """
    register = district.register(source)
    codes = [h["code"] for h in register if h["from_site"] == source]
    assert len(codes) == len(set(codes))
    mine = [i["code"] for i in sent]
    assert None not in mine, "a sent item without a handover code"
    assert len(mine) == len(set(mine)), "two scans were answered with the same handover"
    assert sorted(codes) == sorted(mine), (
        f"{source}: server has {len(codes)} handovers, the phone sent {len(mine)}"
    )


def recovered_kg_from_register(register: list[dict[str, Any]], sources: set[str]) -> Decimal:
    """Film recovered from ``sources`` as the official formula reads it off the register.

    *recovered* = mass received at a collection point or beyond, counted once, at the first
    receipt after the source (``reference/official-rates.md``). When the rates API exists, the
    film numerator of ``GET /rates`` for these sources' township and day must equal this.
    """
    return sum(
        (
            Decimal(str(h["accepted_mass_kg"]))
            for h in register
            if h["material"] == "film.agri"
            and h["from_site"] in sources
            and h["status"] in ("received", "partially_refused")
        ),
        Decimal(0),
    )


# --- a proxy that loses answers --------------------------------------------------------------


def _read_request(conn: socket.socket) -> tuple[bytes, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head, body


def _one_shot(head: bytes) -> bytes:
    """The request head with ``Connection: close``: one request per upstream connection."""
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


def _reset(conn: socket.socket) -> None:
    # SO_LINGER 0: close with a RST, as when the far end dies.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class LossyProxy:
    """A loopback HTTP proxy that can lose the server's answer after the server committed.

    Each request is forwarded whole, the server's whole answer is read (so the server has
    finished, and committed), and then, when a rule says so, the client gets nothing: the
    connection is reset (``lose``) or kept silent until :meth:`close` (``hold``). A ``fail``
    rule answers 503 without forwarding, like a restarting upstream behind a load balancer.
    Answers carry ``Connection: close``, so every request comes on a connection of its own.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.rules: list[list[Any]] = []  # [path suffix, action, skip, count]
        self.log: list[tuple[str, str, str]] = []  # (method, path, what happened)
        self.held = threading.Event()
        self.release = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def lose(self, path_suffix: str, count: int = 1, skip: int = 0) -> None:
        """Reset the connection instead of answering the next ``count`` matching requests
        (after letting ``skip`` through)."""
        self.rules.append([path_suffix, "lose", skip, count])

    def fail(self, path_suffix: str, count: int = 1) -> None:
        """Answer the next ``count`` matching requests with a 503 without forwarding them."""
        self.rules.append([path_suffix, "fail", 0, count])

    def hold(self, path_suffix: str, skip: int = 0) -> None:
        """Never answer the matching request after ``skip`` others (sets ``held``)."""
        self.rules.append([path_suffix, "hold", skip, 1])

    def _action(self, method: str, path: str) -> str:
        with self.lock:
            for rule in self.rules:
                if method == "POST" and path.endswith(rule[0]) and rule[3] > 0:
                    if rule[2] > 0:
                        rule[2] -= 1
                        return "pass"
                    rule[3] -= 1
                    return str(rule[1])
        return "pass"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            if request is None:
                conn.close()
                return
            head, body = request
            method, target = head.split(b" ", 2)[:2]
            path = urlsplit(target.decode()).path
            action = self._action(method.decode(), path)
            if action == "fail":
                self.log.append((method.decode(), path, action))
                body = b'{"error":"Unavailable","detail":"upstream restarting"}'
                conn.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                )
                conn.close()
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60)
            except OSError:
                self.log.append((method.decode(), path, "upstream down"))
                _reset(conn)
                return
            with upstream:
                upstream.sendall(_one_shot(head) + body)
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
            self.log.append((method.decode(), path, action))
            if action == "lose":
                _reset(conn)
            elif action == "hold":
                self.held.set()
                self.release.wait(120)
                _reset(conn)
            else:
                conn.sendall(answer)
                conn.close()
        except OSError:
            conn.close()

    def close(self) -> None:
        self.release.set()
        self.sock.close()


@pytest.fixture
def proxy(live: E2E) -> Iterator[LossyProxy]:
    p = LossyProxy(live.server.port)
    yield p
    p.close()
