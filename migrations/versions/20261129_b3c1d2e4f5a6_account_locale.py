"""account locale: the language an account chose for its pages and mails

Revision ID: b3c1d2e4f5a6
Revises: 73d9ba07736b
Create Date: 2026-11-29 18:50:00

A nullable column without a default: on PostgreSQL adding it rewrites
nothing and takes its lock for an instant.
"""
from alembic import op
import sqlalchemy as sa


revision = 'b3c1d2e4f5a6'
down_revision = '73d9ba07736b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('locale')
