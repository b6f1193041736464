"""public texts: versions of the FAQ, the goods that cannot be paid and the contact page the city edits, per language

Revision ID: c4d5e6f7a8b9
Revises: 50d1c5fb8c2b
Create Date: 2026-11-29 19:00:00

A new table: nothing existing is locked.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c4d5e6f7a8b9'
down_revision = '50d1c5fb8c2b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'public_texts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('page', sa.String(length=20), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_by_account_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=True),
        sa.Column('published_by_account_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_account_id'], ['accounts.id'], name=op.f('fk_public_texts_created_by_account_id_accounts')),
        sa.ForeignKeyConstraint(['published_by_account_id'], ['accounts.id'], name=op.f('fk_public_texts_published_by_account_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_public_texts')),
    )
    op.create_index('ix_public_texts_page_lang_published', 'public_texts', ['page', 'lang', 'published_at'], unique=False)


def downgrade():
    op.drop_index('ix_public_texts_page_lang_published', table_name='public_texts')
    op.drop_table('public_texts')
