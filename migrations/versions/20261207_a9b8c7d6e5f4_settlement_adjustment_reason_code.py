"""settlement_adjustments: the reason as a code with parameters

Revision ID: a9b8c7d6e5f4
Revises: f7a8b9c0d1e2
Create Date: 2026-12-07 20:00:00

An adjustment's reason was stored as Japanese words and printed as they were
on every statement, in English too. Two nullable columns (no default needed:
NULL is "no code") hold a code and its parameters, written in the reader's
language where shown; `reason` stays as it is and is still written, so the
previous release goes on reading and inserting adjustments meanwhile (its
rows have no code and show their stored words). Existing rows whose words
are one of the three reasons the code wrote get their code here.
"""
import datetime as dt
import re

from alembic import op
import sqlalchemy as sa


revision = 'a9b8c7d6e5f4'
down_revision = 'f7a8b9c0d1e2'
branch_labels = None
depends_on = None

# The words the code wrote before (money/settlement.py, money/cancellation.py).
PERIOD = r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日〜(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日"
PATTERNS = [
    ("cancelled_after_close", re.compile(r"精算済み期間の決済の取消（取引番号 (?P<number>[^（）]+)）")),
    ("negative_carried", re.compile(PERIOD + r"の精算額がマイナスのため繰越")),
    ("transfer_failed", re.compile(PERIOD + r"分の振込不能による繰越（(?P<reason>.*)）", re.S)),
]

adjustments = sa.table(
    'settlement_adjustments',
    sa.column('id', sa.Integer),
    sa.column('reason', sa.String),
    sa.column('reason_code', sa.String),
    sa.column('reason_params', sa.JSON),
)


def code_of(reason: str):
    """(code, params) for words the code wrote, else None."""
    for code, pattern in PATTERNS:
        match = pattern.fullmatch(reason or "")
        if match is None:
            continue
        found = match.groupdict()
        if "y" not in found:
            return code, {"number": found["number"]}
        year = int(found["y"])
        params = {"starts_on": dt.date(year, int(found["m"]), int(found["d"])).isoformat(),
                  "ends_on": dt.date(year, int(found["m2"]), int(found["d2"])).isoformat()}
        if code == "transfer_failed":
            params["reason"] = found["reason"]
        return code, params
    return None


def upgrade():
    with op.batch_alter_table('settlement_adjustments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('reason_params', sa.JSON(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(adjustments.c.id, adjustments.c.reason).where(adjustments.c.reason_code.is_(None)))
    for row_id, reason in rows.all():
        coded = code_of(reason)
        if coded is not None:
            bind.execute(adjustments.update().where(adjustments.c.id == row_id)
                         .values(reason_code=coded[0], reason_params=coded[1]))


def downgrade():
    # `reason` kept the words all along: nothing is lost.
    with op.batch_alter_table('settlement_adjustments', schema=None) as batch_op:
        batch_op.drop_column('reason_params')
        batch_op.drop_column('reason_code')
