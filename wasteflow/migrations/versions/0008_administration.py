"""administration: password resets, last logins, a source on one round, rounds' villages

A district administrator edits accounts and rounds through the API. An account reset by an
admin must change its password before anything else, and the account list shows each
account's last login. A source may be on one collection round only (a unique index: two
rounds claiming one farm would both send a collector), and a round names the villages it
covers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite ≥ 3.35 too): a batch copy of ``account`` would trip the
    # foreign keys every record holds to it.
    op.add_column(
        'account',
        sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column('account', sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))
    # A source on two rounds cannot be made right by a migration (which round keeps it is
    # the district's call): say which, and stop before anything changed.
    twice = (
        op.get_bind()
        .execute(
            sa.text(
                'SELECT site.code FROM round_site JOIN site ON site.id = round_site.site_id '
                'GROUP BY site.code HAVING count(*) > 1 ORDER BY site.code'
            )
        )
        .scalars()
        .all()
    )
    if twice:
        raise RuntimeError(
            'sources on more than one collection round: '
            + ', '.join(twice)
            + '; remove each from all but one round, then migrate again'
        )
    op.drop_index(op.f('ix_round_site_site_id'), table_name='round_site')
    op.create_index(op.f('ix_round_site_site_id'), 'round_site', ['site_id'], unique=True)
    op.create_table(
        'round_region',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['region_id'], ['region.id'], name=op.f('fk_round_region_region_id_region')
        ),
        sa.ForeignKeyConstraint(
            ['round_id'],
            ['collection_round.id'],
            name=op.f('fk_round_region_round_id_collection_round'),
        ),
        sa.PrimaryKeyConstraint('round_id', 'region_id', name=op.f('pk_round_region')),
    )


def downgrade() -> None:
    op.drop_table('round_region')
    op.drop_index(op.f('ix_round_site_site_id'), table_name='round_site')
    op.create_index(op.f('ix_round_site_site_id'), 'round_site', ['site_id'], unique=False)
    op.drop_column('account', 'last_login_at')
    op.drop_column('account', 'must_change_password')
