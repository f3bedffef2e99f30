"""declaration identity: one active declaration of the same thing; a source per coefficient

A second declaration of what an active one already declares (same kind, region, site,
material, period; for head counts the animal) was accepted and counted twice. Each row now
carries its ``identity``, and a partial unique index over the active rows refuses a second
one, also when two requests race.

Existing rows get their identity here. A database may already hold active duplicates: the
newest of each keeps the identity, the older ones are left NULL (the index ignores NULL), so
they keep counting as before until someone supersedes them; how many is logged.

Each coefficient may name its own source (``coefficient.source``); NULL means the set's
source applies, which is what every existing row gets until the reference data is loaded again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("wasteflow.migrations")

INDEX = "uq_declaration_identity_active"
ACTIVE = sa.text("status = 'active'")
PAGE = 5_000

_declaration = sa.table(
    "declaration",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("region_id", sa.Integer),
    sa.column("site_id", sa.Integer),
    sa.column("material_id", sa.Integer),
    sa.column("period_start", sa.Date),
    sa.column("period_end", sa.Date),
    sa.column("detail", sa.JSON),
    sa.column("status", sa.String),
    sa.column("identity", sa.String),
)


def _identity(row: Any) -> str:
    # Frozen copy of wasteflow.services.declarations.identity as of this revision (a migration
    # must not change when the application does). Before it, only head counts had a qualifier.
    start: date = row.period_start
    end: date = row.period_end
    qualifier = (row.detail or {}).get("animal") if row.kind == "livestock_headcount" else None
    return "|".join(
        (
            row.kind,
            str(row.region_id),
            "" if row.site_id is None else str(row.site_id),
            str(row.material_id),
            start.isoformat(),
            end.isoformat(),
            qualifier or "",
        )
    )


def _fill_identity() -> None:
    conn = op.get_bind()
    d = _declaration
    set_identity = (
        sa.update(d).where(d.c.id == sa.bindparam("row_id")).values(identity=sa.bindparam("ident"))
    )
    newest: dict[str, int] = {}  # identity → id of the newest active row seen so far
    older: list[int] = []  # active rows a newer active row declares again
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                d.c.id,
                d.c.kind,
                d.c.region_id,
                d.c.site_id,
                d.c.material_id,
                d.c.period_start,
                d.c.period_end,
                d.c.detail,
                d.c.status,
            )
            .where(d.c.id > last)
            .order_by(d.c.id)
            .limit(PAGE)
        ).all()
        if not rows:
            break
        updates = []
        for row in rows:
            ident = _identity(row)
            updates.append({"row_id": row.id, "ident": ident})
            if row.status == "active":
                if ident in newest:
                    older.append(newest[ident])
                newest[ident] = row.id
        conn.execute(set_identity, updates)
        last = rows[-1].id
    for i in range(0, len(older), PAGE):
        conn.execute(sa.update(d).where(d.c.id.in_(older[i : i + PAGE])).values(identity=None))
    if older:
        log.warning(
            "%d active declarations are declared again by a newer active one; their identity "
            "is left NULL so they keep counting: supersede them (ids %s%s)",
            len(older),
            ", ".join(map(str, sorted(older)[:20])),
            ", …" if len(older) > 20 else "",
        )


def upgrade() -> None:
    op.add_column("coefficient", sa.Column("source", sa.String(length=512), nullable=True))
    op.add_column("declaration", sa.Column("identity", sa.String(length=160), nullable=True))
    _fill_identity()
    op.create_index(
        INDEX,
        "declaration",
        ["identity"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="declaration")
    with op.batch_alter_table("declaration") as batch:
        batch.drop_column("identity")
    with op.batch_alter_table("coefficient") as batch:
        batch.drop_column("source")
