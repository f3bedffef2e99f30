"""Targets by year: the plan's targets, and what stands after the plan's last year.

The district plan set targets to 2025. A target stays in force after its last year until an
admin records a new one: for a year no target covers, the latest target that ended before it
is carried forward, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from wasteflow.models import Target


@dataclass(frozen=True)
class TargetInfo:
    """The target that applies to one indicator and region in a year."""

    target_id: int
    indicator: str
    region_id: int
    value: float  # a fraction: 0.9 is 90 %
    comparator: str  # ">=" or "<="
    source: str
    year_from: int
    year_to: int
    carried_forward: bool  # True: no target covers the year; this one ended before it


def targets_for(*, session: Session, year: int) -> dict[tuple[str, int], TargetInfo]:
    """The target of each (indicator, region id) for ``year``.

    A target whose years cover ``year`` applies (of several, the one that starts latest, then
    the one recorded last). Where none does, the latest target that ended before ``year`` is
    carried forward (``carried_forward`` True). Targets that start after ``year`` never apply.
    Regions are not inherited here: a township without its own target takes the district's
    where the figure is presented.
    """
    rows = session.execute(
        sa.select(
            col(Target.id),
            col(Target.indicator),
            col(Target.region_id),
            col(Target.value),
            col(Target.comparator),
            col(Target.source),
            col(Target.year_from),
            col(Target.year_to),
        ).where(col(Target.year_from) <= year)
    ).all()
    best: dict[tuple[str, int], tuple[tuple[bool, int, int, int], TargetInfo]] = {}
    for tid, indicator, region_id, value, comparator, source, year_from, year_to in rows:
        covers = year_to >= year
        # Covering beats carried forward; then the newest: a covering target by its start,
        # a past one by its end.
        rank = (covers, year_from if covers else year_to, year_from, tid)
        key = (indicator, region_id)
        if key not in best or rank > best[key][0]:
            best[key] = (
                rank,
                TargetInfo(
                    target_id=tid,
                    indicator=indicator,
                    region_id=region_id,
                    value=value,
                    comparator=comparator,
                    source=source,
                    year_from=year_from,
                    year_to=year_to,
                    carried_forward=not covers,
                ),
            )
    return {key: info for key, (_, info) in best.items()}
