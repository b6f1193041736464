"""payments: indexes for the usage filters and the daily totals of cancellations

Revision ID: ae3789d02338
Revises: 1be8c7a7819c
Create Date: 2026-11-26 22:09:26.054855

利用状況一覧 filters a store's (or a business's) payments by time, and by
register; the 日計 sums cancellations by the day they were made. The partial
indexes hold only cancelled payments, so they stay small.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ae3789d02338'
down_revision = '1be8c7a7819c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_business_cancelled', ['business_id', 'cancelled_at'], unique=False, postgresql_where=sa.text('cancelled_at IS NOT NULL'), sqlite_where=sa.text('cancelled_at IS NOT NULL'))
        batch_op.create_index('ix_payments_register_created', ['register_id', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_store_cancelled', ['store_id', 'cancelled_at'], unique=False, postgresql_where=sa.text('cancelled_at IS NOT NULL'), sqlite_where=sa.text('cancelled_at IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_store_cancelled', postgresql_where=sa.text('cancelled_at IS NOT NULL'), sqlite_where=sa.text('cancelled_at IS NOT NULL'))
        batch_op.drop_index('ix_payments_register_created')
        batch_op.drop_index('ix_payments_business_cancelled', postgresql_where=sa.text('cancelled_at IS NOT NULL'), sqlite_where=sa.text('cancelled_at IS NOT NULL'))
