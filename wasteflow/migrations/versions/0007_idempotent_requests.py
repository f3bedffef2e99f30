"""idempotent requests: every write's key, digest and answer, claimed in its transaction

Keyed retries of a receipt or a correction racing the original got 409 instead of the
replayed answer, because each write path kept its key its own way. Writes now claim their
Idempotency-Key here first, in the same transaction as their state change, and store their
answer; a racing retry waits for the claim and then replays that answer. (Scans, batches and
returns keep claiming their key on the handover row they create.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'idempotent_request',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('operation', sa.String(length=48), nullable=False),
        sa.Column('target', sa.String(length=64), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['account.id'], name=op.f('fk_idempotent_request_account_id_account')
        ),
        sa.PrimaryKeyConstraint('account_id', 'key', name=op.f('pk_idempotent_request')),
    )


def downgrade() -> None:
    op.drop_table('idempotent_request')
