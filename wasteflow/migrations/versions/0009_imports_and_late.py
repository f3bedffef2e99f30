"""imports and late records: uploaded ledgers of history, and late scans awaiting approval

An administrator imports a ledger of past handovers or declarations: each upload is an
``import_batch`` (who, which file and its SHA-256, when, what came of its rows) and each row
it wrote an ``import_row`` under its row key, so the same row uploaded again adds nothing. A
scan older than the lateness window can be submitted for approval instead of refused: it waits
in ``late_submission`` until an admin approves (it is then recorded) or rejects it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'import_batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('file_name', sa.String(length=256), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('added', sa.Integer(), nullable=False),
        sa.Column('already', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['account.id'], name=op.f('fk_import_batch_account_id_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batch')),
    )
    op.create_index(op.f('ix_import_batch_sha256'), 'import_batch', ['sha256'], unique=False)
    op.create_table(
        'import_row',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('row_key', sa.String(length=64), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('record', sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ['batch_id'], ['import_batch.id'], name=op.f('fk_import_row_batch_id_import_batch')
        ),
        sa.PrimaryKeyConstraint('kind', 'row_key', name=op.f('pk_import_row')),
    )
    op.create_index(op.f('ix_import_row_batch_id'), 'import_row', ['batch_id'], unique=False)
    op.create_table(
        'late_submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('request', sa.JSON(), nullable=False),
        sa.Column('reason', sa.String(length=256), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_reason', sa.String(length=256), nullable=True),
        sa.Column('handover_code', sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ['account_id'], ['account.id'], name=op.f('fk_late_submission_account_id_account')
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'],
            ['account.id'],
            name=op.f('fk_late_submission_decided_by_id_account'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_late_submission')),
    )
    op.create_index(
        op.f('ix_late_submission_state'), 'late_submission', ['state'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_late_submission_state'), table_name='late_submission')
    op.drop_table('late_submission')
    op.drop_index(op.f('ix_import_row_batch_id'), table_name='import_row')
    op.drop_table('import_row')
    op.drop_index(op.f('ix_import_batch_sha256'), table_name='import_batch')
    op.drop_table('import_batch')
