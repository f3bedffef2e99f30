"""The official estimation formulas for denominators (reference/official-rates.md).

Pure functions over numbers and a coefficient lookup; the declarations service and the demo
generator both use them, and keep the inputs on the record so a figure can be recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from wasteflow.errors import Invalid

# (subject, parameter) -> (value, verified)
Coefficients = Mapping[tuple[str, str], tuple[float, bool]]


def _unverified(coeffs: Coefficients, keys: list[tuple[str, str]]) -> tuple[str, ...]:
    """``subject.parameter`` of the coefficients among ``keys`` the set marks unverified: a
    figure built on the estimate must say so."""
    return tuple(f"{s}.{p}" for s, p in keys if (s, p) in coeffs and not coeffs[(s, p)][1])


def coefficient(coeffs: Coefficients, subject: str, parameter: str) -> tuple[float, bool]:
    try:
        return coeffs[(subject, parameter)]
    except KeyError:
        raise Invalid(
            f"the coefficient set has no {parameter} for {subject!r}", field="coefficient_set"
        ) from None


def period_days(start: date, end: date) -> int:
    """Days of a declared period, both ends counted (a calendar year: 365 or 366)."""
    return (end - start).days + 1


# How the days of a head count were chosen (reference/official-rates.md, manure): a stock
# (存栏) count stands for the animals kept through the declared period; a slaughter (出栏)
# count stands for animals that each lived the coefficient set's lifetime days.
DAYS_DECLARED_PERIOD = "declared period"
DAYS_LIFETIME = "lifetime"


@dataclass(frozen=True)
class ManureEstimate:
    """Manure produced = head count × daily excretion × days counted, on two mass bases.

    ``produced_kg`` is solids (粪, the manure coefficient); ``produced_slurry_kg`` is slurry
    (粪+尿+污水: manure kg plus wastewater litres taken as kg), None when the set has no
    wastewater coefficient for the animal. A figure must compare like with like: solids
    utilised with solids produced, slurry with slurry; ``solids_share_of_slurry`` converts.
    """

    animal: str
    heads: float
    count_basis: str  # "stock" (存栏) or "slaughtered" (出栏)
    kg_per_head_day: float
    wastewater_l_per_head_day: float | None
    days: float
    days_rule: str  # DAYS_DECLARED_PERIOD or DAYS_LIFETIME
    produced_kg: float  # solids
    produced_slurry_kg: float | None
    solids_share_of_slurry: float | None
    coefficients_used: tuple[tuple[str, str], ...]
    verified: bool
    unverified: tuple[str, ...] = ()  # ``subject.parameter`` of the unverified ones used

    def detail(self) -> dict[str, object]:
        return {
            "formula": "heads × kg/head/day × days",
            "slurry_formula": "heads × (kg/head/day + wastewater L/head/day as kg) × days",
            "animal": self.animal,
            "count_basis": self.count_basis,
            "kg_per_head_day": self.kg_per_head_day,
            "wastewater_l_per_head_day": self.wastewater_l_per_head_day,
            "days": self.days,
            "days_rule": self.days_rule,
            "mass_basis": "solids",
            "produced_kg": self.produced_kg,
            "produced_slurry_kg": self.produced_slurry_kg,
            "solids_share_of_slurry": self.solids_share_of_slurry,
            "all_coefficients_verified": self.verified,
            "unverified_coefficients": list(self.unverified),
        }


def manure_produced(
    coeffs: Coefficients,
    animal: str,
    heads: float,
    *,
    period_start: date,
    period_end: date,
) -> ManureEstimate:
    """Manure an animal's head count produced over a declared period (both ends inclusive).

    A stock count counts the period's days, whatever the set's ``days_counted`` says (a
    quarter's declaration is about 91 days, not 365); a slaughter count counts the set's
    lifetime days, whatever the period.
    """
    if heads < 0:
        raise Invalid("quantity: a head count cannot be negative", field="quantity")
    if period_end < period_start:
        raise Invalid(
            f"period_end: {period_end} is before period_start {period_start}", field="period_end"
        )
    per_day, v_manure = coefficient(coeffs, animal, "manure_kg_per_head_day")
    slaughtered, v_flag = coefficient(coeffs, animal, "count_basis_slaughtered")
    used = [(animal, "manure_kg_per_head_day"), (animal, "count_basis_slaughtered")]
    verified = v_manure and v_flag
    if slaughtered:
        days, v_days = coefficient(coeffs, animal, "days_counted")
        used.append((animal, "days_counted"))
        verified = verified and v_days
        rule = DAYS_LIFETIME
    else:
        days, rule = float(period_days(period_start, period_end)), DAYS_DECLARED_PERIOD
    solids = heads * per_day * days
    slurry = share = wastewater = None
    if (animal, "wastewater_l_per_head_day") in coeffs:
        wastewater, v_water = coeffs[(animal, "wastewater_l_per_head_day")]
        used.append((animal, "wastewater_l_per_head_day"))
        verified = verified and v_water
        # A litre of wastewater is taken as a kilogram, as the county table does.
        slurry = solids + heads * wastewater * days
        share = per_day / (per_day + wastewater) if per_day + wastewater else None
    return ManureEstimate(
        animal=animal,
        heads=heads,
        count_basis="slaughtered" if slaughtered else "stock",
        kg_per_head_day=per_day,
        wastewater_l_per_head_day=wastewater,
        days=days,
        days_rule=rule,
        produced_kg=solids,
        produced_slurry_kg=slurry,
        solids_share_of_slurry=share,
        coefficients_used=tuple(used),
        verified=verified,
        unverified=_unverified(coeffs, used),
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
    unverified: tuple[str, ...] = ()  # ``subject.parameter`` of the unverified ones used

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
            "unverified_coefficients": list(self.unverified),
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
        unverified=_unverified(
            coeffs, [(crop, "straw_grain_ratio"), (crop, "collectable_coefficient")]
        ),
    )
