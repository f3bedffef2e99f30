"""lots: treatments by sender, returns by lot, estimated mass in the flow totals

A processor is not a pool: each load it receives keeps its own origin mix, its accepted mass
goes to the route on its own receipt and its refused mass stays its sender's until a return
takes it back. The totals must therefore keep who sent what a site treated (treatment_* gain
``from_site_id`` in their key) and which sender's refused mass each return takes back
(``return_*``, and ``handover.returns_sender_id``). ``estimated_g`` in the flow totals says
how much of what was accepted was estimated rather than weighed.

Existing databases: the treatment totals are rebuilt from the handovers (the old ones do not
know the sender), the return totals and ``estimated_g`` are filled from them, in this same
migration. Nothing recorded is changed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 03:00:00
"""
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GRAINS = ("daily", "monthly", "yearly")
_GRAIN_COLUMN = {"daily": "day", "monthly": "month", "yearly": "year"}
# A handover counts in the totals unless it was withdrawn (types.WITHDRAWN).
_LIVE = "status NOT IN ('cancelled', 'superseded')"
_RECEIVED = "status IN ('received', 'partially_refused', 'refused')"


def _period(grain: str, day: str) -> str:
    """SQL for the first day of ``day``'s month or year (the day itself for daily)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if grain == "daily":
        return day
    unit = "month" if grain == "monthly" else "year"
    if sqlite:
        return f"date({day}, 'start of {unit}')"
    return f"CAST(date_trunc('{unit}', {day}) AS DATE)"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _treatment_table(grain: str) -> None:
    name = f"treatment_{grain}"
    when = _GRAIN_COLUMN[grain]
    op.create_table(
        name,
        sa.Column('handovers', sa.Integer(), nullable=False),
        sa.Column('accepted_g', sa.BigInteger(), nullable=False),
        sa.Column('accepted_units', sa.Integer(), nullable=False),
        sa.Column(when, sa.Date(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('from_site_id', sa.Integer(), nullable=False),
        sa.Column('material_id', sa.Integer(), nullable=False),
        sa.Column('route_id', sa.Integer(), nullable=False),
        _fk(name, 'from_site_id', 'site'),
        _fk(name, 'material_id', 'material'),
        _fk(name, 'route_id', 'treatment_route'),
        _fk(name, 'site_id', 'site'),
        sa.PrimaryKeyConstraint(
            when, 'site_id', 'from_site_id', 'material_id', 'route_id', name=op.f(f'pk_{name}')
        ),
    )


def _return_table(grain: str) -> None:
    name = f"return_{grain}"
    when = _GRAIN_COLUMN[grain]
    op.create_table(
        name,
        sa.Column('handovers', sa.Integer(), nullable=False),
        sa.Column('declared_g', sa.BigInteger(), nullable=False),
        sa.Column('in_transit_g', sa.BigInteger(), nullable=False),
        sa.Column('received_g', sa.BigInteger(), nullable=False),
        sa.Column(when, sa.Date(), nullable=False),
        sa.Column('sender_site_id', sa.Integer(), nullable=False),
        sa.Column('from_site_id', sa.Integer(), nullable=False),
        sa.Column('to_site_id', sa.Integer(), nullable=False),
        sa.Column('material_id', sa.Integer(), nullable=False),
        _fk(name, 'from_site_id', 'site'),
        _fk(name, 'material_id', 'material'),
        _fk(name, 'sender_site_id', 'site'),
        _fk(name, 'to_site_id', 'site'),
        sa.PrimaryKeyConstraint(
            when, 'sender_site_id', 'from_site_id', 'to_site_id', 'material_id',
            name=op.f(f'pk_{name}'),
        ),
    )


def upgrade() -> None:
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returns_sender_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE handover SET returns_sender_id = "
        "(SELECT r.from_site_id FROM handover r WHERE r.id = handover.returns_id) "
        "WHERE returns_id IS NOT NULL"
    )

    for grain in _GRAINS:
        with op.batch_alter_table(f'flow_{grain}', schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('estimated_g', sa.BigInteger(), nullable=False, server_default='0')
            )
    # Estimated loads are few (appliances counted, not weighed): add them up row by row.
    estimated = op.get_bind().execute(
        sa.text(
            "SELECT day, from_site_id, to_site_id, material_id, SUM(accepted_mass_g) "
            f"FROM handover WHERE mass_method = 'estimated' AND {_LIVE} AND {_RECEIVED} "
            "GROUP BY day, from_site_id, to_site_id, material_id"
        )
    ).all()
    for grain in _GRAINS:
        when = _GRAIN_COLUMN[grain]
        sums: dict[tuple, int] = {}
        for day, frm, to, mat, grams in estimated:
            day = date.fromisoformat(day) if isinstance(day, str) else day  # SQLite: text
            first = day if grain == "daily" else day.replace(
                day=1, **({} if grain == "monthly" else {"month": 1}))  # fmt: skip
            key = (first, frm, to, mat)
            sums[key] = sums.get(key, 0) + int(grams or 0)
        for (first, frm, to, mat), grams in sums.items():
            op.get_bind().execute(
                sa.text(
                    f"UPDATE flow_{grain} SET estimated_g = :g WHERE {when} = :w "
                    "AND from_site_id = :f AND to_site_id = :t AND material_id = :m"
                ),
                {"g": grams, "w": first, "f": frm, "t": to, "m": mat},
            )

    # The treatment totals did not keep the sender: rebuild them from the handovers.
    for grain in _GRAINS:
        op.drop_table(f'treatment_{grain}')
        _treatment_table(grain)
        when = _GRAIN_COLUMN[grain]
        period = _period(grain, "day")
        op.execute(
            f"INSERT INTO treatment_{grain} "
            f"({when}, site_id, from_site_id, material_id, route_id, "
            "handovers, accepted_g, accepted_units) "
            f"SELECT {period}, to_site_id, from_site_id, material_id, route_id, COUNT(*), "
            "SUM(accepted_mass_g), SUM(COALESCE(received_units, 0)) FROM handover "
            f"WHERE {_LIVE} AND {_RECEIVED} AND route_id IS NOT NULL AND accepted_mass_g > 0 "
            f"GROUP BY {period}, to_site_id, from_site_id, material_id, route_id"
        )
        _return_table(grain)
        op.execute(
            f"INSERT INTO return_{grain} "
            f"({when}, sender_site_id, from_site_id, to_site_id, material_id, "
            "handovers, declared_g, in_transit_g, received_g) "
            f"SELECT {period}, returns_sender_id, from_site_id, to_site_id, material_id, "
            "COUNT(*), SUM(declared_mass_g), "
            "SUM(CASE WHEN status = 'in_transit' THEN declared_mass_g ELSE 0 END), "
            f"SUM(CASE WHEN {_RECEIVED} THEN received_mass_g ELSE 0 END) FROM handover "
            f"WHERE {_LIVE} AND returns_id IS NOT NULL "
            f"GROUP BY {period}, returns_sender_id, from_site_id, to_site_id, material_id"
        )


def downgrade() -> None:
    for grain in _GRAINS:
        op.drop_table(f'return_{grain}')
        when = _GRAIN_COLUMN[grain]
        op.execute(
            f"CREATE TABLE treatment_{grain}_old AS SELECT {when}, site_id, material_id, "
            "route_id, SUM(handovers) AS handovers, SUM(accepted_g) AS accepted_g, "
            f"SUM(accepted_units) AS accepted_units FROM treatment_{grain} "
            f"GROUP BY {when}, site_id, material_id, route_id"
        )
        op.drop_table(f'treatment_{grain}')
        name = f"treatment_{grain}"
        op.create_table(
            name,
            sa.Column('handovers', sa.Integer(), nullable=False),
            sa.Column('accepted_g', sa.BigInteger(), nullable=False),
            sa.Column('accepted_units', sa.Integer(), nullable=False),
            sa.Column(when, sa.Date(), nullable=False),
            sa.Column('site_id', sa.Integer(), nullable=False),
            sa.Column('material_id', sa.Integer(), nullable=False),
            sa.Column('route_id', sa.Integer(), nullable=False),
            _fk(name, 'material_id', 'material'),
            _fk(name, 'route_id', 'treatment_route'),
            _fk(name, 'site_id', 'site'),
            sa.PrimaryKeyConstraint(
                when, 'site_id', 'material_id', 'route_id', name=op.f(f'pk_{name}')
            ),
        )
        op.execute(
            f"INSERT INTO {name} ({when}, site_id, material_id, route_id, handovers, "
            f"accepted_g, accepted_units) SELECT {when}, site_id, material_id, route_id, "
            f"handovers, accepted_g, accepted_units FROM {name}_old"
        )
        op.drop_table(f'{name}_old')
        # Plain DROP COLUMN (SQLite 3.35+): a batch copy of the handover table would trip over
        # the handovers that refer to one another.
        op.execute(f"ALTER TABLE flow_{grain} DROP COLUMN estimated_g")
    op.execute("ALTER TABLE handover DROP COLUMN returns_sender_id")
