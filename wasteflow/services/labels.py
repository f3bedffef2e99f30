"""What the dashboard needs to name things it would otherwise show as ids or codes: treatment
routes by id (an audit event of a receipt correction keeps the route it replaced by id), and
coefficient sets by the year they are for."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.models import CoefficientSet, TreatmentRoute


def route_codes_by_id(session: Session) -> dict[int, str]:
    return dict(session.execute(sa.select(col(TreatmentRoute.id), col(TreatmentRoute.code))).all())


def coefficient_set_years(session: Session) -> dict[str, int]:
    """Each coefficient set's year, by its code."""
    return dict(
        session.execute(sa.select(col(CoefficientSet.code), col(CoefficientSet.year))).all()
    )
