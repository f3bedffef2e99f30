"""Hand-computed anomalies: every kind found where it should be and nowhere else."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from graph import ANOMALY_KINDS, Flow, Scan, SiteNode, Treatment, detect_anomalies, haversine_m

R1 = "500156101"
LAT, LON = 29.32, 107.76  # 武隆区 town centre


def cp(id: int, **kw) -> SiteNode:
    return SiteNode(id, "collection_point", R1, **kw)


SOURCE = SiteNode(1, "source", R1, lat=LAT, lon=LON)
PROCESSOR = SiteNode(30, "processor", R1)


def kinds(anomalies) -> list[tuple[str, int | None, str | None]]:
    return [(a.kind, a.site, a.material) for a in anomalies]


def test_outflow_above_inflow_is_negative_stock() -> None:
    sites = [SOURCE, cp(10), cp(11), PROCESSOR]
    flows = [
        Flow(1, 10, "m", 100.0),
        Flow(10, 30, "m", 120.0),
        Flow(1, 11, "m", 50.0),
        Flow(11, 30, "m", 50.0),  # exactly balanced: not an anomaly
    ]
    found = detect_anomalies(sites, flows, [Treatment(30, "m", "compost", "utilisation", 170.0)])
    assert kinds(found) == [("negative_stock", 10, "m")]
    assert found[0].severity == "error"
    assert found[0].detail["missing_kg"] == pytest.approx(20.0)


def test_opening_stock_covers_outflow() -> None:
    sites = [SOURCE, cp(10), PROCESSOR]
    flows = [Flow(1, 10, "m", 100.0), Flow(10, 30, "m", 120.0)]
    assert detect_anomalies(sites, flows, [], opening_stock={(10, "m"): 20.0}) == []
    found = detect_anomalies(sites, flows, [], opening_stock={(10, "m"): 19.0})
    assert kinds(found) == [("negative_stock", 10, "m")]


def test_treatment_beyond_inflow_is_negative_stock_but_not_at_a_source() -> None:
    sites = [SOURCE, cp(10)]
    flows = [Flow(1, 10, "m", 10.0)]
    treatments = [
        Treatment(10, "m", "compost", "utilisation", 11.0),
        Treatment(1, "m", "compost", "utilisation", 500.0),
    ]
    assert kinds(detect_anomalies(sites, flows, treatments)) == [("negative_stock", 10, "m")]


def test_over_capacity_counts_all_materials() -> None:
    sites = [SOURCE, cp(10, capacity_kg=50.0), cp(11, capacity_kg=100.0), PROCESSOR]
    flows = [
        Flow(1, 10, "m", 80.0),
        Flow(1, 10, "x", 10.0),
        Flow(10, 30, "m", 30.0),  # holds 60 kg of 50
        Flow(1, 11, "m", 100.0),  # holds exactly its capacity
    ]
    found = detect_anomalies(sites, flows, [])
    assert kinds(found) == [("over_capacity", 10, None)]
    assert found[0].detail == {"closing_kg": 60.0, "capacity_kg": 50.0}
    assert found[0].severity == "warning"
    flows.append(Flow(1, 10, "x", 50.0))  # now 110 kg: over twice the capacity
    assert detect_anomalies(sites, flows, [])[0].severity == "error"


def test_stale_stock_first_in_first_out() -> None:
    sites = [SOURCE, cp(10), cp(11), PROCESSOR]
    flows = [
        Flow(1, 10, "m", 10.0, day=date(2025, 1, 1)),
        Flow(1, 10, "m", 10.0, day=date(2025, 3, 1)),
        Flow(1, 10, "m", 10.0, day=date(2025, 5, 1)),
        Flow(10, 30, "m", 15.0, day=date(2025, 5, 10)),
        # Site 11 empties its old stock: nothing stale there.
        Flow(1, 11, "m", 10.0, day=date(2025, 1, 1)),
        Flow(1, 11, "m", 4.0, day=date(2025, 6, 1)),
        Flow(11, 30, "m", 10.0, day=date(2025, 2, 1)),
    ]
    treatments = [Treatment(30, "m", "compost", "utilisation", 25.0, day=date(2025, 6, 30))]
    found = detect_anomalies(sites, flows, treatments, period_end=date(2025, 6, 30))
    # 15 kg left: the January batch and 5 kg of March are gone; the oldest held is March 1st.
    assert kinds(found) == [("stale_stock", 10, "m")]
    assert found[0].detail == {
        "oldest_day": "2025-03-01",
        "dwell_days": 121,
        "max_dwell_days": 90,
        "held_kg": 15.0,
    }
    assert detect_anomalies(sites, flows, treatments, max_dwell_days=121) == []
    # Without period_end the last day in the records (June 30th, a treatment) is the end.
    assert kinds(detect_anomalies(sites, flows, treatments)) == [("stale_stock", 10, "m")]


def test_stale_stock_dates_opening_stock_at_period_start_and_skips_undated() -> None:
    sites = [SOURCE, cp(10), cp(11), PROCESSOR]
    flows = [
        Flow(1, 10, "m", 10.0, day=date(2025, 6, 1)),
        Flow(1, 11, "m", 10.0, day=date(2025, 1, 1)),
        Flow(1, 11, "m", 1.0),  # undated arrival: site 11 cannot be aged
    ]
    found = detect_anomalies(
        sites,
        flows,
        [],
        opening_stock={(10, "m"): 5.0},
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
    )
    assert kinds(found) == [("stale_stock", 10, "m")]
    assert found[0].detail["oldest_day"] == "2025-01-01"
    assert found[0].detail["held_kg"] == 15.0


def test_no_days_no_stale_check() -> None:
    sites = [SOURCE, cp(10)]
    assert detect_anomalies(sites, [Flow(1, 10, "m", 10.0)], []) == []


def test_stock_is_left_unaged_when_the_caller_ages_it() -> None:
    # A pool that only holds opening stock is stale when aged from the period's start; a
    # caller that ages stock from its own records passes max_dwell_days=None and gets no
    # second finding for it.
    sites = [SOURCE, cp(10)]
    held = {(10, "m"): 50.0}
    year = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
    assert kinds(detect_anomalies(sites, [], [], opening_stock=held, **year)) == [
        ("stale_stock", 10, "m")
    ]
    assert detect_anomalies(sites, [], [], opening_stock=held, max_dwell_days=None, **year) == []


def test_mass_discrepancy_beyond_tolerance() -> None:
    sites = [SOURCE, cp(10), cp(11), cp(12), cp(13)]
    flows = [
        Flow(1, 10, "m", 94.0, declared_kg=100.0, received_kg=94.0),  # 6 %: flagged
        Flow(1, 11, "m", 96.0, declared_kg=100.0, received_kg=96.0),  # 4 %: fine
        Flow(1, 12, "m", 80.0, declared_kg=100.0, received_kg=80.0),  # 20 %: error
        Flow(1, 13, "m", 80.0, declared_kg=None, received_kg=80.0),  # nothing to compare
    ]
    found = detect_anomalies(sites, flows, [])
    assert kinds(found) == [("mass_discrepancy", 10, "m"), ("mass_discrepancy", 12, "m")]
    assert [a.severity for a in found] == ["warning", "error"]
    assert found[0].detail["relative_gap"] == pytest.approx(0.06)
    assert found[0].detail["src"] == 1
    assert kinds(detect_anomalies(sites, flows, [], tolerance=0.1)) == [
        ("mass_discrepancy", 12, "m")
    ]


def test_implausible_source() -> None:
    sites = [SOURCE, SiteNode(2, "source", R1), cp(10)]
    flows = [Flow(1, 10, "m", 106.0), Flow(2, 10, "m", 104.0)]
    potential = {(1, "m"): 100.0, (2, "m"): 100.0, (10, "m"): 1.0}
    found = detect_anomalies(sites, flows, [], potential=potential)
    assert kinds(found) == [("implausible_source", 1, "m")]
    assert found[0].detail == {"outflow_kg": 106.0, "potential_kg": 100.0, "tolerance": 0.05}


def test_haversine_against_known_values() -> None:
    # Along a meridian the great-circle distance is R·Δφ: 0.01° is 1111.9508 m.
    assert haversine_m(LAT, LON, LAT + 0.01, LON) == pytest.approx(1111.9508023, abs=1e-6)
    # 0.01° of longitude at 29.32° N (law of cosines gives the same to 10 µm).
    assert haversine_m(LAT, LON, LAT, LON + 0.01) == pytest.approx(969.50812, abs=1e-4)
    assert haversine_m(LAT, LON, 29.3245, 107.7648) == pytest.approx(683.32423, abs=1e-4)
    both = haversine_m(np.array([LAT, LAT]), np.array([LON, LON]), LAT + 0.01, LON)
    np.testing.assert_allclose(both, [1111.9508023, 1111.9508023])


def test_far_scan() -> None:
    sites = [SOURCE, cp(10)]  # site 10 has no coordinates: its scans cannot be checked
    scans = [
        Scan("h-near", 1, LAT + 0.004, LON),  # 445 m
        Scan("h-far", 1, LAT + 0.01, LON),  # 1112 m
        Scan("h-very-far", 1, 29.3245, 107.7648 + 0.02),  # over 1 km, error at 500 m
        Scan("h-unknown", 10, 0.0, 0.0),
    ]
    found = detect_anomalies(sites, [], [], scans=scans)
    assert [a.detail["handover"] for a in found] == ["h-far", "h-very-far"]
    assert found[0].detail["distance_m"] == pytest.approx(1111.9508, abs=1e-3)
    assert [a.severity for a in found] == ["error", "error"]
    assert detect_anomalies(sites, [], [], scans=scans, max_distance_m=1000)[0].severity == (
        "warning"
    )
    assert [a.detail["handover"] for a in detect_anomalies(sites, [], [], scans=scans[:1])] == []


def test_anomalies_are_sorted_and_independent_of_record_order() -> None:
    sites = [SOURCE, cp(10, capacity_kg=1.0), cp(11), PROCESSOR]
    flows = [
        Flow(1, 10, "m", 50.0, declared_kg=60.0, received_kg=50.0, day=date(2025, 1, 2)),
        Flow(1, 10, "m", 50.0, declared_kg=70.0, received_kg=50.0, day=date(2025, 1, 1)),
        Flow(10, 30, "m", 10.0, day=date(2025, 1, 3)),
        Flow(11, 30, "m", 10.0, day=date(2025, 6, 3)),
    ]
    treatments = [Treatment(30, "m", "compost", "utilisation", 20.0)]
    scans = [Scan("b", 1, 30.0, LON), Scan("a", 1, 30.0, LON)]
    expected = detect_anomalies(
        sites, flows, treatments, scans=scans, potential={(1, "m"): 1.0}, max_dwell_days=30
    )
    assert [a.kind for a in expected] == [
        "negative_stock",
        "over_capacity",
        "stale_stock",
        "mass_discrepancy",
        "mass_discrepancy",
        "implausible_source",
        "far_scan",
        "far_scan",
    ]
    assert [a.kind for a in expected] == sorted((a.kind for a in expected), key=ANOMALY_KINDS.index)
    assert [a.detail["day"] for a in expected if a.kind == "mass_discrepancy"] == [
        "2025-01-01",
        "2025-01-02",
    ]
    rng = random.Random(3)
    for _ in range(5):
        rng.shuffle(flows)
        rng.shuffle(sites)
        rng.shuffle(scans)
        again = detect_anomalies(
            sites, flows, treatments, scans=scans, potential={(1, "m"): 1.0}, max_dwell_days=30
        )
        assert again == expected
