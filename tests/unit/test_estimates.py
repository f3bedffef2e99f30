"""The official estimation formulas, worked by hand from reference/official-rates.md."""

from __future__ import annotations

import pytest

from wasteflow.errors import Invalid
from wasteflow.estimates import collectable_straw, manure_produced

COEFFS = {
    ("pig_fattening", "manure_kg_per_head_day"): (2.0, True),
    ("pig_fattening", "days_counted"): (180.0, True),
    ("pig_fattening", "count_basis_slaughtered"): (1.0, True),
    ("duck_goose", "manure_kg_per_head_day"): (0.13, True),
    ("duck_goose", "days_counted"): (365.0, False),
    ("duck_goose", "count_basis_slaughtered"): (0.0, True),
    ("soybean", "straw_grain_ratio"): (1.5, True),
    ("soybean", "collectable_coefficient"): (0.81, True),
    ("soybean", "straw_grain_ratio_max"): (3.0, True),
    ("rice", "straw_grain_ratio"): (2.6, False),
    ("rice", "collectable_coefficient"): (0.81, True),
    ("rice", "straw_grain_ratio_max"): (2.5, True),
}


def test_manure_from_slaughtered_pigs() -> None:
    # 1,000 fattening pigs slaughtered × 2 kg/head/day × 180 days = 360,000 kg
    est = manure_produced(COEFFS, "pig_fattening", 1000)
    assert est.produced_kg == 360_000
    assert est.count_basis == "slaughtered" and est.verified
    assert est.detail()["formula"] == "heads × kg/head/day × days"


def test_unverified_days_mark_the_estimate_unverified() -> None:
    est = manure_produced(COEFFS, "duck_goose", 2000)
    assert est.produced_kg == pytest.approx(2000 * 0.13 * 365)
    assert not est.verified and est.count_basis == "stock"


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
