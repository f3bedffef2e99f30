"""Choosing and reading coefficient sets (keyed by year and region).

A year without a set of its own uses the latest earlier set (or, before the first one, the
earliest): :func:`choose_coefficient_set` says when that happened, so a figure can say that
its coefficients are another year's.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.errors import NotFound
from wasteflow.estimates import Coefficients
from wasteflow.models import Coefficient, CoefficientSet, Region


@dataclass(frozen=True)
class CoefficientChoice:
    """The set chosen for a year, and whether it stands in for a set the year does not have."""

    set: CoefficientSet
    year_asked: int
    fallback: bool  # the set is another year's: the latest earlier one, or the earliest

    def note(self) -> str | None:
        """What a figure says about its coefficients when they are another year's, else None."""
        if not self.fallback:
            return None
        which = "the latest earlier set" if self.set.year < self.year_asked else "the earliest set"
        return (
            f"no coefficient set for {self.year_asked}: {self.set.code} ({self.set.year}) is "
            f"used, {which}"
        )


def choose_coefficient_set(session: Session, *, year: int, region_id: int) -> CoefficientChoice:
    """The set of the region, or of the nearest region above it, for a year, and whether it
    is a fallback.

    Within a region: the set of ``year``; else the latest set before it (``fallback``); else,
    when every set is later, the earliest (``fallback`` too).
    """
    rid: int | None = region_id
    while rid is not None:
        sets = (
            session.execute(
                sa.select(CoefficientSet)
                .where(col(CoefficientSet.region_id) == rid)
                .order_by(col(CoefficientSet.year), col(CoefficientSet.id))
            )
            .scalars()
            .all()
        )
        if sets:
            earlier = [s for s in sets if s.year <= year]
            chosen = earlier[-1] if earlier else sets[0]
            return CoefficientChoice(set=chosen, year_asked=year, fallback=chosen.year != year)
        rid = session.execute(
            sa.select(col(Region.parent_id)).where(col(Region.id) == rid)
        ).scalar()
    raise NotFound(
        f"no coefficient set covers region id {region_id} for {year}", field="coefficient_set"
    )


def coefficient_set_for(session: Session, *, year: int, region_id: int) -> CoefficientSet:
    """The set :func:`choose_coefficient_set` chooses, without saying whether it falls back."""
    return choose_coefficient_set(session, year=year, region_id=region_id).set


def read_coefficients(session: Session, set_id: int) -> Coefficients:
    """A set's values as ``(subject, parameter) → (value, verified)``, for the estimates."""
    rows = session.execute(
        sa.select(
            col(Coefficient.subject),
            col(Coefficient.parameter),
            col(Coefficient.value),
            col(Coefficient.verified),
        ).where(col(Coefficient.set_id) == set_id)
    ).all()
    return {(s, p): (v, ver) for s, p, v, ver in rows}


@dataclass(frozen=True)
class CoefficientInfo:
    """One coefficient with what a figure must say about it."""

    value: float
    unit: str
    verified: bool
    source: str  # its own source, else the set's
    own_source: bool  # False: the value has no source of its own; the set's is shown
    note: str | None


def read_coefficient_info(session: Session, set_id: int) -> dict[tuple[str, str], CoefficientInfo]:
    """A set's coefficients with their unit, verified flag, source and note."""
    rows = session.execute(
        sa.select(
            col(Coefficient.subject),
            col(Coefficient.parameter),
            col(Coefficient.value),
            col(Coefficient.unit),
            col(Coefficient.verified),
            col(Coefficient.source),
            col(Coefficient.note),
            col(CoefficientSet.source),
        )
        .join(CoefficientSet, col(CoefficientSet.id) == col(Coefficient.set_id))
        .where(col(Coefficient.set_id) == set_id)
    ).all()
    return {
        (subject, parameter): CoefficientInfo(
            value=value,
            unit=unit,
            verified=verified,
            source=own or set_source,
            own_source=own is not None,
            note=note,
        )
        for subject, parameter, value, unit, verified, own, note, set_source in rows
    }
