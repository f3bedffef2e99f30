"""A new district goes live through the API, from an empty database (the reference data
loaded and the first admin made, as ``wasteflow load-reference`` and ``create-account`` do):
organisations, sites, a round, accounts (and a binding refused), next year's coefficient set
with an edited value that the year's figures then use, a target, a site deactivated and
reactivated, an account disabled (its token refused at once) and a password reset (a forced
change) — and the audit history shows each change before → after. On SQLite and PostgreSQL.

The other tests of this module use the same district, each with its own codes.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import BACKENDS, PostgresServer, fresh_engine
from tests.factories import unique
from wasteflow.db import new_session
from wasteflow.schemas import AccountCreate
from wasteflow.schemas_admin import credit_check_character
from wasteflow.services.accounts import create_account
from wasteflow.types import Role, utcnow

PW = "first admin password"
TEMP_PW = "temporary password 1"
TOWN, VILLAGE, OTHER_VILLAGE = "500156101", "500156101201", "500156101202"
POS = {"lat": 29.408, "lon": 107.552}


def credit_code(first17: str) -> str:
    """A unified social credit code with its right check character."""
    return first17 + credit_check_character(first17)


@dataclass
class District:
    client: TestClient
    admin: str  # the admin's token

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        json: Any = None,
        key: str | None = "new",
        **kw: Any,
    ) -> Response:
        headers = {"Authorization": f"Bearer {token or self.admin}"}
        if key and method != "GET":
            headers["Idempotency-Key"] = uuid.uuid4().hex if key == "new" else key
        return self.client.request(method, "/api/v1" + path, json=json, headers=headers, **kw)

    def ok(self, method: str, path: str, token: str | None = None, json: Any = None) -> Any:
        r = self.call(method, path, token, json)
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def login(self, username: str, password: str) -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=BACKENDS)
def district(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[District]:
    from api.main import create_app

    engine = fresh_engine(request, pg_server, tmp_path_factory, "admin")
    with new_session(engine) as session:  # as `wasteflow create-account --role admin` does
        create_account(
            session=session,
            actor=None,
            data=AccountCreate(
                username="chief", display_name="区管理员", role=Role.admin, password=PW
            ),
        )
    with TestClient(create_app(engine)) as client:
        r = client.post("/api/v1/auth/token", data={"username": "chief", "password": PW})
        yield District(client, r.json()["access_token"])
    engine.dispose()


def scan(d: District, token: str, source: str, to: str) -> Response:
    plaque = d.ok("GET", f"/sites/{source}/plaque")["payload"]
    body = {
        "source_plaque": plaque,
        "to_site": to,
        "material": "film.agri",
        "declared_mass_kg": 12.5,
        "mass_method": "weighed",
        "device_time": utcnow().isoformat(),
        **POS,
    }
    return d.call("POST", "/handovers", token, body)


def test_a_new_district_goes_live_through_the_api(district: District) -> None:
    d = district
    # Organisations: the township's sanitation office, a recycler, a cooperative.
    d.ok("POST", "/organisations", json={"code": "BM-GOV", "name": "白马镇环卫所",
         "kind": "government", "region_code": TOWN})  # fmt: skip
    recycler = d.ok(
        "POST",
        "/organisations",
        json={"code": "FILM-CO", "name": "武隆再生塑料有限公司", "kind": "enterprise",
              "credit_code": credit_code("91500156MA60ABCDE")},
    )  # fmt: skip
    assert recycler["credit_code"].startswith("91500156") and recycler["sites"] == 0
    d.ok("POST", "/organisations", json={"code": "BM-COOP", "name": "白马镇农机合作社",
         "kind": "cooperative", "region_code": TOWN})  # fmt: skip

    # Sites: a village collection point, a farm, the film recycler.
    cp = d.ok("POST", "/sites", json={"code": "BM-CP-1", "name": "白马村回收点",
              "kind": "collection_point", "region_code": VILLAGE, "organisation_code": "BM-GOV",
              "capacity_kg": 60000, "materials": ["film.agri"], **POS})  # fmt: skip
    d.ok("POST", "/sites", json={"code": "BM-FARM-1", "name": "白马村种植户", "kind": "source",
         "region_code": VILLAGE, "materials": ["film.agri"], **POS})  # fmt: skip
    d.ok("POST", "/sites", json={"code": "WL-FILM", "name": "农膜再生利用中心",
         "kind": "processor", "region_code": TOWN, "organisation_code": "FILM-CO",
         "materials": ["film.agri"], "routes": ["recycling"], **POS})  # fmt: skip
    assert cp["active"] and cp["round_code"] is None

    # A round: the collection point's villages and its farm.
    rnd = d.ok("POST", "/rounds", json={"code": "RD-BM-1", "name": "白马村收运线路",
               "collection_point": "BM-CP-1", "villages": [VILLAGE],
               "sources": ["BM-FARM-1"]})  # fmt: skip
    assert rnd["sources"] == ["BM-FARM-1"] and rnd["collection_point"] == "BM-CP-1"

    # Accounts; a processor bound to the farm makes no sense and says which binding.
    wrong = d.call("POST", "/accounts", json={"username": "plant.wrong", "display_name": "x",
                   "role": "processor", "password": PW, "sites": ["BM-FARM-1"]})  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["field"] == "sites"
    assert "BM-FARM-1 (source)" in wrong.json()["detail"]
    for username, role, binding in (
        ("collector.bm", "collector", {"rounds": ["RD-BM-1"], "organisation_code": "BM-GOV"}),
        ("operator.bm", "site_operator", {"sites": ["BM-CP-1"], "organisation_code": "BM-GOV"}),
        ("plant.film", "processor", {"sites": ["WL-FILM"], "organisation_code": "FILM-CO"}),
    ):
        made = d.ok("POST", "/accounts", json={"username": username, "display_name": username,
                    "role": role, "password": PW, **binding})  # fmt: skip
        assert made["last_login_at"] is None and not made["must_change_password"]
    collector = d.login("collector.bm", PW)["access_token"]
    operator = d.login("operator.bm", PW)["access_token"]
    assert d.ok("GET", "/rounds", collector)[0]["collectors"] == ["collector.bm"]
    assert scan(d, collector, "BM-FARM-1", "BM-CP-1").status_code == 201
    listed = {a["username"]: a for a in d.ok("GET", "/accounts")}
    assert listed["collector.bm"]["last_login_at"] is not None
    assert listed["plant.film"]["last_login_at"] is None

    # Next year's coefficients: 2026 falls back on 2025 until its set exists, then uses it.
    rate = "/rates?indicator=manure_utilisation&period=2026"
    used = d.ok("GET", rate)["basis"]["coefficient_set"]
    assert used["code"] == "WL-2025" and used["fallback"]
    new_set = d.ok("POST", "/coefficient-sets/2026/from-latest")
    assert (new_set["code"], new_set["year"]) == ("WL-2026", 2026)
    sow = next(c for c in new_set["coefficients"] if c["subject"] == "sow")
    edited = d.ok(
        "PATCH",
        f"/coefficient-sets/WL-2026/values/sow/{sow['parameter']}",
        json={"value": sow["value"] * 1.1, "source": "2026 county livestock survey",
              "verified": True},
    )  # fmt: skip
    got = next(
        c
        for c in edited["coefficients"]
        if (c["subject"], c["parameter"]) == ("sow", sow["parameter"])
    )
    assert got["value"] == pytest.approx(sow["value"] * 1.1) and got["own_source"]
    assert got["source"] == "2026 county livestock survey" and got["verified"]
    used = d.ok("GET", rate)["basis"]["coefficient_set"]
    assert used == {"code": "WL-2026", "year": 2026, "fallback": False}
    years = [s["year"] for s in d.ok("GET", "/coefficient-sets")]
    assert years == [2025, 2026]
    # And a target for the next plan.
    target = d.ok("POST", "/targets", json={"indicator": "manure_utilisation", "year_from": 2026,
                  "year_to": 2030, "comparator": ">=", "value": 0.95,
                  "source": "十五五 plan"})  # fmt: skip
    now = {t["indicator"]: t for t in d.ok("GET", "/targets?year=2026")}
    assert now["manure_utilisation"]["id"] == target["id"]
    assert not now["manure_utilisation"]["carried_forward"]
    assert now["film_recovery"]["carried_forward"]

    # A site deactivated takes no load (the scan sees it at once), and back again.
    d.ok("PATCH", "/sites/BM-CP-1", json={"capacity_kg": 80000})
    d.ok("POST", "/sites/BM-CP-1/deactivate", json={"reason": "roof repairs"})
    refused = scan(d, collector, "BM-FARM-1", "BM-CP-1")
    assert refused.status_code == 422 and refused.json()["field"] == "to_site"
    d.ok("POST", "/sites/BM-CP-1/reactivate")
    assert scan(d, collector, "BM-FARM-1", "BM-CP-1").status_code == 201

    # An account disabled: its token is refused on its very next request.
    d.ok("POST", "/accounts/collector.bm/disable")
    assert d.call("GET", "/rounds", collector).status_code == 401
    r = d.client.post("/api/v1/auth/token", data={"username": "collector.bm", "password": PW})
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    d.ok("POST", "/accounts/collector.bm/enable")
    collector = d.login("collector.bm", PW)["access_token"]
    assert scan(d, collector, "BM-FARM-1", "BM-CP-1").status_code == 201

    # A password reset: old tokens go, the temporary password logs in, and nothing but the
    # change is allowed until it is made.
    d.ok("POST", "/accounts/operator.bm/password-reset", json={"password": TEMP_PW})
    assert d.call("GET", "/sites", operator).status_code == 401
    fresh = d.login("operator.bm", TEMP_PW)
    assert fresh["account"]["must_change_password"]
    operator = fresh["access_token"]
    blocked = d.call("GET", "/sites", operator)
    assert blocked.status_code == 403 and "/api/v1/auth/password" in blocked.json()["detail"]
    changed = d.ok(
        "POST",
        "/auth/password",
        operator,
        json={"current_password": TEMP_PW, "new_password": "my own new password"},
    )
    assert not changed["must_change_password"]
    assert d.call("GET", "/sites", operator).status_code == 200
    d.login("operator.bm", "my own new password")

    # The history says who changed what, before → after, oldest first.
    history = d.ok("GET", "/sites/BM-CP-1/history")
    steps = [(e["action"], e["before"], e["after"]) for e in history["events"]]
    assert [s[0] for s in steps] == [
        "site.create",
        "site.update",
        "site.deactivate",
        "site.reactivate",
    ]
    assert steps[1][1:] == ({"capacity_kg": 60000.0}, {"capacity_kg": 80000.0})
    assert steps[2][1:] == ({"active": True}, {"active": False, "reason": "roof repairs"})
    assert {e["account"] for e in history["events"]} == {"chief"}
    actions = [e["action"] for e in d.ok("GET", "/accounts/operator.bm/history")["events"]]
    assert actions == ["account.create", "account.password_reset", "account.password"]
    actions = [e["action"] for e in d.ok("GET", "/accounts/collector.bm/history")["events"]]
    assert actions == ["account.create", "account.disable", "account.enable"]
    assert d.ok("GET", "/audit/verify?records=false")["ok"]

    # Plaques printed for the township: one per site, by name.
    sheet = d.call("GET", f"/plaques/sheet?region={TOWN}")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/html")
    for name in ("白马村回收点", "白马村种植户", "农膜再生利用中心"):
        assert name in sheet.text

    # Last year's ledger, imported from the template; then last year's film rate.
    # Hand-worked (the village, last year, nothing else recorded there):
    #   film used, declared                                      1,000 kg
    #   farm → collection point, 300 received whole                300 kg accepted
    #   farm → collection point, 250 received, 25 refused (wet)    225 kg accepted
    #   collection point → recycler, 500 received, recycled        not a first hop
    #   recovered = 300 + 225 = 525 kg; rate = 525 / 1,000 = 0.525
    last = utcnow().year - 1
    template = d.call("GET", "/imports/template?format=csv&kind=handovers")
    assert template.status_code == 200
    header = next(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    col = {name: i for i, name in enumerate(header)}
    fills = [
        ("a", f"{last}-04-02 09:00", "BM-FARM-1", "BM-CP-1", "废旧农膜", 300, 300, "", "", ""),
        ("b", f"{last}-05-06", "BM-FARM-1", "BM-CP-1", "废旧农膜", 250, 250, 25, "潮湿有泥", ""),
        ("c", f"{last}-06-09", "BM-CP-1", "WL-FILM", "废旧农膜", 500, 500, "", "", "再生利用"),
    ]
    names = ("行键", "交接时间", "交出站点", "接收站点", "物料", "申报重量(千克)",
             "实收重量(千克)", "拒收重量(千克)", "拒收原因", "处理方式")  # fmt: skip
    rows = [header]
    for fill in fills:
        row = [""] * len(header)
        for name, value in zip(names, fill, strict=True):
            row[col[name]] = str(value)
        row[col["称重方式"]] = "称重"
        rows.append(row)
    ledger = io.StringIO()
    csv.writer(ledger).writerows(rows)
    files = {"file": (f"{last}年农膜台账.csv", ledger.getvalue().encode())}
    dry = d.call("POST", "/imports?dry_run=true", files=files, data={"kind": "handovers"})
    assert dry.status_code == 200 and dry.json()["clean"] == 3, dry.text
    done = d.call("POST", "/imports", files=files, data={"kind": "handovers"})
    assert done.status_code == 201 and done.json()["added"] == 3, done.text
    again = d.call("POST", "/imports", files=files, data={"kind": "handovers"})
    assert again.status_code in (200, 201) and again.json()["added"] == 0, again.text
    declared = io.StringIO()
    csv.writer(declared).writerows(
        [["行键", "类型", "区域代码", "开始日期", "结束日期", "物料", "数量(千克)"],
         ["film-used", "农膜使用量", VILLAGE, f"{last}-01-01", f"{last}-12-31", "废旧农膜",
          "1000"]]
    )  # fmt: skip
    files = {"file": ("declarations.csv", declared.getvalue().encode())}
    r = d.call("POST", "/imports", files=files, data={"kind": "declarations"})
    assert r.status_code == 201, r.text
    film = d.ok("GET", f"/rates?indicator=film_recovery&period={last}&region={VILLAGE}")
    assert film["numerator_kg"] == pytest.approx(525)
    assert film["denominator_kg"] == pytest.approx(1000)
    assert film["rate"] == pytest.approx(0.525)
    town = d.ok("GET", f"/rates?indicator=film_recovery&period={last}&region={TOWN}")
    assert town["rate"] == pytest.approx(0.525)


# --- sites -------------------------------------------------------------------------------


def _site(d: District, kind: str = "collection_point", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": unique("AS"),
        "name": "site",
        "kind": kind,
        "region_code": VILLAGE,
        "materials": ["film.agri"],
        **POS,
    }
    if kind in ("processor", "disposal"):
        body["routes"] = ["recycling"]
    return d.ok("POST", "/sites", json=body | over)  # type: ignore[no-any-return]


def _account(d: District, role: str, **binding: Any) -> tuple[str, str]:
    name = unique(role).lower()
    d.ok("POST", "/accounts", json={"username": name, "display_name": name, "role": role,
         "password": PW, **binding})  # fmt: skip
    return name, d.login(name, PW)["access_token"]


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("collection_point", {"routes": ["recycling"]}, "routes"),
        ("processor", {"routes": []}, "routes"),
        ("processor", {"routes": ["compost"]}, "routes"),  # film may not be composted
        ("collection_point", {"lat": None}, "lat"),
        ("collection_point", {"organisation_code": "NOPE"}, "organisation_code"),
        ("collection_point", {"materials": ["no.such"]}, "materials"),
        ("collection_point", {"region_code": "500156999999"}, "region_code"),
        ("collection_point", {"name": None}, "name"),
        ("collection_point", {"round_code": "RD-BM-1"}, "round_code"),
        ("source", {"round_code": "NO-ROUND"}, "round_code"),
        ("collection_point", {"kind": "source"}, "kind"),
    ],
)
def test_edits_that_make_no_sense_are_refused_naming_the_field(
    district: District, kind: str, body: dict[str, Any], field: str
) -> None:
    site = _site(district, kind)
    r = district.call("PATCH", f"/sites/{site['code']}", json=body)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert district.ok("GET", f"/sites/{site['code']}") == site  # nothing changed


def test_a_site_edit_replays_changes_nothing_when_equal_and_is_the_admins(
    district: District,
) -> None:
    d = district
    site = _site(d, "processor")
    key = uuid.uuid4().hex
    body = {"name": "新名字", "routes": ["recycling", "landfill"], "capacity_kg": 500}
    first = d.call("PATCH", f"/sites/{site['code']}", json=body, key=key)
    again = d.call("PATCH", f"/sites/{site['code']}", json=body, key=key)
    assert first.status_code == 200 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert first.json()["routes"] == ["landfill", "recycling"]
    other = d.call("PATCH", f"/sites/{site['code']}", json={"name": "x"}, key=key)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    d.ok("PATCH", f"/sites/{site['code']}", json={"name": "新名字"})  # the same: no event
    events = d.ok("GET", f"/sites/{site['code']}/history")["events"]
    assert [e["action"] for e in events] == ["site.create", "site.update"]
    assert events[1]["after"] == {"name": "新名字", "routes": ["landfill", "recycling"],
                                  "capacity_kg": 500.0}  # fmt: skip
    _, official = _account(d, "official")
    _, collector = _account(d, "collector")
    assert d.call("GET", f"/sites/{site['code']}/history", official).status_code == 200
    assert d.call("GET", f"/sites/{site['code']}/history", collector).status_code == 403
    assert d.call("PATCH", f"/sites/{site['code']}", official, {"name": "y"}).status_code == 403
    assert d.call("POST", f"/sites/{site['code']}/deactivate", official).status_code == 403
    d.ok("POST", f"/sites/{site['code']}/deactivate")
    twice = d.call("POST", f"/sites/{site['code']}/deactivate")
    assert twice.status_code == 409 and "already inactive" in twice.json()["detail"]
    assert d.call("PATCH", "/sites/NO-SUCH-SITE", json={"name": "z"}).status_code == 404


def test_a_source_moves_village_and_round_together(district: District) -> None:
    d = district
    cp = _site(d)
    farm = _site(d, "source")
    rnd = d.ok("POST", "/rounds", json={"code": unique("RD"), "name": "r",
               "collection_point": cp["code"], "villages": [VILLAGE],
               "sources": [farm["code"]]})  # fmt: skip
    assert d.ok("GET", f"/sites/{farm['code']}")["round_code"] == rnd["code"]
    away = d.call("PATCH", f"/sites/{farm['code']}", json={"region_code": OTHER_VILLAGE})
    assert away.status_code == 422 and away.json()["field"] == "region_code"
    other = d.ok("POST", "/rounds", json={"code": unique("RD"), "name": "r2",
                 "collection_point": cp["code"], "villages": [OTHER_VILLAGE]})  # fmt: skip
    moved = d.ok(
        "PATCH",
        f"/sites/{farm['code']}",
        json={"region_code": OTHER_VILLAGE, "round_code": other["code"]},
    )
    assert moved["region_code"] == OTHER_VILLAGE and moved["round_code"] == other["code"]
    assert d.ok("GET", f"/rounds/{rnd['code']}")["sources"] == []


# --- rounds and organisations ------------------------------------------------------------


def test_a_source_is_on_one_round_and_rounds_are_read_by_who_works_them(
    district: District,
) -> None:
    d = district
    cp = _site(d)
    farm, farm2 = _site(d, "source"), _site(d, "source")
    first = d.ok("POST", "/rounds", json={"code": unique("RD"), "name": "a",
                 "collection_point": cp["code"], "sources": [farm["code"]]})  # fmt: skip
    code2 = unique("RD")
    both = [farm2["code"], farm["code"]]
    clash = d.call("POST", "/rounds", json={"code": code2, "name": "b",
                   "collection_point": cp["code"], "sources": both})  # fmt: skip
    assert clash.status_code == 409 and clash.json()["field"] == "sources"
    assert f"{farm['code']} (on {first['code']})" in clash.json()["detail"]
    for body, field in (
        ({"collection_point": farm["code"]}, "collection_point"),
        ({"sources": [cp["code"]]}, "sources"),
        ({"villages": ["500156"]}, "villages"),
        ({"villages": [OTHER_VILLAGE], "sources": [farm2["code"]]}, "sources"),
    ):
        bad = {"code": code2, "name": "b", "collection_point": cp["code"]} | body
        r = d.call("POST", "/rounds", json=bad)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
    second = d.ok("POST", "/rounds", json={"code": code2, "name": "b",
                  "collection_point": cp["code"], "sources": [farm2["code"]]})  # fmt: skip
    shrink = d.call("PATCH", f"/rounds/{first['code']}", json={"villages": [OTHER_VILLAGE]})
    assert shrink.status_code == 422 and farm["code"] in shrink.json()["detail"]

    # Who reads which round: the collector their own, the operator those of their point.
    _, collector = _account(d, "collector", rounds=[first["code"]])
    _, operator = _account(d, "site_operator", sites=[cp["code"]])
    _, plant = _account(d, "processor")
    assert [r["code"] for r in d.ok("GET", "/rounds", collector)] == [first["code"]]
    assert d.call("GET", f"/rounds/{second['code']}", collector).status_code == 403
    assert {first["code"], second["code"]} <= {r["code"] for r in d.ok("GET", "/rounds", operator)}
    assert d.ok("GET", "/rounds", plant) == []
    # A source added to the collector's round may be scanned at once.
    assert scan(d, collector, farm2["code"], cp["code"]).status_code == 403
    d.ok("PATCH", f"/rounds/{second['code']}", json={"sources": []})
    d.ok("PATCH", f"/rounds/{first['code']}", json={"sources": [farm["code"], farm2["code"]]})
    assert scan(d, collector, farm2["code"], cp["code"]).status_code == 201
    events = d.ok("GET", f"/sites/{cp['code']}/history")["events"]
    assert [e["action"] for e in events] == ["site.create"]


def test_organisations_are_everyones_to_read_and_the_admins_to_write(
    district: District,
) -> None:
    d = district
    code = unique("ORG")
    body = {"code": code, "name": "合作社", "kind": "cooperative", "region_code": TOWN}
    _, collector = _account(d, "collector")
    assert d.call("POST", "/organisations", collector, body).status_code == 403
    d.ok("POST", "/organisations", json=body)
    assert d.call("POST", "/organisations", json=body).status_code == 409
    bad = d.call("POST", "/organisations", json=body | {"code": unique("ORG"),
                 "credit_code": "91500156MA60ABCDE0"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["field"] == "credit_code"
    assert d.call("POST", "/organisations", json=body | {"kind": "club"}).status_code == 422
    assert code in {o["code"] for o in d.ok("GET", "/organisations?kind=cooperative", collector)}
    edited = d.ok("PATCH", f"/organisations/{code}", json={"name": "新合作社", "region_code": None})
    assert (edited["name"], edited["region_code"]) == ("新合作社", None)
    assert d.ok("GET", f"/organisations/{code}", collector)["name"] == "新合作社"
    assert d.call("PATCH", f"/organisations/{code}", json={"kind": None}).status_code == 422


# --- accounts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "binding", "field"),
    [
        ("official", {"sites": ["site"]}, "sites"),
        ("admin", {"rounds": ["round"]}, "rounds"),
        ("collector", {"sites": ["plant"]}, "sites"),
        ("processor", {"sites": ["site"]}, "sites"),
        ("site_operator", {"rounds": ["round"]}, "rounds"),
    ],
)
def test_bindings_that_make_no_sense_are_refused_naming_them(
    district: District, role: str, binding: dict[str, list[str]], field: str
) -> None:
    d = district
    codes = {"site": _site(d)["code"], "plant": _site(d, "processor")["code"]}
    if "rounds" in binding:
        codes["round"] = d.ok("POST", "/rounds", json={"code": unique("RD"), "name": "r",
                              "collection_point": codes["site"]})["code"]  # fmt: skip
    bound = {k: [codes[v] for v in vs] for k, vs in binding.items()}
    body = {"username": unique("u").lower(), "display_name": "x", "role": role, "password": PW}
    r = d.call("POST", "/accounts", json=body | bound)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    # The same binding is refused as an edit, and so is a role it does not fit.
    d.ok("POST", "/accounts", json=body)
    r = d.call("PATCH", f"/accounts/{body['username']}", json=bound)
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_account_edits_take_effect_at_once_and_admins_cannot_lock_themselves_out(
    district: District,
) -> None:
    d = district
    cp = _site(d)
    name, token = _account(d, "site_operator")
    assert d.call("GET", f"/sites/{cp['code']}/plaque", token).status_code == 403
    edited = d.ok("PATCH", f"/accounts/{name}", json={"sites": [cp["code"]],
                  "display_name": "白马回收点"})  # fmt: skip
    assert edited["sites"] == [cp["code"]]
    assert d.call("GET", f"/sites/{cp['code']}/plaque", token).status_code == 200
    promoted = d.ok("PATCH", f"/accounts/{name}", json={"role": "official", "sites": []})
    assert promoted["role"] == "official"
    assert d.call("GET", "/audit/verify?records=false", token).status_code == 200
    events = d.ok("GET", f"/accounts/{name}/history")["events"]
    assert events[-1]["before"] == {"role": "site_operator", "sites": [cp["code"]]}
    assert d.ok("GET", "/accounts?role=official&active=true")
    assert d.call("GET", "/accounts", token).status_code == 403

    me = d.ok("GET", "/auth/me")["username"]
    for path, body in (
        (f"/accounts/{me}/disable", None),
        (f"/accounts/{me}/password-reset", {"password": TEMP_PW}),
    ):
        r = d.call("POST", path, json=body)
        assert r.status_code == 409, r.text
    r = d.call("PATCH", f"/accounts/{me}", json={"role": "official"})
    assert r.status_code == 409 and r.json()["field"] == "role"
    assert d.call("POST", f"/accounts/{name}/enable").status_code == 409
    assert d.call("POST", "/accounts/no.such.one/disable").status_code == 404


def test_a_wrong_current_password_changes_nothing(district: District) -> None:
    d = district
    name, token = _account(d, "collector")
    wrong = d.call("POST", "/auth/password", token, {"current_password": "not it at all",
                   "new_password": "whatever new one"})  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    same = d.call("POST", "/auth/password", token, {"current_password": PW, "new_password": PW})
    assert same.status_code == 422 and same.json()["field"] == "new_password"
    d.login(name, PW)


# --- coefficients and targets ------------------------------------------------------------


def test_coefficient_and_target_edits_are_checked(district: District) -> None:
    d = district
    made = d.ok("POST", "/coefficient-sets/2031/from-latest", json={"code": "WL-2031-T"})
    assert made["code"] == "WL-2031-T"
    again = d.call("POST", "/coefficient-sets/2031/from-latest")
    assert again.status_code == 409 and again.json()["field"] == "year"
    value = made["coefficients"][0]
    path = f"/coefficient-sets/WL-2031-T/values/{value['subject']}/{value['parameter']}"
    r = d.call("PATCH", path, json={"value": 1.5})
    assert r.status_code == 422 and r.json()["field"] == "source"
    unverified = next(c for c in made["coefficients"] if not c["own_source"])
    r = d.call(
        "PATCH",
        f"/coefficient-sets/WL-2031-T/values/{unverified['subject']}/{unverified['parameter']}",
        json={"verified": True},
    )
    assert r.status_code == 422 and r.json()["field"] == "source"
    assert d.call("PATCH", "/coefficient-sets/WL-2031-T/values/x/y",
                  json={"note": "n"}).status_code == 404  # fmt: skip
    _, collector = _account(d, "collector")
    assert d.call("PATCH", path, collector, {"note": "n"}).status_code == 403
    assert d.ok("GET", "/coefficient-sets/WL-2031-T", collector)["year"] == 2031

    body = {"indicator": "straw_utilisation", "year_from": 2031, "year_to": 2035,
            "comparator": ">=", "value": 0.93, "source": "test plan"}  # fmt: skip
    t = d.ok("POST", "/targets", json=body)
    clash = d.call("POST", "/targets", json=body | {"year_from": 2035, "year_to": 2036})
    assert clash.status_code == 409 and clash.json()["existing_id"] == t["id"]
    for bad, field in (({"indicator": "happiness"}, "indicator"), ({"year_to": 2030}, "year_to")):
        r = d.call("POST", "/targets", json=body | bad)
        assert r.status_code == 422 and r.json()["field"] == field
    assert d.ok("PATCH", f"/targets/{t['id']}", json={"value": 0.95})["value"] == 0.95
    assert d.call("POST", "/targets", collector, body).status_code == 403
