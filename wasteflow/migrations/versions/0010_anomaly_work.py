"""anomaly work: a case per anomaly someone acted on, and its comments

Anomalies are computed from the records on every read and are not stored. Once an official
assigns, comments on or closes one, a case row holds that work, found again by the anomaly's
stable key (kind and what it is about: a handover, or a site, material and period), so it
survives every recomputation. Comments are rows of their own, never edited.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'anomaly_case',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('period', sa.String(length=24), nullable=True),
        sa.Column('day', sa.Date(), nullable=True),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column(
            'state',
            sa.Enum(
                'open', 'assigned', 'resolved', 'dismissed',
                name='anomalystate', native_enum=False, length=16,
            ),
            nullable=False,
        ),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=1000), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['assignee_id'], ['account.id'], name=op.f('fk_anomaly_case_assignee_id_account')
        ),
        sa.ForeignKeyConstraint(
            ['closed_by_id'], ['account.id'], name=op.f('fk_anomaly_case_closed_by_id_account')
        ),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_anomaly_case_site_id_site')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly_case')),
        sa.UniqueConstraint('key', name=op.f('uq_anomaly_case_key')),
    )
    op.create_index(op.f('ix_anomaly_case_assignee_id'), 'anomaly_case', ['assignee_id'])
    op.create_index(op.f('ix_anomaly_case_day'), 'anomaly_case', ['day'])
    op.create_index(op.f('ix_anomaly_case_period'), 'anomaly_case', ['period'])
    op.create_table(
        'anomaly_comment',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['account.id'], name=op.f('fk_anomaly_comment_account_id_account')
        ),
        sa.ForeignKeyConstraint(
            ['case_id'], ['anomaly_case.id'], name=op.f('fk_anomaly_comment_case_id_anomaly_case')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly_comment')),
    )
    op.create_index(op.f('ix_anomaly_comment_case_id'), 'anomaly_comment', ['case_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_anomaly_comment_case_id'), table_name='anomaly_comment')
    op.drop_table('anomaly_comment')
    op.drop_index(op.f('ix_anomaly_case_period'), table_name='anomaly_case')
    op.drop_index(op.f('ix_anomaly_case_day'), table_name='anomaly_case')
    op.drop_index(op.f('ix_anomaly_case_assignee_id'), table_name='anomaly_case')
    op.drop_table('anomaly_case')
