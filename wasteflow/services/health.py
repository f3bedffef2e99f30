"""What /healthz reports: the database answers, its schema revision, and the data set."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from wasteflow.db import head_revision
from wasteflow.models import Meta


def dataset(session: Session) -> dict[str, Any] | None:
    """What the data set is (e.g. the synthetic demo, its seed and year), if it says."""
    row = session.get(Meta, "dataset")
    return row.value if row else None


def health(*, session: Session) -> dict[str, Any]:
    bind = session.get_bind()
    revision = None
    if sa.inspect(bind).has_table("alembic_version"):
        revision = session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return {
        "status": "ok",
        "database": bind.dialect.name,
        "schema_revision": revision,
        # False: run `wasteflow migrate` (the server runs with the schema it finds).
        "schema_up_to_date": revision == head_revision(),
        "dataset": dataset(session),
    }
