"""Reference data: the 26 townships, the catalogue, coefficients and targets."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from wasteflow.models import Coefficient, Material, Region, Target, TreatmentRoute
from wasteflow.reference import read_csv
from wasteflow.services.reference import load_reference
from wasteflow.types import Indicator, RegionLevel


def _counts(session: Session) -> dict[str, int]:
    return {
        m.__name__: session.execute(sa.select(sa.func.count()).select_from(m)).scalar_one()
        for m in (Region, Material, TreatmentRoute, Coefficient, Target)
    }


def test_loading_twice_changes_nothing(session: Session) -> None:
    before = _counts(session)
    load_reference(session=session)
    assert _counts(session) == before


def test_the_26_townships_of_wulong_with_their_codes(session: Session) -> None:
    townships = session.execute(
        sa.select(Region.code, Region.name_zh).where(Region.level == RegionLevel.township)
    ).all()
    assert len(townships) == 26
    codes = {c for c, _ in townships}
    assert {"500156001", "500156002", "500156113", "500156201", "500156212"} <= codes
    assert "500156103" not in codes  # no such town: codes are not a simple range
    assert dict(townships)["500156002"] == "芙蓉街道"


def test_villages_are_labelled_generated(session: Session) -> None:
    villages = (
        session.execute(sa.select(Region).where(Region.level == RegionLevel.village))
        .scalars()
        .all()
    )
    assert len(villages) == len(read_csv("regions/villages_generated.csv"))
    assert all(v.generated and "生成" in v.name_zh and "generated" in v.name_en for v in villages)
    assert all(len(v.code) == 12 for v in villages)


def test_catalogue_covers_every_indicator_in_both_languages(session: Session) -> None:
    materials = session.execute(sa.select(Material)).scalars().all()
    by_indicator = {i: [m for m in materials if m.indicator == i] for i in Indicator}
    assert all(by_indicator.values()), "every indicator has materials"
    assert len(by_indicator[Indicator.recyclable]) == 10
    appliances = by_indicator[Indicator.appliance]
    assert len(appliances) == 5 and all(m.counts_units and m.unit_mass_kg for m in appliances)
    assert {m.code for m in by_indicator[Indicator.household]} == {
        "hh.recyclable",
        "hh.kitchen",
        "hh.hazardous",
        "hh.other",
        "hh.residue",
    }
    bulk = {m.code.removeprefix("isw.") for m in by_indicator[Indicator.industrial]}
    assert {
        "fly_ash",
        "coal_gangue",
        "tailings",
        "smelting_slag",
        "byproduct_gypsum",
        "boiler_slag",
    } <= bulk
    # Construction waste has its own rate: never part of the 70 % bulk industrial figure.
    assert "construction_waste" not in bulk
    assert [m.code for m in by_indicator[Indicator.construction]] == ["isw.construction_waste"]
    assert all(m.name_zh and m.name_en for m in materials)


def test_coefficients_carry_the_reference_verified_flags(session: Session) -> None:
    rows = {(c.subject, c.parameter): c for c in session.execute(sa.select(Coefficient)).scalars()}
    assert rows[("dairy_cow", "manure_kg_per_head_day")].value == 20
    assert rows[("soybean", "straw_grain_ratio")].verified
    assert not rows[("maize", "straw_grain_ratio")].verified  # "(unverified)" in the reference
    assert not rows[("duck_goose", "days_counted")].verified


def test_plan_targets(session: Session) -> None:
    targets = {t.indicator: t for t in session.execute(sa.select(Target)).scalars()}
    assert targets["film_recovery"].value == 0.9 and targets["film_recovery"].comparator == ">="
    assert targets["industrial_utilisation"].value == 0.7
    assert (
        targets["household_raw_landfill"].value == 0
        and targets["household_raw_landfill"].comparator == "<="
    )
