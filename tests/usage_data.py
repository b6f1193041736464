"""Generated payments for the history tests, with a plain Python model of
what each filter must return."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from iseca.extensions import db
from iseca.members.cards import create_member, issue_card
from iseca.models import AccountKind, MemberKind, PaymentMethod, PaymentStatus
from iseca.money import cancellation, ledger, payments
from iseca.timeutil import JST
from tests import factories

# A fixed past fortnight-and-a-bit, so the test does not depend on today.
FIRST_DAY = dt.date(2026, 3, 10)
DAYS = 12


@dataclass
class Ref:
    """What the test knows about one payment, independently of the app."""

    id: int
    number: str
    business_id: int
    store_id: int
    register_id: int
    member_code: str
    amount: int
    method: PaymentMethod
    status: PaymentStatus
    created_at: dt.datetime
    cancelled_at: dt.datetime | None = None

    @property
    def day(self) -> dt.date:
        return self.created_at.astimezone(JST).date()


@dataclass
class Dataset:
    business: object
    other_business: object
    stores: list
    other_store: object
    registers: list
    members: list
    refs: list[Ref] = field(default_factory=list)

    def expected(self, *, business_id=None, own_store_id=None, store_id=None, date_from=None, date_to=None,
                 register_id=None, member_code=None, amount_min=None, amount_max=None, status=None, method=None):
        def keep(r: Ref) -> bool:
            return all([
                business_id is None or r.business_id == business_id,
                own_store_id is None or r.store_id == own_store_id,
                store_id is None or r.store_id == store_id,
                date_from is None or r.day >= date_from,
                date_to is None or r.day <= date_to,
                register_id is None or r.register_id == register_id,
                member_code is None or r.member_code == member_code,
                amount_min is None or r.amount >= amount_min,
                amount_max is None or r.amount <= amount_max,
                status is None or r.status == status,
                method is None or r.method == method,
            ])

        rows = [r for r in self.refs if keep(r)]
        return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)


def build(seed: int = 6, count: int = 160) -> Dataset:
    """Two stores of one business (one with two registers), a store of
    another business, members, and `count` payments over twelve days,
    some at 23:59 and 00:00 JST, a fifth of them cancelled."""
    rng = random.Random(seed)
    business = factories.make_business(name="有限会社テスト商事")
    store_a = factories.make_store(business, registers=2, name="青果店")
    store_b = factories.make_store(business, name="精肉店")
    other = factories.make_store(name="よその店")
    campaign = factories.make_campaign()
    members = []
    for i in range(4):
        member = create_member(MemberKind.CARD, name=f"会員{i}")
        issue_card(member)
        ledger.grant(member.id, campaign, 10_000_000)
        members.append(member)
    db.session.commit()
    registers = list(store_a.registers) + list(store_b.registers) + list(other.registers)
    actor = factories.account_of(AccountKind.STORE, store_a.code)
    data = Dataset(business=business, other_business=other.business, stores=[store_a, store_b], other_store=other,
                   registers=registers, members=members)
    amounts = [100, 330, 500, 1000, 1000, 2160, 5000]
    for i in range(count):
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        clock = rng.choice([dt.time(0, 0), dt.time(23, 59, 59), dt.time(rng.randrange(9, 20), rng.randrange(60))])
        at = dt.datetime.combine(day, clock, JST).astimezone(dt.UTC) + dt.timedelta(microseconds=i)
        register = rng.choice(registers)
        member = rng.choice(members)
        method = rng.choice(list(PaymentMethod))
        payment = payments.pay(member, register, rng.choice(amounts), method, at=at)
        ref = Ref(id=payment.id, number=payment.number, business_id=payment.business_id, store_id=payment.store_id,
                  register_id=register.id, member_code=member.code, amount=payment.amount, method=method,
                  status=PaymentStatus.COMPLETED, created_at=at)
        if rng.random() < 0.2:
            cancelled_at = at + dt.timedelta(hours=rng.choice([0, 1, 30]))
            cancellation.cancel_payment(payment, actor=actor, at=cancelled_at)
            ref.status, ref.cancelled_at = PaymentStatus.CANCELLED, cancelled_at
        data.refs.append(ref)
    db.session.commit()
    return data
