"""Keep the totals (flow_, treatment_ and return_ daily/monthly/yearly) in step with handovers.

Every change to a handover's mass or state adds a delta to its day's, month's and year's
totals in the same transaction, as one upsert (``INSERT … ON CONFLICT DO UPDATE SET col = col +
excluded.col``), so reports read totals and never scan handovers. Deltas of many handovers are
summed per key first, so a batch of thousands costs one statement per table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from wasteflow.db import core
from wasteflow.models import (
    FlowDaily,
    FlowMonthly,
    FlowYearly,
    ReturnDaily,
    ReturnMonthly,
    ReturnYearly,
    TreatmentDaily,
    TreatmentMonthly,
    TreatmentYearly,
)
from wasteflow.types import WITHDRAWN, HandoverStatus, MassMethod

FlowKey = tuple[date, int, int, int]  # day, from_site_id, to_site_id, material_id
TreatKey = tuple[date, int, int, int, int]  # day, site_id, from_site_id, material_id, route_id
ReturnKey = tuple[date, int, int, int, int]  # day, sender, from_site_id, to_site_id, material

FLOW_KEYS = ("from_site_id", "to_site_id", "material_id")
TREAT_KEYS = ("site_id", "from_site_id", "material_id", "route_id")
RETURN_KEYS = ("sender_site_id", "from_site_id", "to_site_id", "material_id")


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def first_of_year(day: date) -> date:
    return day.replace(month=1, day=1)


class Deltas:
    """Accumulates deltas for the totals tables; ``apply`` writes them."""

    def __init__(self) -> None:
        self.flows: dict[FlowKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.treated: dict[TreatKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.returned: dict[ReturnKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def flow(self, key: FlowKey, **values: int) -> None:
        _add(self.flows[key], values)

    def treatment(self, key: TreatKey, **values: int) -> None:
        _add(self.treated[key], values)

    def add_handover(self, h: Mapping[str, Any], sign: int = 1) -> None:
        """Add a handover in its current state (a row dict), as if recorded and received now;
        ``sign=-1`` takes it out again (a receipt that a correction replaces).

        For bulk loads: the totals come out exactly as the handover's own transactions would
        have left them (and as the raw-records recomputation in the rates service reads them).
        A return of refused mass (``returns_id``) must carry ``returns_sender_id``.
        """
        status = h["status"]
        if status in WITHDRAWN:
            return
        key = (h["day"], h["from_site_id"], h["to_site_id"], h["material_id"])
        ret: dict[str, int] | None = None
        if h.get("returns_id") is not None:
            ret = self.returned[
                (h["day"], h["returns_sender_id"], h["from_site_id"], h["to_site_id"],
                 h["material_id"])
            ]  # fmt: skip
            _add(ret, {"handovers": sign, "declared_g": sign * h["declared_mass_g"]})
        self.flow(
            key,
            handovers=sign,
            declared_g=sign * h["declared_mass_g"],
            declared_units=sign * (h.get("declared_units") or 0),
        )
        if status == HandoverStatus.in_transit:
            self.flow(key, in_transit_g=sign * h["declared_mass_g"])
            if ret is not None:
                ret["in_transit_g"] += sign * h["declared_mass_g"]
            return
        accepted = h["accepted_mass_g"] or 0
        units = (h.get("received_units") or 0) if accepted else 0
        self.flow(
            key,
            received_g=sign * (h["received_mass_g"] or 0),
            refused_g=sign * (h["refused_mass_g"] or 0),
            accepted_g=sign * accepted,
            accepted_units=sign * units,
            estimated_g=sign * accepted if h["mass_method"] == MassMethod.estimated else 0,
        )
        if ret is not None:
            ret["received_g"] += sign * (h["received_mass_g"] or 0)
        if h.get("route_id") is not None and accepted:
            self.treatment(
                (h["day"], h["to_site_id"], h["from_site_id"], h["material_id"], h["route_id"]),
                handovers=sign,
                accepted_g=sign * accepted,
                accepted_units=sign * (h.get("received_units") or 0),
            )

    def apply(self, session: Session) -> None:
        """Write the deltas to the per-day, per-month and per-year totals."""
        for (daily, monthly, yearly), keys, deltas in (
            ((FlowDaily, FlowMonthly, FlowYearly), FLOW_KEYS, self.flows),
            ((TreatmentDaily, TreatmentMonthly, TreatmentYearly), TREAT_KEYS, self.treated),
            ((ReturnDaily, ReturnMonthly, ReturnYearly), RETURN_KEYS, self.returned),
        ):
            if not deltas:
                continue
            months = _rolled(deltas, first_of_month)
            years = _rolled(months, first_of_year)
            for table, grain, rows in (
                (daily, "day", deltas),
                (monthly, "month", months),
                (yearly, "year", years),
            ):
                _upsert(session, table.__table__, (grain, *keys), rows)  # type: ignore[attr-defined,union-attr]


def _add(row: dict[str, int], values: Mapping[str, int]) -> None:
    for col, v in values.items():
        row[col] += v


def _rolled(
    deltas: Mapping[tuple[Any, ...], Mapping[str, int]], first_day: Callable[[date], date]
) -> dict[tuple[Any, ...], dict[str, int]]:
    """The deltas summed per longer period, keyed by its first day."""
    out: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (day, *rest), values in deltas.items():
        row = out[(first_day(day), *rest)]
        for col, v in values.items():
            row[col] += v
    return out


@lru_cache(maxsize=16)
def _upsert_statement(table: sa.Table, keys: tuple[str, ...], dialect: str) -> Any:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET v = v + excluded.v``, built once per table:
    it runs in every handover transaction."""
    value_cols = [c.name for c in table.columns if c.name not in keys]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + stmt.excluded[c] for c in value_cols},
    ), tuple(value_cols)


def _upsert(
    session: Session,
    table: sa.Table,
    keys: tuple[str, ...],
    deltas: Mapping[tuple[Any, ...], Mapping[str, int]],
) -> None:
    if not deltas:
        return
    stmt, value_cols = _upsert_statement(table, keys, session.get_bind().dialect.name)
    rows = []
    for key, vals in deltas.items():
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row.update({c: int(vals.get(c, 0)) for c in value_cols})
        rows.append(row)
    core(session, stmt, rows)
