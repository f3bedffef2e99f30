"""device keys and pending receipts: the field app's offline tickets

A phone registers an Ed25519 public key at login (``device_key``) and signs with it the ticket
of each load it records offline; a receiving site that confirms a load by its ticket before
the load reaches the server leaves a ``pending_receipt`` on the load's identity (its recorder
and idempotency key), applied in the transaction that records the load.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 08:14:46
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'device_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.String(length=8), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('public_key', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('revoke_reason', sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ['account_id'], ['account.id'], name=op.f('fk_device_key_account_id_account')
        ),
        sa.ForeignKeyConstraint(
            ['revoked_by_id'], ['account.id'], name=op.f('fk_device_key_revoked_by_id_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_key')),
        sa.UniqueConstraint('device_id', name=op.f('uq_device_key_device_id')),
        sa.UniqueConstraint('public_key', name=op.f('uq_device_key_public_key')),
    )
    op.create_index(op.f('ix_device_key_account_id'), 'device_key', ['account_id'])
    op.create_table(
        'pending_receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recorder_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('device_id', sa.String(length=8), nullable=False),
        sa.Column('ticket', sa.String(length=420), nullable=False),
        sa.Column('from_site_id', sa.Integer(), nullable=False),
        sa.Column('to_site_id', sa.Integer(), nullable=False),
        sa.Column('material_id', sa.Integer(), nullable=False),
        sa.Column('declared_mass_g', sa.BigInteger(), nullable=False),
        sa.Column('declared_units', sa.Integer(), nullable=True),
        sa.Column('device_time', sa.DateTime(timezone=True), nullable=False),
        sa.Column('receipt', sa.JSON(), nullable=False),
        sa.Column('receipt_key', sa.String(length=64), nullable=True),
        sa.Column('receipt_hash', sa.String(length=64), nullable=False),
        sa.Column('received_by_id', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column(
            'handover_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True
        ),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(
            ['from_site_id'], ['site.id'], name=op.f('fk_pending_receipt_from_site_id_site')
        ),
        sa.ForeignKeyConstraint(
            ['handover_id'], ['handover.id'], name=op.f('fk_pending_receipt_handover_id_handover')
        ),
        sa.ForeignKeyConstraint(
            ['material_id'],
            ['material.id'],
            name=op.f('fk_pending_receipt_material_id_material'),
        ),
        sa.ForeignKeyConstraint(
            ['received_by_id'],
            ['account.id'],
            name=op.f('fk_pending_receipt_received_by_id_account'),
        ),
        sa.ForeignKeyConstraint(
            ['recorder_id'], ['account.id'], name=op.f('fk_pending_receipt_recorder_id_account')
        ),
        sa.ForeignKeyConstraint(
            ['to_site_id'], ['site.id'], name=op.f('fk_pending_receipt_to_site_id_site')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_receipt')),
        sa.UniqueConstraint('recorder_id', 'idempotency_key', name='uq_pending_receipt_load'),
    )
    op.create_index(
        op.f('ix_pending_receipt_received_by_id'), 'pending_receipt', ['received_by_id']
    )
    op.create_index(op.f('ix_pending_receipt_to_site_id'), 'pending_receipt', ['to_site_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_pending_receipt_to_site_id'), table_name='pending_receipt')
    op.drop_index(op.f('ix_pending_receipt_received_by_id'), table_name='pending_receipt')
    op.drop_table('pending_receipt')
    op.drop_index(op.f('ix_device_key_account_id'), table_name='device_key')
    op.drop_table('device_key')
