"""settlement fee rate stated on each settlement

Revision ID: 7668051492f9
Revises: ed1c6fa395e1
Create Date: 2026-11-29 16:06:24.527214

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7668051492f9'
down_revision = 'ed1c6fa395e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fee_rate_permille', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_column('fee_rate_permille')
