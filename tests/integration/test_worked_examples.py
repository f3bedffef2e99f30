"""The official figures worked by hand, through the API, on a district built from nothing.

Each example is a small district an administrator registers (sites, accounts, declarations),
whose collectors, operators and plants record their loads and receipts as they would; the
figures the officials then read are checked against numbers worked out by hand (kg, one
year). A processor is not a pool: each load keeps its own origin mix there.

Each backend gets a database of its own for this module, so a township's figures hold only
what these examples recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BACKENDS, PostgresServer, fresh_engine
from tests.factories import unique
from wasteflow.config import get_settings
from wasteflow.db import new_session
from wasteflow.types import utcnow

# Two townships of 武隆区 and a village in each (reference data).
T1, V1 = "500156101", "500156101201"  # 白马镇
T2, V2 = "500156102", "500156102201"  # 江口镇
PASSWORD = "worked-example-password"


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[District]:
    from api.main import create_app
    from wasteflow.schemas import AccountCreate
    from wasteflow.services.accounts import create_account
    from wasteflow.types import Role

    engine = fresh_engine(request, pg_server, tmp_path_factory, "worked")
    with new_session(engine) as session:
        # The first administrator is made on the command line; everything else is the API.
        create_account(
            session=session,
            actor=None,
            data=AccountCreate(
                username="chief", display_name="chief", role=Role.admin, password=PASSWORD
            ),
        )
    with TestClient(create_app(engine)) as client:
        yield District(client, _login(client, "chief"))
    engine.dispose()


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass
class District:
    client: TestClient
    admin: dict[str, str]

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        r = self.client.post(
            f"/api/v1{path}", json=body, headers=headers | {"Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def site(self, kind: str, region: str, materials: list[str], routes: list[str] = ()) -> str:  # type: ignore[assignment]
        code = unique(kind[:2].upper())
        body = {
            "code": code,
            "name": f"{kind} {code}",
            "kind": kind,
            "region_code": region,
            "materials": materials,
            "routes": list(routes),
        }
        self.post("/sites", body, self.admin)
        return code

    def account(self, role: str, sites: list[str]) -> dict[str, str]:
        username = unique(role).lower()
        body = {
            "username": username,
            "display_name": username,
            "role": role,
            "password": PASSWORD,
            "sites": sites,
        }
        self.post("/accounts", body, self.admin)
        return _login(self.client, username)

    def plaque(self, site: str) -> str:
        r = self.client.get(f"/api/v1/sites/{site}/plaque", headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()["payload"]  # type: ignore[no-any-return]

    def hand_over(
        self, who: dict[str, str], src: str, dst: str, material: str, kg: float, **extra: Any
    ) -> str:
        body = {
            "source_plaque": self.plaque(src),
            "to_site": dst,
            "material": material,
            "declared_mass_kg": kg,
            "mass_method": "weighed",
            "device_time": utcnow().isoformat(),
        } | extra
        return self.post("/handovers", body, who)["code"]  # type: ignore[no-any-return]

    def receive(self, who: dict[str, str], code: str, kg: float, **extra: Any) -> None:
        self.post(f"/handovers/{code}/receipt", {"received_mass_kg": kg} | extra, who)

    def declare(self, body: dict[str, Any]) -> None:
        year = _year()
        self.post(
            "/declarations",
            {"period_start": f"{year}-01-01", "period_end": f"{year}-12-31"} | body,
            self.admin,
        )

    def figure(self, indicator: str, region: str) -> dict[str, Any]:
        r = self.client.get(
            "/api/v1/rates",
            params={"indicator": indicator, "region": region, "period": str(_year())},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def report_equals_raw(self) -> None:
        """The figures read from the totals equal those recomputed from every handover."""
        period = {"period": str(_year())}
        totals = self.client.get("/api/v1/rates/report", params=period, headers=self.admin)
        raw = self.client.get(
            "/api/v1/rates/report", params=period | {"source": "raw"}, headers=self.admin
        )
        assert totals.status_code == raw.status_code == 200
        for a, b in zip(totals.json()["rows"], raw.json()["rows"], strict=True):
            for key, fig in a["figures"].items():
                other = b["figures"][key]
                assert (fig["numerator_kg"], fig["denominator_kg"], fig["rate"]) == (
                    other["numerator_kg"],
                    other["denominator_kg"],
                    other["rate"],
                ), (a["region"]["code"], key)


def _year() -> int:
    """The year the loads recorded now count for (their local day's)."""
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(get_settings().timezone)).year


def _days_in_year() -> int:
    year = _year()
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def test_each_load_goes_to_the_route_on_its_own_receipt(api: District) -> None:
    """Plant Q composts and landfills. Farm A (township 1, 20 sows) hands 2,000 kg of pig
    manure to Q, composted; farm B (township 2, 10 sows) 1,000 kg, landfilled. Produced
    (stock counts for the whole year): A 20 × 2 × 365 = 14,600 kg, B 7,300 kg. Utilisation:
    township 1 = 2,000 / 14,600 = 0.136986; township 2 = 0; district 2,000 / 21,900."""
    farm_a = api.site("source", V1, ["manure.pig"])
    farm_b = api.site("source", V2, ["manure.pig"])
    plant = api.site("processor", T1, ["manure.pig"], ["compost", "landfill"])
    collector = api.account("collector", [farm_a, farm_b])
    operator = api.account("processor", [plant])
    for farm, heads in ((farm_a, 20), (farm_b, 10)):
        api.declare(
            {
                "kind": "livestock_headcount",
                "region_code": V1 if farm == farm_a else V2,
                "site_code": farm,
                "animal": "sow",
                "heads": heads,
            }
        )
    a = api.hand_over(collector, farm_a, plant, "manure.pig", 2000)
    b = api.hand_over(collector, farm_b, plant, "manure.pig", 1000)
    api.receive(operator, a, 2000, route="compost")
    api.receive(operator, b, 1000, route="landfill")

    days = _days_in_year()
    one = api.figure("manure_utilisation", T1)
    assert one["denominator_kg"] == 20 * 2 * days
    assert one["numerator_kg"] == 2000
    assert one["rate"] == round(2000 / (20 * 2 * days), 6)  # 0.136986 in a 365-day year
    two = api.figure("manure_utilisation", T2)
    assert (two["numerator_kg"], two["denominator_kg"], two["rate"]) == (0, 10 * 2 * days, 0)
    assert two["components"]["by_route_kg"]["landfill"] == 1000
    district = api.figure("manure_utilisation", "500156")
    assert district["numerator_kg"] == 2000 and district["denominator_kg"] == 30 * 2 * days
    assert district["rate"] == round(2000 / (30 * 2 * days), 6)  # 0.091324
    # Straight from the farms to the plant: nothing rests on proportional sharing.
    assert one["basis"]["pooled_share"] == 0
    api.report_equals_raw()


def test_a_pooled_load_refused_in_part_goes_back_with_its_mix(api: District) -> None:
    """Collection point P takes 600 kg of maize straw from farm C (township 1) and 400 kg
    from farm D (township 2) and ships 1,000 kg to plant R; R refuses 100 kg (soil) and
    burns 900 kg as fuel; the 100 kg go back to P. Utilised: C 540 kg, D 360 kg, exactly;
    P holds 100 kg afterwards, 60 from C and 40 from D."""
    farm_c = api.site("source", V1, ["straw.maize"])
    farm_d = api.site("source", V2, ["straw.maize"])
    point = api.site("collection_point", V1, ["straw.maize"])
    plant = api.site("processor", T1, ["straw.maize"], ["fuel"])
    collector = api.account("collector", [farm_c, farm_d])
    operator = api.account("site_operator", [point])
    processor = api.account("processor", [plant])
    for farm, kg in ((farm_c, 600), (farm_d, 400)):
        api.receive(operator, api.hand_over(collector, farm, point, "straw.maize", kg), kg)
    load = api.hand_over(operator, point, plant, "straw.maize", 1000)
    api.receive(processor, load, 1000, refused_mass_kg=100, refusal_reason="soil", route="fuel")
    back = api.hand_over(processor, plant, point, "straw.maize", 100, returns=load)
    api.receive(operator, back, 100)

    c, d = api.figure("straw_utilisation", T1), api.figure("straw_utilisation", T2)
    assert c["numerator_kg"] == 540 and d["numerator_kg"] == 360
    assert c["components"]["by_route_kg"]["fuel"] == 540
    # Back at P: 100 kg in stock, 60/40.
    assert c["components"]["by_route_kg"]["stock"] == 60
    assert d["components"]["by_route_kg"]["stock"] == 40
    # All of it was shared out at P, in proportion.
    assert c["basis"]["pooled_share"] == 1
    balance = api.client.get(
        "/api/v1/flows/balance", params={"period": str(_year())}, headers=api.admin
    )
    assert balance.status_code == 200, balance.text
    held = {
        (s["site"], s["material"]): s["closing_kg"]
        for s in balance.json()["sites"]
        if s["site"] in (point, plant)
    }
    assert held == {(point, "straw.maize"): 100, (plant, "straw.maize"): 0}
    api.report_equals_raw()


def test_refused_mass_waiting_at_a_plant_does_not_dilute_other_loads(api: District) -> None:
    """Cement plant K takes 30,000 kg of fly ash from factory F (township 1), refuses 5,000
    (still at K at year end), uses 25,000 as raw material; it takes 10,000 kg from factory G
    (township 2) and uses all. Utilised: F 25,000, G 10,000 (a pool would say 9,375); F's
    5,000 kg show as held at K awaiting return."""
    factory_f = api.site("source", V1, ["isw.fly_ash"])
    factory_g = api.site("source", V2, ["isw.fly_ash"])
    plant = api.site("processor", T1, ["isw.fly_ash"], ["raw_material"])
    sender = api.account("site_operator", [factory_f, factory_g])
    processor = api.account("processor", [plant])
    api.declare(
        {"kind": "industrial_generated", "region_code": V1, "site_code": factory_f,
         "material": "isw.fly_ash", "quantity_kg": 40_000}
    )  # fmt: skip
    api.declare(
        {"kind": "industrial_generated", "region_code": V2, "site_code": factory_g,
         "material": "isw.fly_ash", "quantity_kg": 10_000}
    )  # fmt: skip
    f = api.hand_over(sender, factory_f, plant, "isw.fly_ash", 30_000)
    g = api.hand_over(sender, factory_g, plant, "isw.fly_ash", 10_000)
    api.receive(
        processor, f, 30_000, refused_mass_kg=5_000, refusal_reason="wet", route="raw_material"
    )
    api.receive(processor, g, 10_000, route="raw_material")

    one, two = api.figure("industrial_utilisation", T1), api.figure("industrial_utilisation", T2)
    assert one["numerator_kg"] == 25_000 and one["rate"] == round(25_000 / 40_000, 6)
    assert two["numerator_kg"] == 10_000 and two["rate"] == 1
    assert one["components"]["awaiting_return_kg"] == {plant: 5_000}
    assert two["components"]["awaiting_return_kg"] == {}
    api.report_equals_raw()


def test_the_worked_districts_totals_hold_after_a_receipt_correction(api: District) -> None:
    """A plant corrects a receipt (a mis-keyed weight): the figures move by the difference,
    read from the totals and recomputed from the records alike."""
    farm = api.site("source", V2, ["manure.pig"])
    plant = api.site("processor", T2, ["manure.pig"], ["compost", "landfill"])
    collector = api.account("collector", [farm])
    processor = api.account("processor", [plant])
    before = api.figure("manure_utilisation", T2)["numerator_kg"]
    code = api.hand_over(collector, farm, plant, "manure.pig", 500)
    api.receive(processor, code, 500, route="compost")
    api.post(
        f"/handovers/{code}/receipt/correct",
        {"received_mass_kg": 450, "route": "compost", "reason": "scale read wrong"},
        processor,
    )
    assert api.figure("manure_utilisation", T2)["numerator_kg"] == before + 450
    api.report_equals_raw()


T3, V3 = "500156104", "500156104201"  # 火炉镇
T4, V4 = "500156105", "500156105201"  # 鸭江镇
T5, V5 = "500156107", "500156107201"  # 长坝镇


def test_manure_counts_on_one_mass_basis_and_only_its_official_uses(api: District) -> None:
    """Farm H (10 dairy cows in stock all year) produces 10 × 20 × 365 = 73,000 kg of manure
    (solids) — 10 × 68 × 365 of slurry. It hands over 10,000 kg of slurry, digested for
    biogas, which holds 10,000 × 20 ÷ (20 + 48) = 2,941.176 kg of manure; 4,000 kg of solids
    landfilled (never utilisation); and declares 5,000 kg of solids spread on its own 30 mu.
    Utilised: 2,941.176 + 5,000 = 7,941.176 kg of 73,000: 0.108783."""
    farm = api.site("source", V3, ["manure.dairy_cattle", "manure.dairy_cattle_slurry"])
    plant = api.site(
        "processor",
        T3,
        ["manure.dairy_cattle", "manure.dairy_cattle_slurry"],
        ["biogas", "landfill"],
    )
    collector = api.account("collector", [farm])
    processor = api.account("processor", [plant])
    api.declare(
        {"kind": "livestock_headcount", "region_code": V3, "site_code": farm,
         "animal": "dairy_cow", "heads": 10}
    )  # fmt: skip
    api.declare(
        {"kind": "manure_self_use", "region_code": V3, "site_code": farm,
         "material": "manure.dairy_cattle", "quantity_kg": 5000, "land_area_mu": 30}
    )  # fmt: skip
    slurry = api.hand_over(collector, farm, plant, "manure.dairy_cattle_slurry", 10_000)
    solids = api.hand_over(collector, farm, plant, "manure.dairy_cattle", 4000)
    # "Recycling" is not a use of manure: refused, naming the route.
    wrong = api.client.post(
        f"/api/v1/handovers/{solids}/receipt",
        json={"received_mass_kg": 4000, "route": "recycling"},
        headers=processor,
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "route", wrong.text
    api.receive(processor, slurry, 10_000, route="biogas")
    api.receive(processor, solids, 4000, route="landfill")

    days = _days_in_year()
    fig = api.figure("manure_utilisation", T3)
    produced = 10 * 20 * days
    as_solids = round(10_000 * 20 / 68, 3)
    assert fig["denominator_kg"] == produced
    assert fig["numerator_kg"] == round(as_solids + 5000, 3)
    assert fig["rate"] == round((10_000 * 20 / 68 + 5000) / produced, 6)
    c = fig["components"]
    assert (c["slurry_utilised_kg"], c["slurry_as_solids_kg"]) == (10_000, as_solids)
    assert c["self_use_kg"] == 5000 and c["by_route_kg"]["landfill"] == 4000
    assert fig["basis"]["mass_basis"] == "solids"
    assert fig["records"]["declarations"] == 2
    # The plan's targets ran to 2025; they stand after it until an admin sets new ones.
    assert fig["target"]["value"] == 0.9
    assert fig["target"]["carried_forward"] is (_year() > 2025)
    assert fig["basis"]["coefficient_set"]["fallback"] is (_year() != 2025)
    api.report_equals_raw()


def test_straw_by_its_five_uses_with_households_own_use(api: District) -> None:
    """Township 鸭江: 100,000 kg of maize grain on 100 mu, 20 of them ploughed back; the
    coefficients give collectable = 100,000 × 1.15 × 0.81 = 93,150 kg and ploughed back
    93,150 × 20/100 = 18,630 kg (肥料化). A farm sends 30,000 kg to a plant that makes feed
    of it (饲料化); households declare they burned 10,000 kg as fuel (燃料化). Utilised:
    18,630 + 30,000 + 10,000 = 58,630 of 93,150."""
    farm = api.site("source", V4, ["straw.maize"])
    plant = api.site("processor", T4, ["straw.maize"], ["feed"])
    collector = api.account("collector", [farm])
    processor = api.account("processor", [plant])
    api.declare(
        {"kind": "crop_output", "region_code": V4, "crop": "maize", "output_kg": 100_000,
         "area_sown_mu": 100, "area_returned_mu": 20}
    )  # fmt: skip
    api.declare(
        {"kind": "straw_household_use", "region_code": V4, "crop": "maize", "use": "fuel",
         "quantity_kg": 10_000}
    )  # fmt: skip
    load = api.hand_over(collector, farm, plant, "straw.maize", 15_000)
    api.receive(processor, load, 15_000, route="feed")
    load = api.hand_over(collector, farm, plant, "straw.maize", 15_000)
    api.receive(processor, load, 15_000, route="feed")

    fig = api.figure("straw_utilisation", T4)
    collectable = round(100_000 * 1.15 * 0.81, 3)
    assert fig["denominator_kg"] == collectable
    assert fig["numerator_kg"] == round(collectable * 0.2 + 30_000 + 10_000, 3)
    assert fig["components"]["five_uses_kg"] == {
        "fertiliser": round(collectable * 0.2, 3),
        "feed": 30_000,
        "fuel": 10_000,
        "substrate": 0,
        "raw_material": 0,
    }
    assert fig["components"]["household_use_kg"] == 10_000
    # The maize straw-to-grain ratio (1.1–1.2) is not from a primary source: said so.
    assert "maize.straw_grain_ratio" in fig["basis"]["unverified_coefficients"]
    api.report_equals_raw()


def test_construction_waste_has_its_own_indicator(api: District) -> None:
    """A building site in 长坝 hands 8,000 kg of construction waste to a recycling plant
    (building material) and declares 10,000 kg generated: 建筑垃圾资源化利用率 = 0.8, and the
    bulk industrial figure of 长坝 holds none of it."""
    site = api.site("source", V5, ["isw.construction_waste"])
    plant = api.site("processor", T5, ["isw.construction_waste"], ["building_material"])
    sender = api.account("site_operator", [site])
    processor = api.account("processor", [plant])
    api.declare(
        {"kind": "industrial_generated", "region_code": V5, "site_code": site,
         "material": "isw.construction_waste", "quantity_kg": 10_000}
    )  # fmt: skip
    load = api.hand_over(sender, site, plant, "isw.construction_waste", 8000)
    api.receive(processor, load, 8000, route="building_material")
    construction = api.figure("construction_waste_utilisation", T5)
    assert (construction["numerator_kg"], construction["denominator_kg"]) == (8000, 10_000)
    assert construction["rate"] == 0.8
    industrial = api.figure("industrial_utilisation", T5)
    assert industrial["numerator_kg"] == 0 and industrial["status"] == "no_data"
    api.report_equals_raw()


T6, V6 = "500156108", "500156108201"  # 平桥镇
T7, V7 = "500156109", "500156109201"  # 桐梓镇
_LAW: dict[str, Any] = {}


def _law_district(api: District) -> dict[str, Any]:
    """Four farms in two townships and three plants, made once per database."""
    if id(api) not in _LAW:
        farms = {
            api.site("source", v, ["manure.pig"]): t
            for v, t in ((V6, T6), (V6, T6), (V7, T7), (V7, T7))
        }
        plants = [
            api.site("processor", T6, ["manure.pig"], ["compost", "biogas", "landfill"])
            for _ in range(3)
        ]
        _LAW[id(api)] = {
            "farms": farms,
            "plants": plants,
            "collector": api.account("collector", list(farms)),
            "processor": api.account("processor", plants),
            "expected": {T6: 0.0, T7: 0.0},
        }
    return _LAW[id(api)]


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # farm
            st.integers(0, 2),  # plant
            st.integers(1, 4000),  # kg received
            st.floats(0, 1),  # share refused
            st.sampled_from(["compost", "biogas", "landfill"]),
            st.floats(0, 1),  # share of the refusal sent back
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_no_pools_law_through_the_api(api: District, loads: list[tuple]) -> None:  # type: ignore[type-arg]
    """With no pools (every farm delivers straight to plants), each township's numerator is
    the plain sum of its own loads' accepted mass under utilisation routes, whatever other
    loads at the same plants were refused, sent back or landfilled — read from the totals
    and recomputed from the records alike, on each database."""
    law = _law_district(api)
    farms, plants = list(law["farms"]), law["plants"]
    for farm_i, plant_i, kg, refused_share, route, back_share in loads:
        farm, plant = farms[farm_i], plants[plant_i]
        refused = round(kg * refused_share)
        code = api.hand_over(law["collector"], farm, plant, "manure.pig", kg)
        receipt: dict[str, Any] = {"route": route} if refused < kg else {}
        if refused:
            receipt |= {"refused_mass_kg": refused, "refusal_reason": "stones"}
        api.receive(law["processor"], code, kg, **receipt)
        if route != "landfill":
            law["expected"][law["farms"][farm]] += kg - refused
        back = round(refused * back_share)
        if back:
            api.hand_over(law["processor"], plant, farm, "manure.pig", back, returns=code)
    for township in (T6, T7):
        fig = api.figure("manure_utilisation", township)
        assert fig["numerator_kg"] == round(law["expected"][township], 3), township
        assert fig["basis"]["pooled_kg"] == 0
    api.report_equals_raw()
