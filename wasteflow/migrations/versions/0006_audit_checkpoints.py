"""audit checkpoints, and a seal on every handover

The audit chain alone did not catch its last events deleted, nor an edit with every later hash
recomputed, nor an edited handover row. Checkpoints (the chain's length and head hash, signed
with a key kept outside the database) are kept in ``audit_checkpoint``, append-only like the
log itself. From this version each event that writes a handover carries the *seal* of the row
it left (services/audit.py); handovers recorded before it get one ``handover.seal`` event each
here, sealing the rows as they stand at the upgrade, so the verifier can check every row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_checkpoint is append-only"
PAGE = 20_000


def upgrade() -> None:
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('events', sa.BigInteger(), nullable=False),
        sa.Column(
            'last_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False
        ),
        sa.Column('head_hash', sa.String(length=64), nullable=False),
        sa.Column('public_key', sa.String(length=64), nullable=False),
        sa.Column('signature', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_checkpoint_no_{verb.lower()} BEFORE {verb} "
                f"ON audit_checkpoint BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
    elif bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_checkpoint_refuse_change() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON audit_checkpoint FOR EACH STATEMENT "
            "EXECUTE FUNCTION audit_checkpoint_refuse_change()"
        )
    _seal_existing(bind)


def _seal_existing(bind: sa.Connection) -> None:
    """One ``handover.seal`` event per handover recorded before seals existed."""
    # The chain's own code appends, so the events hash exactly as the application's do.
    from wasteflow.models import Handover
    from wasteflow.services.audit import SEALED_COLUMNS, record_events, seal

    session = Session(bind=bind)
    columns = [getattr(Handover, name) for name in SEALED_COLUMNS]
    last = ""
    while True:
        rows = session.execute(
            sa.select(*columns)
            .where(Handover.code > last)  # type: ignore[arg-type]
            .order_by(Handover.code)  # type: ignore[arg-type]
            .limit(PAGE)
        ).all()
        if not rows:
            break
        events = []
        for values in rows:
            row = dict(zip(SEALED_COLUMNS, values, strict=True))
            events.append(
                {
                    "account_id": None,
                    "action": "handover.seal",
                    "entity": "handover",
                    "entity_id": row["code"],
                    "after": {"seal": seal(row), "why": "sealed as it stood at upgrade 0006"},
                }
            )
        record_events(session, events, bulk=True)
        last = rows[-1][SEALED_COLUMNS.index("code")]
    session.flush()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_refuse_change()")
    op.drop_table('audit_checkpoint')
