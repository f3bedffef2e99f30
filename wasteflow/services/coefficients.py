"""Choosing and reading coefficient sets (keyed by year and region)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

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
                .where(col(CoefficientSet.region_id) == rid)
                .order_by(col(CoefficientSet.year))
            )
            .scalars()
            .all()
        )
        if sets:
            earlier = [s for s in sets if s.year <= year]
            return earlier[-1] if earlier else sets[0]
        rid = session.execute(
            sa.select(col(Region.parent_id)).where(col(Region.id) == rid)
        ).scalar()
    raise NotFound(
        f"no coefficient set covers region id {region_id} for {year}", field="coefficient_set"
    )


def read_coefficients(session: Session, set_id: int) -> Coefficients:
    rows = session.execute(
        sa.select(
            col(Coefficient.subject),
            col(Coefficient.parameter),
            col(Coefficient.value),
            col(Coefficient.verified),
        ).where(col(Coefficient.set_id) == set_id)
    ).all()
    return {(s, p): (v, ver) for s, p, v, ver in rows}
