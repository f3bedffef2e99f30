"""The official estimation formulas, worked by hand from reference/official-rates.md."""

from __future__ import annotations

from datetime import date

import pytest

from wasteflow.errors import Invalid
from wasteflow.estimates import (
    DAYS_DECLARED_PERIOD,
    DAYS_LIFETIME,
    collectable_straw,
    manure_produced,
    period_days,
)

COEFFS = {
    ("pig_fattening", "manure_kg_per_head_day"): (2.0, True),
    ("pig_fattening", "wastewater_l_per_head_day"): (10.0, True),
    ("pig_fattening", "days_counted"): (180.0, True),
    ("pig_fattening", "count_basis_slaughtered"): (1.0, True),
    ("sow", "manure_kg_per_head_day"): (2.0, True),
    ("sow", "wastewater_l_per_head_day"): (10.0, True),
    ("sow", "days_counted"): (365.0, True),
    ("sow", "count_basis_slaughtered"): (0.0, True),
    ("duck_goose", "manure_kg_per_head_day"): (0.13, True),
    ("duck_goose", "days_counted"): (365.0, False),
    ("duck_goose", "count_basis_slaughtered"): (0.0, True),
    ("laying_hen", "manure_kg_per_head_day"): (0.1, True),
    ("laying_hen", "wastewater_l_per_head_day"): (0.25, False),
    ("laying_hen", "count_basis_slaughtered"): (0.0, True),
    ("broiler", "manure_kg_per_head_day"): (0.1, True),
    ("broiler", "count_basis_slaughtered"): (1.0, True),
    ("soybean", "straw_grain_ratio"): (1.5, True),
    ("soybean", "collectable_coefficient"): (0.81, True),
    ("soybean", "straw_grain_ratio_max"): (3.0, True),
    ("rice", "straw_grain_ratio"): (2.6, False),
    ("rice", "collectable_coefficient"): (0.81, True),
    ("rice", "straw_grain_ratio_max"): (2.5, True),
}
YEAR_2025 = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
Q1_2026 = {"period_start": date(2026, 1, 1), "period_end": date(2026, 3, 31)}


def test_period_days_count_both_ends() -> None:
    assert period_days(date(2025, 1, 1), date(2025, 12, 31)) == 365
    assert period_days(date(2024, 1, 1), date(2024, 12, 31)) == 366
    assert period_days(date(2026, 1, 1), date(2026, 3, 31)) == 90
    assert period_days(date(2026, 5, 5), date(2026, 5, 5)) == 1


def test_sows_in_stock_count_the_days_of_the_declared_period() -> None:
    # 20 sows as stock for a calendar year: 20 × 2 kg × 365 d = 14,600 kg solids;
    # slurry adds 10 L wastewater (taken as kg): 20 × 12 × 365 = 87,600 kg.
    year = manure_produced(COEFFS, "sow", 20, **YEAR_2025)
    assert year.produced_kg == 14_600 and year.produced_slurry_kg == 87_600
    assert year.days == 365 and year.days_rule == DAYS_DECLARED_PERIOD == "declared period"
    assert year.count_basis == "stock" and year.verified
    assert year.solids_share_of_slurry == pytest.approx(2 / 12)
    # The same 20 sows declared for Q1 2026 (90 days): 20 × 2 × 90 = 3,600 kg, not 14,600.
    quarter = manure_produced(COEFFS, "sow", 20, **Q1_2026)
    assert quarter.produced_kg == 3_600 and quarter.days == 90
    assert quarter.produced_slurry_kg == 20 * 12 * 90
    # A leap year has a day more; the set's fixed 365 is never used for a stock count.
    leap = manure_produced(
        COEFFS, "sow", 20, period_start=date(2024, 1, 1), period_end=date(2024, 12, 31)
    )
    assert leap.produced_kg == 20 * 2 * 366
    assert ("sow", "days_counted") not in year.coefficients_used


def test_slaughtered_pigs_keep_their_lifetime_days_whatever_the_period() -> None:
    # 1,000 fattening pigs slaughtered × 2 kg/head/day × 180 days = 360,000 kg
    for period in (YEAR_2025, Q1_2026):
        est = manure_produced(COEFFS, "pig_fattening", 1000, **period)
        assert est.produced_kg == 360_000 and est.produced_slurry_kg == 1000 * 12 * 180
        assert est.days == 180 and est.days_rule == DAYS_LIFETIME == "lifetime"
        assert est.count_basis == "slaughtered" and est.verified
    d = est.detail()
    assert d["formula"] == "heads × kg/head/day × days" and d["mass_basis"] == "solids"
    assert d["days_rule"] == "lifetime" and d["produced_kg"] == 360_000


def test_an_animal_without_a_wastewater_coefficient_has_no_slurry_figure() -> None:
    est = manure_produced(COEFFS, "duck_goose", 2000, **YEAR_2025)
    assert est.produced_kg == pytest.approx(2000 * 0.13 * 365)
    assert est.produced_slurry_kg is None and est.solids_share_of_slurry is None
    assert est.detail()["produced_slurry_kg"] is None
    # The set's unverified 365 days is not what a stock count uses.
    assert est.verified and est.count_basis == "stock"


def test_an_unverified_coefficient_used_marks_the_estimate_unverified() -> None:
    est = manure_produced(
        COEFFS,
        "laying_hen",
        1000,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 1, 31),
    )
    assert est.produced_kg == pytest.approx(1000 * 0.1 * 31)
    assert est.produced_slurry_kg == pytest.approx(1000 * 0.35 * 31)
    assert not est.verified  # the wastewater coefficient is unverified
    assert ("laying_hen", "wastewater_l_per_head_day") in est.coefficients_used


def test_a_slaughter_count_needs_the_lifetime_days() -> None:
    with pytest.raises(Invalid) as err:
        manure_produced(COEFFS, "broiler", 1000, **YEAR_2025)
    assert err.value.field == "coefficient_set" and "days_counted" in err.value.detail


def test_collectable_straw_and_field_return() -> None:
    # 10 t soybean × 1.5 = 15 t theoretical; × 0.81 = 12.15 t collectable;
    # 30 of 100 mu returned → 3.645 t ploughed back.
    est = collectable_straw(COEFFS, "soybean", 10_000, area_sown_mu=100, area_returned_mu=30)
    assert est.theoretical_kg == pytest.approx(15_000)
    assert est.collectable_kg == pytest.approx(12_150)
    assert est.field_return_kg == pytest.approx(3_645)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"crop": "rice", "output_kg": 1000}, "coefficient_set"),  # ratio above the ministry cap
        ({"crop": "soybean", "output_kg": -1}, "quantity"),
        ({"crop": "soybean", "output_kg": 1, "area_returned_mu": 5}, "area_sown_mu"),
        (
            {"crop": "soybean", "output_kg": 1, "area_sown_mu": 5, "area_returned_mu": 6},
            "area_returned_mu",
        ),
        ({"crop": "cassava", "output_kg": 1}, "coefficient_set"),  # not in the set
    ],
)
def test_refusals_name_the_field(kwargs: dict, field: str) -> None:  # type: ignore[type-arg]
    crop = kwargs.pop("crop")
    with pytest.raises(Invalid) as err:
        collectable_straw(COEFFS, crop, **kwargs)
    assert err.value.field == field
