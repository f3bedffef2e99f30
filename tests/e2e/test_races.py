"""Every write raced on PostgreSQL against ``wasteflow serve --workers 2``.

Two kinds of race, for each write a phone or an administrator makes:

- *retries*: the same request with the same Idempotency-Key sent many times at once (a phone
  retrying before its first try answered). Exactly one makes the change; every other one gets
  the same answer, marked ``Idempotent-Replayed``; the change is there once.
- *rivals*: different requests for the same state change at once (two phones confirming the
  same load). Exactly one wins; the others get a 409 (or a 422 for a return whose refused mass
  is already on its way back), and nothing is done twice.

The requests go through separate connections released together by a barrier, so both worker
processes take part.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import PostgresServer, fresh_database_url
from tests.e2e.conftest import CP, PR_FILM, VILLAGE, VILLAGE_AT, District, LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
N = 8


@pytest.fixture(scope="module")
def district(
    pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[District]:
    pg_server.require()
    workdir = tmp_path_factory.mktemp("races")
    server = LiveServer(fresh_database_url("postgresql", pg_server, workdir), workdir, workers=2)
    server.prepare()
    server.start()
    try:
        d = District(server)
        d.build()
        yield d
    finally:
        server.stop()


def race(n: int, send: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """``n`` requests released at once, each on its own connection."""
    barrier = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        with httpx.Client(timeout=60) as c:
            barrier.wait()
            return send(c, i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


class Api:
    """Requests as one account, against the live server."""

    def __init__(self, district: District, username: str):
        self.base = f"{district.server.url}/api/v1"
        self.auth = {"Authorization": f"Bearer {district.server.token(username)}"}

    def post(self, c: httpx.Client, path: str, body: Any, key: str | None = None) -> httpx.Response:
        return self.send(c, "POST", path, body, key)

    def send(
        self, c: httpx.Client, method: str, path: str, body: Any, key: str | None = None
    ) -> httpx.Response:
        headers = self.auth | ({"Idempotency-Key": key} if key else {})
        return c.request(method, self.base + path, json=body, headers=headers)

    def ok(self, path: str, body: Any, key: str | None = None) -> dict[str, Any]:
        with httpx.Client(timeout=60) as c:
            r = self.post(c, path, body, key or uuid.uuid4().hex)
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> Any:
        with httpx.Client(timeout=60) as c:
            r = c.get(self.base + path, headers=self.auth, params=params)
        assert r.status_code == 200, r.text
        return r.json()


def retried(responses: list[httpx.Response], made: int) -> dict[str, Any]:
    """Every retry answered alike, exactly one made the change; returns that answer."""
    assert all(r.status_code in (200, 201) for r in responses), [
        (r.status_code, r.text[:300]) for r in responses if r.status_code not in (200, 201)
    ]
    fresh = [r for r in responses if "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1, [
        (r.status_code, r.headers.get("Idempotent-Replayed")) for r in responses
    ]
    assert fresh[0].status_code == made
    replays = [r for r in responses if r is not fresh[0]]
    assert all(r.status_code == 200 for r in replays)
    first = fresh[0].json()
    assert all(r.json() == first for r in replays)
    return first  # type: ignore[no-any-return]


def rivals(responses: list[httpx.Response], lost: int = 409) -> httpx.Response:
    won = [r for r in responses if r.status_code in (200, 201)]
    assert len(won) == 1, [(r.status_code, r.text[:120]) for r in responses]
    assert all(r.status_code == lost for r in responses if r is not won[0]), [
        (r.status_code, r.text[:200]) for r in responses if r.status_code != lost
    ]
    return won[0]


def _scan(district: District, source: str, **over: Any) -> dict[str, Any]:
    return {
        "source_plaque": district.plaque(source),
        "to_site": CP,
        "material": "film.agri",
        "declared_mass_kg": 12.5,
        "mass_method": "weighed",
        "device_time": datetime.now(UTC).isoformat(),
        "lat": VILLAGE_AT[0],
        "lon": VILLAGE_AT[1],
    } | over


@pytest.fixture
def crew(district: District) -> tuple[Api, str]:
    c = district.new_crew()
    return Api(district, c.collector), c.sources[0]


def test_scan_and_batch_retries(district: District, crew: tuple[Api, str]) -> None:
    api, source = crew
    body, key = _scan(district, source), uuid.uuid4().hex
    first = retried(race(N, lambda c, i: api.post(c, "/handovers", body, key)), made=201)
    items = [{"idempotency_key": uuid.uuid4().hex, **_scan(district, source)} for _ in range(3)]
    outboxes = race(N, lambda c, i: api.post(c, "/handovers/batch", {"items": items}))
    assert all(r.status_code == 200 for r in outboxes)
    codes = {res["handover"]["code"] for r in outboxes for res in r.json()["results"]}
    made = [res for r in outboxes for res in r.json()["results"] if res["result"] == "created"]
    assert len(codes) == 3 and len(made) == 3
    on_server = [h["code"] for h in district.register(source) if h["from_site"] == source]
    assert sorted(on_server) == sorted({first["code"], *codes})


def test_receipt_retries_and_rivals(district: District, crew: tuple[Api, str]) -> None:
    api, source = crew
    operator = Api(district, "operator.baima")
    load = api.ok("/handovers", _scan(district, source))
    receipt, key = {"received_mass_kg": 12.5}, uuid.uuid4().hex
    path = f"/handovers/{load['code']}/receipt"
    got = retried(race(N, lambda c, i: operator.post(c, path, receipt, key)), made=200)
    assert got["status"] == "received" and got["received_mass_kg"] == 12.5
    other = api.ok("/handovers", _scan(district, source))
    by_manifest = {"manifest": other["manifest"], "received_mass_kg": 12}
    key = uuid.uuid4().hex
    got = retried(
        race(N, lambda c, i: operator.post(c, "/handovers/receipt", by_manifest, key)), made=200
    )
    assert got["code"] == other["code"]
    third = api.ok("/handovers", _scan(district, source))
    path = f"/handovers/{third['code']}/receipt"
    rivals(race(N, lambda c, i: operator.post(c, path, {"received_mass_kg": 10 + i})))
    accepted = [
        h["accepted_mass_kg"] for h in district.register(source) if h["code"] == third["code"]
    ]
    assert len(accepted) == 1 and 10 <= accepted[0] < 10 + N
    # Rivals with keys of their own: one confirms, the others are told it was confirmed.
    fourth = api.ok("/handovers", _scan(district, source))
    path = f"/handovers/{fourth['code']}/receipt"
    same = {"received_mass_kg": 12.5}
    rivals(race(N, lambda c, i: operator.post(c, path, same, uuid.uuid4().hex)))


def test_cancel_and_correction(district: District, crew: tuple[Api, str]) -> None:
    api, source = crew
    load = api.ok("/handovers", _scan(district, source))
    key = uuid.uuid4().hex
    cancel = {"reason": "scanned the wrong plaque"}
    path = f"/handovers/{load['code']}/cancel"
    assert retried(race(N, lambda c, i: api.post(c, path, cancel, key)), made=200)["status"] == (
        "cancelled"
    )
    again = api.ok("/handovers", _scan(district, source, declared_mass_kg=120))
    path, key = f"/handovers/{again['code']}/correct", uuid.uuid4().hex
    right = _scan(district, source, declared_mass_kg=12)
    fixed = retried(race(N, lambda c, i: api.post(c, path, right, key)), made=201)
    assert fixed["corrects"] == again["code"]
    rival = api.ok("/handovers", _scan(district, source, declared_mass_kg=99))
    path = f"/handovers/{rival['code']}/correct"
    rivals(race(N, lambda c, i: api.post(c, path, right, uuid.uuid4().hex)))
    records = district.register(source)
    assert [h["code"] for h in records if h.get("corrects") == again["code"]] == [fixed["code"]]
    assert len([h for h in records if h.get("corrects") == rival["code"]]) == 1


def test_receipt_correction_and_returns(district: District) -> None:
    operator = Api(district, "operator.baima")
    plant = Api(district, "processor.prfilm")
    ship = {"source_plaque": district.plaque(CP), "to_site": PR_FILM}
    load = operator.ok("/handovers", _scan(district, CP, **ship, declared_mass_kg=90))
    plant.ok(f"/handovers/{load['code']}/receipt", {"received_mass_kg": 900, "route": "recycling"})
    fix = {"received_mass_kg": 90, "route": "recycling", "reason": "a zero too many"}
    path, key = f"/handovers/{load['code']}/receipt/correct", uuid.uuid4().hex
    corrected = retried(race(N, lambda c, i: plant.post(c, path, fix, key)), made=201)
    assert corrected["corrects"] == load["code"] and corrected["received_mass_kg"] == 90

    refused = operator.ok("/handovers", _scan(district, CP, **ship, declared_mass_kg=50))
    plant.ok(
        f"/handovers/{refused['code']}/receipt",
        {"received_mass_kg": 50, "refused_mass_kg": 20, "refusal_reason": "soil",
         "route": "recycling"},
    )  # fmt: skip
    back = _scan(district, PR_FILM, declared_mass_kg=20, returns=refused["code"]) | {
        "source_plaque": district.plaque(PR_FILM),
        "to_site": CP,
    }
    key = uuid.uuid4().hex
    retried(race(N, lambda c, i: plant.post(c, "/handovers", back, key)), made=201)
    # The 20 kg are on their way back: every rival return of them is refused.
    again = race(N, lambda c, i: plant.post(c, "/handovers", back, uuid.uuid4().hex))
    assert all(r.status_code == 422 for r in again), [r.text for r in again]
    returns = [h for h in district.register(PR_FILM) if h.get("returns") == refused["code"]]
    assert sum(h["declared_mass_kg"] for h in returns) == 20

    second = operator.ok("/handovers", _scan(district, CP, **ship, declared_mass_kg=40))
    plant.ok(
        f"/handovers/{second['code']}/receipt",
        {"received_mass_kg": 40, "refused_mass_kg": 20, "refusal_reason": "wet",
         "route": "recycling"},
    )  # fmt: skip
    back = back | {"returns": second["code"]}
    rivals(race(N, lambda c, i: plant.post(c, "/handovers", back, uuid.uuid4().hex)), lost=422)
    returns = [h for h in district.register(PR_FILM) if h.get("returns") == second["code"]]
    assert sum(h["declared_mass_kg"] for h in returns) == 20  # not 40: sent back once


def test_declarations_and_admin_changes(district: District) -> None:
    admin = Api(district, "admin")
    declared = {
        "kind": "film_used",
        "region_code": VILLAGE,
        "period_start": "2023-01-01",
        "period_end": "2023-12-31",
        "material": "film.agri",
        "quantity_kg": "1234.5",
    }
    key = uuid.uuid4().hex
    first = retried(race(N, lambda c, i: admin.post(c, "/declarations", declared, key)), made=201)
    listed = admin.get("/declarations", kind="film_used", year=2023)
    assert [d["id"] for d in listed["items"]] == [first["id"]]
    fixed = declared | {"quantity_kg": "1300"}
    path = f"/declarations/{first['id']}/correct"
    rivals(race(N, lambda c, i: admin.post(c, path, fixed, uuid.uuid4().hex)))

    code = f"WL-CP-RACE{uuid.uuid4().hex[:4].upper()}"
    site = {
        "code": code,
        "name": "race point",
        "kind": "collection_point",
        "region_code": VILLAGE,
        "materials": ["film.agri"],
    }
    key = uuid.uuid4().hex
    assert (
        retried(race(N, lambda c, i: admin.post(c, "/sites", site, key)), made=201)["code"] == code
    )
    other = site | {"code": code + "B"}
    rivals(race(N, lambda c, i: admin.post(c, "/sites", other, uuid.uuid4().hex)))
    user = {
        "username": f"race.{uuid.uuid4().hex[:6]}",
        "display_name": "race",
        "role": "collector",
        "password": "a long enough password",
    }
    key = uuid.uuid4().hex
    made = retried(race(N, lambda c, i: admin.post(c, "/accounts", user, key)), made=201)
    assert made["username"] == user["username"]
    names = [a["username"] for a in admin.get("/accounts")]
    assert names.count(user["username"]) == 1


def test_administration(district: District) -> None:
    """Edits of sites, rounds, accounts, coefficient sets and targets, retried and rivalled."""
    admin = Api(district, "admin")
    tag = uuid.uuid4().hex[:4].upper()
    site = {"code": f"WL-CP-ADM{tag}", "name": "p", "kind": "collection_point",
            "region_code": VILLAGE, "materials": ["film.agri"]}  # fmt: skip
    admin.ok("/sites", site)
    sources = [
        admin.ok("/sites", site | {"code": f"WL-SR-ADM{tag}{i}", "kind": "source"})["code"]
        for i in range(N)
    ]
    path = f"/sites/{site['code']}"
    key = uuid.uuid4().hex
    edit = {"capacity_kg": 1234, "name": "edited"}
    assert (
        retried(race(N, lambda c, i: admin.send(c, "PATCH", path, edit, key)), made=200)[
            "capacity_kg"
        ]
        == 1234
    )
    rivals(race(N, lambda c, i: admin.post(c, path + "/deactivate", {}, uuid.uuid4().hex)))
    history = admin.get(path + "/history")["events"]
    assert [e["action"] for e in history] == ["site.create", "site.update", "site.deactivate"]
    admin.ok(path + "/reactivate", {})

    # Rounds claiming one source at once: one gets it.
    def claim(c: httpx.Client, i: int) -> httpx.Response:
        body = {"code": f"RD-ADM{tag}{i}", "name": "r", "collection_point": site["code"],
                "sources": [sources[0]]}  # fmt: skip
        return admin.post(c, "/rounds", body, uuid.uuid4().hex)

    rivals(race(N, claim))

    # Accounts: a disable raced by rivals, a reset retried.
    name = f"race.adm{tag.lower()}"
    admin.ok("/accounts", {"username": name, "display_name": "r", "role": "collector",
             "password": "a long enough password"})  # fmt: skip
    rivals(race(N, lambda c, i: admin.post(c, f"/accounts/{name}/disable", {}, uuid.uuid4().hex)))
    key = uuid.uuid4().hex
    reset = {"password": "temporary password"}
    made = retried(
        race(N, lambda c, i: admin.post(c, f"/accounts/{name}/password-reset", reset, key)),
        made=200,
    )
    assert made["must_change_password"]

    # One year's coefficient set, however many admins make it at once; targets that would
    # overlap, likewise.
    new_set = "/coefficient-sets/2029/from-latest"
    made = rivals(race(N, lambda c, i: admin.post(c, new_set, {"code": f"S{i}"}, uuid.uuid4().hex)))
    assert made.json()["year"] == 2029
    assert len(admin.get("/coefficient-sets", year=2029)) == 1
    target = {"indicator": "film_recovery", "year_from": 2029, "year_to": 2030,
              "comparator": ">=", "value": 0.92, "source": "race plan"}  # fmt: skip
    rivals(race(N, lambda c, i: admin.post(c, "/targets", target, uuid.uuid4().hex)))
