"""store setting: receipt width

Revision ID: c3d4e5f6a7b8
Revises: a9b8c7d6e5f4
Create Date: 2026-12-07 21:00:00.000000

レシートの幅 (店舗情報): the paper the store's receipt printer takes, 58 mm or
80 mm thermal rolls, or A4 for an ordinary printer (every store until it
chooses: any printer prints it).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d4e5f6a7b8'
down_revision = 'a9b8c7d6e5f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_width', sa.String(length=8), server_default='a4', nullable=False))


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('receipt_width')
