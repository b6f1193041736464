"""store setting: confirm before charge

Revision ID: ed1c6fa395e1
Revises: ae3789d02338
Create Date: 2026-11-29 15:56:58.469415

決済前の確認画面 (店舗情報): off for every store, so the till's amount page
charges at 「決済する」 as the merchant guide prints the steps.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ed1c6fa395e1'
down_revision = 'ae3789d02338'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_before_charge', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('confirm_before_charge')
