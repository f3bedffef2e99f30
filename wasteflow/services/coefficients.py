"""Choosing and reading coefficient sets (keyed by year and region)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from wasteflow.errors import NotFound
from wasteflow.estimates import Coefficients
from wasteflow.models import Coefficient, CoefficientSet, Region


def coefficient_set_for(session: Session, *, year: int, region_id: int) -> CoefficientSet:
    """The set of the region, or of the nearest region above it, for a year.

    Within a region: the latest set not after ``year``, else the earliest set.
    """
    rid: int | None = region_id
    while rid is not None:
        sets = (
            session.execute(
                sa.select(CoefficientSet)
                .where(CoefficientSet.region_id == rid)
                .order_by(CoefficientSet.year)  # type: ignore[arg-type]
            )
            .scalars()
            .all()
        )
        if sets:
            earlier = [s for s in sets if s.year <= year]
            return earlier[-1] if earlier else sets[0]
        rid = session.execute(sa.select(Region.parent_id).where(Region.id == rid)).scalar()
    raise NotFound(
        f"no coefficient set covers region id {region_id} for {year}", field="coefficient_set"
    )


def read_coefficients(session: Session, set_id: int) -> Coefficients:
    rows = session.execute(
        sa.select(
            Coefficient.subject, Coefficient.parameter, Coefficient.value, Coefficient.verified
        ).where(Coefficient.set_id == set_id)
    ).all()
    return {(s, p): (v, ver) for s, p, v, ver in rows}
