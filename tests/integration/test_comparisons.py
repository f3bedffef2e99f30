"""Year-on-year and period-on-period changes and ranks, worked by hand on a small district
built through the API.

Three farms of sows in three townships declare their head counts (manure produced: heads ×
2 kg a day × the days of the year) and the manure they spread on their own land (自行还田,
which counts as utilised) for 2023 and 2024. No handover is needed: both sides of the rate
are declared, so the figures of two past years can be built today. 2023 has 365 days, 2024
has 366.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PostgresServer, fresh_engine
from tests.factories import unique
from wasteflow.db import new_session

T1, V1 = "500156101", "500156101201"  # 白马镇
T2, V2 = "500156102", "500156102201"  # 江口镇
T3, V3 = "500156104", "500156104201"  # 火炉镇
PASSWORD = "comparison-example-password"

# township: (village, sows, kg spread in 2023, kg spread in 2024)
FARMS = {
    T1: (V1, 20, 7_300, 10_980),
    T2: (V2, 10, 7_300, 7_500),
    T3: (V3, 10, None, 7_000),
}


@pytest.fixture(scope="module", params=["sqlite"])
def district(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from api.main import create_app
    from wasteflow.schemas import AccountCreate
    from wasteflow.services.accounts import create_account
    from wasteflow.types import Role

    engine = fresh_engine(request, pg_server, tmp_path_factory, "compare")
    with new_session(engine) as session:
        create_account(
            session=session,
            actor=None,
            data=AccountCreate(
                username="chief", display_name="chief", role=Role.admin, password=PASSWORD
            ),
        )
    with TestClient(create_app(engine)) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "chief", "password": PASSWORD}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}

        def post(path: str, body: dict[str, Any]) -> None:
            r = client.post(f"/api/v1{path}", json=body, headers=h)
            assert r.status_code in (200, 201), r.text

        for village, sows, spread_2023, spread_2024 in FARMS.values():
            farm = unique("FARM")
            post(
                "/sites",
                {"code": farm, "name": f"farm {farm}", "kind": "source",
                 "region_code": village, "materials": ["manure.pig"]},
            )  # fmt: skip
            for year, spread in ((2023, spread_2023), (2024, spread_2024)):
                if spread is None:
                    continue
                period = {"period_start": f"{year}-01-01", "period_end": f"{year}-12-31"}
                post(
                    "/declarations",
                    period | {"kind": "livestock_headcount", "region_code": village,
                              "site_code": farm, "animal": "sow", "heads": sows},
                )  # fmt: skip
                post(
                    "/declarations",
                    period | {"kind": "manure_self_use", "region_code": village,
                              "site_code": farm, "material": "manure.pig",
                              "quantity_kg": spread, "land_area_mu": 30},
                )  # fmt: skip
        yield client, h
    engine.dispose()


def _rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["region"]["code"]: r for r in body["rows"]}


def test_year_on_year_worked_by_hand(district: tuple[TestClient, dict[str, str]]) -> None:
    """Manure produced and utilised, by hand:

    白马镇: 2023 20 × 2 × 365 = 14,600 kg, 7,300 spread: 0.5.
            2024 20 × 2 × 366 = 14,640 kg, 10,980 spread: 0.75. 同比 +0.25 (25 points),
            relative to 0.5: +0.5.
    江口镇: 2023 10 × 2 × 365 = 7,300 kg, 7,300 spread: exactly 1 (met, not over 100 %).
            2024 10 × 2 × 366 = 7,320 kg, 7,500 spread: 1.024590 — over 100 %: a data check,
            neither ranked nor a target met. 同比 1.024590 − 1 = +0.024590.
    火炉镇: 2023 nothing declared: no rate, no 同比.
            2024 7,320 kg, 7,000 spread: 0.956284, met (≥ 0.9).
    District: 2023 (7,300 + 7,300) / (14,600 + 7,300) = 14,600 / 21,900 = 0.666667.
              2024 (10,980 + 7,500 + 7,000) / (14,640 + 7,320 + 7,320) = 25,480 / 29,280
              = 0.870219. 同比 0.870219 − 0.666667 = +0.203552.
    Ranks in 2024 by manure: 火炉镇 1 (0.956), 白马镇 2 (0.75), 江口镇 none (over 100 %).
    Overall (targets met): 火炉镇 1 (1 of 1), 白马镇 and 江口镇 2 (0 of 1 each); townships
    with nothing to judge have no rank.
    """
    client, h = district
    r = client.get("/api/v1/rates/compare", params={"period": "2024"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"]["label"] == "2024" and body["previous_year"]["label"] == "2023"
    assert body["previous_period"] is None  # a year's period before is its year before
    rows = _rows(body)
    baima, jiangkou, huolu, district_row = (
        rows[c]["figures"]["manure_utilisation"] for c in (T1, T2, T3, "500156")
    )
    assert (baima["denominator_kg"], baima["numerator_kg"], baima["rate"]) == (14_640, 10_980, 0.75)
    assert baima["yoy"] == {
        "period": "2023", "rate": 0.5, "numerator_kg": 7_300, "change": 0.25, "relative": 0.5
    }  # fmt: skip
    assert jiangkou["rate"] == 1.02459 and jiangkou["met"] is True
    assert jiangkou["over_100"] is True and jiangkou["rank"] is None
    assert jiangkou["yoy"]["rate"] == 1 and jiangkou["yoy"]["change"] == 0.02459
    assert huolu["rate"] == 0.956284 and huolu["yoy"]["rate"] is None
    assert huolu["yoy"]["change"] is None
    assert district_row["rate"] == 0.870219 and district_row["yoy"]["rate"] == 0.666667
    assert district_row["yoy"]["change"] == 0.203552
    assert (huolu["rank"], baima["rank"]) == (1, 2)
    assert district_row["rank"] is None
    assert [(rows[c]["rank"], rows[c]["targets_met"], rows[c]["targets_with_data"])
            for c in (T3, T1, T2)] == [(1, 1, 1), (2, 0, 1), (2, 0, 1)]  # fmt: skip
    assert rows["500156201"]["rank"] is None  # 后坪乡: nothing declared, nothing to rank
    assert rows["500156"]["rank"] is None


def test_month_on_month(district: tuple[TestClient, dict[str, str]]) -> None:
    """A year's declarations count for each month by its days, both sides alike: June and May
    2024 of 白马镇 are both 0.75 (e.g. June: 10,980 × 30/366 ÷ (20 × 2 × 30)), so 环比 is 0;
    同比 against June 2023 (0.5) is +0.25."""
    client, h = district
    body = client.get("/api/v1/rates/compare", params={"period": "2024-06"}, headers=h).json()
    assert body["previous_period"]["label"] == "2024-05"
    baima = _rows(body)[T1]["figures"]["manure_utilisation"]
    assert baima["rate"] == 0.75 and baima["mom"]["rate"] == 0.75
    assert baima["mom"]["change"] == 0 and baima["mom"]["period"] == "2024-05"
    assert baima["yoy"]["period"] == "2023-06" and baima["yoy"]["change"] == 0.25
    q = client.get("/api/v1/rates/compare", params={"period": "2024-Q1"}, headers=h).json()
    assert q["previous_period"]["label"] == "2023-Q4"


def test_comparison_is_for_officials_and_checks_its_input(
    district: tuple[TestClient, dict[str, str]],
) -> None:
    client, h = district
    r = client.get("/api/v1/rates/compare", params={"period": "2024-13"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "period"
    assert client.get("/api/v1/rates/compare", params={"period": "2024"}).status_code == 401
