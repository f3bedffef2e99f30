"""Request and response bodies of the work on anomalies (``/api/v1/anomalies``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from wasteflow.schemas import AuditEventPublic, Strict

AnomalyStateName = Literal["open", "assigned", "resolved", "dismissed"]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class AccountRef(BaseModel):
    username: str
    display_name: str
    role: str


class AnomalyWork(BaseModel):
    """An anomaly as the records show it now, and the work on it."""

    id: str = Field(
        description="stable across recomputation: the kind and the handover "
        "(mass_discrepancy:HO-…), or the kind, site (or village), material and period "
        "(stale_stock:WL-PR-STRW:straw.rice:2025)",
        examples=["refused_load:HO-20251001-6GSMG"],
    )
    kind: str
    severity: Literal["warning", "error"]
    site: str | None = None
    site_name: str | None = None
    site_name_en: str | None = None
    material: str | None = None
    handovers: list[str] = Field(description="the records to open")
    detail: dict[str, Any]
    found: bool = Field(
        description="false: the records no longer show it (e.g. corrected since); the rest is "
        "as it was last found"
    )
    state: AnomalyStateName
    assignee: AccountRef | None = None
    reason: str | None = Field(default=None, description="why it was closed")
    closed_by: AccountRef | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = Field(default=None, description="the last change to its work")
    comments: int = 0


class AnomalyCounts(BaseModel):
    open: int
    assigned: int
    resolved: int
    dismissed: int
    all: int
    assigned_to_me: int


class AnomalyList(BaseModel):
    period: str
    state: Literal["open", "assigned", "resolved", "dismissed", "all"]
    region: str | None
    counts: AnomalyCounts = Field(description="every state's count, before the state filter")
    items: list[AnomalyWork]


class AnomalyComment(BaseModel):
    author: AccountRef
    at: datetime
    text: str


class AnomalyDetail(BaseModel):
    anomaly: AnomalyWork
    period: str = Field(description="the period it belongs to (a handover's: its month)")
    comments: list[AnomalyComment]
    history: list[AuditEventPublic] = Field(description="every change, oldest first")


class AssignBody(Strict):
    assignee: str = Field(
        min_length=1,
        max_length=64,
        description="username of an official, admin, site operator or processor account",
    )
    note: Reason | None = Field(default=None, description="optional, kept in the history")


class CommentBody(Strict):
    text: Text


class CloseBody(Strict):
    resolution: Literal["resolved", "dismissed"]
    reason: Reason = Field(description="why: what was done, or why it is no problem")


class ReopenBody(Strict):
    reason: Reason | None = None
