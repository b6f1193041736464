"""payments: drop the index on register_id alone

Revision ID: f7a8b9c0d1e2
Revises: e6f7a8b9c0d1
Create Date: 2026-12-07 03:20:00

ix_payments_register_created (register_id, created_at) answers every
lookup by register that ix_payments_register_id did, so the latter was one
more index written by every payment for nothing. On PostgreSQL it is
dropped (and made again on downgrade) CONCURRENTLY: payments go on.
"""
from alembic import op


revision = 'f7a8b9c0d1e2'
down_revision = 'e6f7a8b9c0d1'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_payments_register_id")
        return
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_register_id')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_payments_register_id ON payments (register_id)")
        return
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_register_id', ['register_id'], unique=False)
