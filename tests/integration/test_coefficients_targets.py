"""Coefficients and targets by year: each value's own source, the household conversion
placeholders, which set a year uses (and whether it stands in for another year's), and the
plan's targets carried forward past 2025."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from wasteflow.models import Coefficient, CoefficientSet, Region, Target
from wasteflow.services.coefficients import (
    choose_coefficient_set,
    coefficient_set_for,
    read_coefficient_info,
)
from wasteflow.services.targets import targets_for

INDICATORS = {
    "film_recovery": 0.9,
    "manure_utilisation": 0.9,
    "straw_utilisation": 0.9,
    "industrial_utilisation": 0.7,
    "household_raw_landfill": 0.0,
}


def _district(session: Session) -> int:
    rid = session.execute(sa.select(Region.id).where(Region.code == "500156")).scalar()
    assert rid is not None
    return rid


def _village(session: Session) -> int:
    rid = session.execute(sa.select(Region.id).where(Region.code == "500156101201")).scalar()
    assert rid is not None
    return rid


def _wl2025(session: Session) -> CoefficientSet:
    return session.execute(
        sa.select(CoefficientSet).where(CoefficientSet.code == "WL-2025")
    ).scalar_one()


def test_each_coefficient_names_its_source_or_takes_the_sets(session: Session) -> None:
    cset = _wl2025(session)
    assert cset.id is not None
    info = read_coefficient_info(session, cset.id)
    sow = info[("sow", "manure_kg_per_head_day")]
    assert sow.own_source and sow.verified and sow.unit == "kg/head/day"
    assert sow.source.startswith("county livestock parameter table")
    assert info[("laying_hen", "pig_equivalent")].source.startswith("GB 18596-2001")
    # Unverified values have no source of their own: the set's is shown, and they say so.
    ducks = info[("duck_goose", "days_counted")]
    assert not ducks.own_source and not ducks.verified and ducks.source == cset.source
    stored = session.execute(
        sa.select(Coefficient.source).where(
            Coefficient.subject == "duck_goose", Coefficient.parameter == "days_counted"
        )
    ).scalar()
    assert stored is None


def test_composting_and_digestion_have_placeholder_conversion_coefficients(
    session: Session,
) -> None:
    cset = _wl2025(session)
    assert cset.id is not None
    info = read_coefficient_info(session, cset.id)
    routes = {s for s, p in info if p == "household_conversion_coefficient"}
    assert {
        "compost",
        "biogas",
        "kitchen_treatment",
        "incineration_energy",
        "landfill",
        "incineration",
    } <= routes
    for route in ("compost", "biogas"):
        c = info[(route, "household_conversion_coefficient")]
        assert not c.verified and not c.own_source
        assert c.note is not None and c.note.startswith("placeholder")


def test_a_year_without_its_own_set_says_it_falls_back(session: Session) -> None:
    village = _village(session)
    own = choose_coefficient_set(session, year=2025, region_id=village)
    assert own.set.code == "WL-2025" and not own.fallback and own.note() is None
    later = choose_coefficient_set(session, year=2026, region_id=village)
    assert later.set.code == "WL-2025" and later.fallback and later.year_asked == 2026
    assert later.note() == (
        "no coefficient set for 2026: WL-2025 (2025) is used, the latest earlier set"
    )
    earlier = choose_coefficient_set(session, year=2023, region_id=village)
    assert earlier.set.code == "WL-2025" and earlier.fallback
    assert "the earliest set" in (earlier.note() or "")
    # The old function keeps answering with the set alone.
    assert coefficient_set_for(session, year=2026, region_id=village).code == "WL-2025"


def test_a_year_with_its_own_set_uses_it(session: Session) -> None:
    district = _district(session)
    try:
        session.add(
            CoefficientSet(code="T-2027", name="t", year=2027, region_id=district, source="t")
        )
        session.flush()
        assert choose_coefficient_set(session, year=2027, region_id=district).set.code == "T-2027"
        after = choose_coefficient_set(session, year=2028, region_id=district)
        assert after.set.code == "T-2027" and after.fallback
        assert choose_coefficient_set(session, year=2026, region_id=district).set.code == "WL-2025"
    finally:
        session.rollback()  # the shared database never sees it


def test_the_plans_targets_are_carried_forward_after_2025(session: Session) -> None:
    district = _district(session)
    in_plan = targets_for(session=session, year=2025)
    after = targets_for(session=session, year=2026)
    for indicator, value in INDICATORS.items():
        t = in_plan[(indicator, district)]
        assert t.value == value and not t.carried_forward
        assert (t.year_from, t.year_to) == (2021, 2025)
        c = after[(indicator, district)]
        assert c.value == value and c.carried_forward and c.year_to == 2025
        assert c.source == t.source and c.comparator == t.comparator
    assert after[("household_raw_landfill", district)].comparator == "<="
    # Before the plan there is no target: one that starts later never applies.
    assert not [k for k in targets_for(session=session, year=2020) if k[1] == district]


def test_a_target_covering_the_year_wins_for_its_indicator(session: Session) -> None:
    district = _district(session)
    try:
        session.add(
            Target(
                indicator="manure_utilisation",
                region_id=district,
                year_from=2026,
                year_to=2030,
                comparator=">=",
                value=0.95,
                source="test: the next plan",
            )
        )
        session.flush()
        got = targets_for(session=session, year=2026)
        manure = got[("manure_utilisation", district)]
        assert manure.value == 0.95 and not manure.carried_forward
        assert (manure.year_from, manure.year_to) == (2026, 2030)
        film = got[("film_recovery", district)]
        assert film.value == 0.9 and film.carried_forward
        # After the new plan ends it is the one carried forward, not the old one.
        later = targets_for(session=session, year=2031)[("manure_utilisation", district)]
        assert later.value == 0.95 and later.carried_forward and later.year_to == 2030
        # And the old plan's years still have the old target.
        assert (
            targets_for(session=session, year=2024)[("manure_utilisation", district)].value == 0.9
        )
    finally:
        session.rollback()
