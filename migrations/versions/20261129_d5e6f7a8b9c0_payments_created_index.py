"""payments: an index on created_at for the city's figures (窓口TOP)

Revision ID: d5e6f7a8b9c0
Revises: c4d5e6f7a8b9
Create Date: 2026-11-29 19:30:00

On PostgreSQL the index carries the columns the figures sum and group by
(INCLUDE), so a range of days is read from the index alone, and it is built
CONCURRENTLY: payments go on while it builds.
"""
from alembic import op


revision = 'd5e6f7a8b9c0'
down_revision = 'c4d5e6f7a8b9'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_payments_created ON payments (created_at)"
                       " INCLUDE (store_id, member_id, amount, status)")
        return
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_created', ['created_at'], unique=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_payments_created")
        return
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_created')
