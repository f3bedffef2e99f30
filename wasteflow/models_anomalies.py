"""Tables of the work on anomalies: one case per anomaly that someone acted on, and its
comments.

An anomaly itself is not stored: it is computed afresh from the records whenever it is read
(``wasteflow.services.flows``). Its case is found again by the anomaly's stable key (see
``wasteflow.services.anomaly_work.anomaly_key``), so an assignment, a comment or a closing
survives every recomputation. An anomaly nobody acted on has no case and is open. Every
change to a case is also an audit event (entity ``anomaly``), which is its history.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from wasteflow.models import BigId, _ts
from wasteflow.types import str_enum, utcnow


class AnomalyState(StrEnum):
    open = "open"
    assigned = "assigned"
    resolved = "resolved"
    dismissed = "dismissed"


CLOSED_STATES = frozenset({AnomalyState.resolved, AnomalyState.dismissed})


class AnomalyCase(SQLModel, table=True):
    """Who works on one anomaly, and whether (and why) it was closed."""

    __tablename__ = "anomaly_case"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True, description="the anomaly's stable key")
    kind: str = Field(max_length=32)
    period: str | None = Field(
        default=None, max_length=24, index=True, description="a finding on a period's totals"
    )
    day: date | None = Field(
        default=None, index=True, description="a finding on one handover: its local day"
    )
    site_id: int | None = Field(default=None, foreign_key="site.id")
    state: AnomalyState = Field(sa_type=str_enum(AnomalyState, 16))
    assignee_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    reason: str | None = Field(default=None, max_length=1000, description="why it was closed")
    closed_by_id: int | None = Field(default=None, foreign_key="account.id")
    closed_at: datetime | None = _ts(default=None)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)
    snapshot: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=sa.JSON,
        description="the anomaly as last found, shown if the records no longer show it",
    )


class AnomalyComment(SQLModel, table=True):
    """A note on an anomaly's case; never edited or deleted."""

    __tablename__ = "anomaly_comment"
    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    case_id: int = Field(foreign_key="anomaly_case.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    at: datetime = _ts(default_factory=utcnow)
    text: str = Field(max_length=2000)
