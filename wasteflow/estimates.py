"""The official estimation formulas for denominators (reference/official-rates.md).

Pure functions over numbers and a coefficient lookup; the declarations service and the demo
generator both use them, and keep the inputs on the record so a figure can be recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wasteflow.errors import Invalid

# (subject, parameter) -> (value, verified)
Coefficients = Mapping[tuple[str, str], tuple[float, bool]]


def coefficient(coeffs: Coefficients, subject: str, parameter: str) -> tuple[float, bool]:
    try:
        return coeffs[(subject, parameter)]
    except KeyError:
        raise Invalid(
            f"the coefficient set has no {parameter} for {subject!r}", field="coefficient_set"
        ) from None


@dataclass(frozen=True)
class ManureEstimate:
    """Manure produced = head count × daily excretion × days counted."""

    animal: str
    heads: float
    count_basis: str  # "stock" (存栏) or "slaughtered" (出栏)
    kg_per_head_day: float
    days: float
    produced_kg: float
    verified: bool

    def detail(self) -> dict[str, object]:
        return {
            "formula": "heads × kg/head/day × days",
            "animal": self.animal,
            "count_basis": self.count_basis,
            "kg_per_head_day": self.kg_per_head_day,
            "days": self.days,
            "produced_kg": self.produced_kg,
            "all_coefficients_verified": self.verified,
        }


def manure_produced(coeffs: Coefficients, animal: str, heads: float) -> ManureEstimate:
    if heads < 0:
        raise Invalid("quantity: a head count cannot be negative", field="quantity")
    per_day, v1 = coefficient(coeffs, animal, "manure_kg_per_head_day")
    days, v2 = coefficient(coeffs, animal, "days_counted")
    slaughtered, _ = coefficient(coeffs, animal, "count_basis_slaughtered")
    return ManureEstimate(
        animal=animal,
        heads=heads,
        count_basis="slaughtered" if slaughtered else "stock",
        kg_per_head_day=per_day,
        days=days,
        produced_kg=heads * per_day * days,
        verified=v1 and v2,
    )


@dataclass(frozen=True)
class StrawEstimate:
    """Collectable straw = grain output × straw-to-grain ratio × collectable coefficient.

    Straw ploughed back directly = collectable × (area returned ÷ area sown).
    """

    crop: str
    output_kg: float
    ratio: float
    collectable_coefficient: float
    theoretical_kg: float
    collectable_kg: float
    field_return_kg: float
    verified: bool

    def detail(self) -> dict[str, object]:
        return {
            "formula": "output × straw_grain_ratio × collectable_coefficient",
            "crop": self.crop,
            "output_kg": self.output_kg,
            "straw_grain_ratio": self.ratio,
            "collectable_coefficient": self.collectable_coefficient,
            "theoretical_kg": self.theoretical_kg,
            "collectable_kg": self.collectable_kg,
            "field_return_kg": self.field_return_kg,
            "all_coefficients_verified": self.verified,
        }


def collectable_straw(
    coeffs: Coefficients,
    crop: str,
    output_kg: float,
    area_sown_mu: float | None = None,
    area_returned_mu: float | None = None,
) -> StrawEstimate:
    if output_kg < 0:
        raise Invalid("quantity: crop output cannot be negative", field="quantity")
    ratio, v1 = coefficient(coeffs, crop, "straw_grain_ratio")
    cap = coeffs.get((crop, "straw_grain_ratio_max"))
    if cap is not None and ratio > cap[0]:
        raise Invalid(
            f"coefficient_set: straw-to-grain ratio {ratio} for {crop} exceeds the ministry's "
            f"upper bound {cap[0]}",
            field="coefficient_set",
        )
    k, v2 = coefficient(coeffs, crop, "collectable_coefficient")
    if not 0 <= k <= 1:
        raise Invalid(
            f"coefficient_set: collectable coefficient {k} is not in [0, 1]",
            field="coefficient_set",
        )
    theoretical = output_kg * ratio
    collectable = theoretical * k
    field_return = 0.0
    if area_returned_mu:
        if not area_sown_mu or area_sown_mu <= 0:
            raise Invalid(
                "area_sown_mu: required and > 0 when area_returned_mu is given",
                field="area_sown_mu",
            )
        if area_returned_mu > area_sown_mu:
            raise Invalid("area_returned_mu: cannot exceed area_sown_mu", field="area_returned_mu")
        field_return = collectable * area_returned_mu / area_sown_mu
    return StrawEstimate(
        crop=crop,
        output_kg=output_kg,
        ratio=ratio,
        collectable_coefficient=k,
        theoretical_kg=theoretical,
        collectable_kg=collectable,
        field_return_kg=field_return,
        verified=v1 and v2,
    )
