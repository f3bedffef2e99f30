"""Keep the per-day totals (flow_daily, treatment_daily) in step with the handovers.

Every change to a handover's mass or state adds a delta to its day's totals in the same
transaction, as one upsert (``INSERT … ON CONFLICT DO UPDATE SET col = col + excluded.col``),
so reports read totals and never scan handovers. Deltas of many handovers are summed per key
first, so a batch of thousands costs one statement per table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from wasteflow.models import FlowDaily, TreatmentDaily

FlowKey = tuple[date, int, int, int]  # day, from_site_id, to_site_id, material_id
TreatKey = tuple[date, int, int, int]  # day, site_id, material_id, route_id

FLOW_KEYS = ("day", "from_site_id", "to_site_id", "material_id")
TREAT_KEYS = ("day", "site_id", "material_id", "route_id")


class Deltas:
    """Accumulates deltas for the totals tables; ``apply`` writes them."""

    def __init__(self) -> None:
        self.flows: dict[FlowKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.treated: dict[TreatKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def flow(self, key: FlowKey, **values: int) -> None:
        row = self.flows[key]
        for col, v in values.items():
            row[col] += v

    def treatment(self, key: TreatKey, **values: int) -> None:
        row = self.treated[key]
        for col, v in values.items():
            row[col] += v

    def apply(self, session: Session) -> None:
        _upsert(session, FlowDaily.__table__, FLOW_KEYS, self.flows)  # type: ignore[attr-defined]
        _upsert(session, TreatmentDaily.__table__, TREAT_KEYS, self.treated)  # type: ignore[attr-defined]


def _upsert(
    session: Session,
    table: sa.Table,
    keys: tuple[str, ...],
    deltas: Mapping[tuple[Any, ...], Mapping[str, int]],
) -> None:
    if not deltas:
        return
    value_cols = [c.name for c in table.columns if c.name not in keys]
    rows = []
    for key, vals in deltas.items():
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        row.update({c: int(vals.get(c, 0)) for c in value_cols})
        rows.append(row)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + stmt.excluded[c] for c in value_cols},
    )
    session.execute(stmt, rows)
