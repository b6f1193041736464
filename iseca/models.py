"""The data model of the ISECA merchant platform.

Money is integer yen (1 point = 1 yen) everywhere. Every change of a balance
is a ledger transaction whose entries sum to zero (see iseca/ledger.py); the
`balance` column of a ledger account is a cache of the sum of its entries,
kept by the ledger in the same transaction and checked by
`ledger.verify_books`.

Times are stored in UTC (`UTCDateTime`) and shown in Asia/Tokyo; calendar
facts (settlement periods, campaign days, transfer dates) are `Date`s of the
Japanese calendar.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from flask import g, has_request_context
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    exists,
    or_,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from .extensions import db


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back timezone-aware.

    SQLite keeps no zone and PostgreSQL's `timestamp with time zone` would
    convert on read; one representation on both keeps comparisons exact.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as the enum's value in a VARCHAR (no native PostgreSQL type) so
    # that adding a member later needs no ALTER TYPE.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------
# Businesses (事業者), stores (店舗) and registers (レジ)
# ---------------------------------------------------------------------------


class AccountType(StrEnum):
    """預金種目 as the Zengin transfer file codes it."""

    ORDINARY = "1"  # 普通
    CURRENT = "2"  # 当座


class MerchantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Business(db.Model):
    """事業者: the legal operator of one or more stores; holds the bank account."""

    __tablename__ = "businesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str] = mapped_column(String(200), default="")
    representative: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    # 振込先 (bank account for the settlement transfers)
    bank_code: Mapped[str] = mapped_column(String(4), default="")
    branch_code: Mapped[str] = mapped_column(String(3), default="")
    account_type: Mapped[AccountType] = mapped_column(
        _enum(AccountType, "account_type"), default=AccountType.ORDINARY
    )
    account_number: Mapped[str] = mapped_column(String(7), default="")
    account_holder_kana: Mapped[str] = mapped_column(String(30), default="")  # half-width kana
    bank_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[MerchantStatus] = mapped_column(
        _enum(MerchantStatus, "merchant_status"), default=MerchantStatus.ACTIVE
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    stores: Mapped[list[Store]] = relationship(back_populates="business", order_by="Store.id")

    def __repr__(self) -> str:
        return f"<Business {self.code} {self.name}>"


class Store(db.Model):
    """店舗: one shop, with its registers; the unit of payments and history."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(40), default="")
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    area: Mapped[str] = mapped_column(String(40), default="")  # 地区, for the public search
    phone: Mapped[str] = mapped_column(String(20), default="")
    hours: Mapped[str] = mapped_column(String(300), default="")
    holidays_text: Mapped[str] = mapped_column(String(200), default="")  # 定休日
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    # 「使えるお店」: only published stores are listed to customers.
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[MerchantStatus] = mapped_column(
        _enum(MerchantStatus, "merchant_status"), default=MerchantStatus.ACTIVE
    )
    # 決済前の確認画面: off by default, the till's amount page charges at
    # 「決済する」 as the guide prints it; a store may ask for a confirmation page.
    confirm_before_charge: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # レシートの幅: the receipt page's print layout (58mm / 80mm thermal rolls, or A4).
    receipt_width: Mapped[str] = mapped_column(String(8), default="a4", server_default="a4")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    business: Mapped[Business] = relationship(back_populates="stores")
    registers: Mapped[list[Register]] = relationship(back_populates="store", order_by="Register.id")
    images: Mapped[list[StoreImage]] = relationship(
        back_populates="store", order_by="StoreImage.position", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def __repr__(self) -> str:
        return f"<Store {self.code} {self.name}>"


class StoreImage(db.Model):
    """An image of a store, re-encoded on upload; kept in the database so that
    several hosts sharing only the database all serve it."""

    __tablename__ = "store_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    caption: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    store: Mapped[Store] = relationship(back_populates="images")


class Register(db.Model):
    """レジ: a till of a store. Its QR code carries `qr_token` (random, reissuable)."""

    __tablename__ = "registers"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    qr_token: Mapped[str] = mapped_column(String(64), unique=True)
    qr_issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    store: Mapped[Store] = relationship(back_populates="registers")

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


class RetiredQrToken(db.Model):
    """A register's earlier QR token: kept so an old code shows a clear
    "no longer valid" page instead of "not found"."""

    __tablename__ = "retired_qr_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    retired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---------------------------------------------------------------------------
# Members (会員) and cards (専用カード)
# ---------------------------------------------------------------------------


class MemberKind(StrEnum):
    APP = "app"  # アプリ会員
    CARD = "card"  # 専用カード会員


class MemberStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Member(db.Model):
    """A resident who holds points: an app member or a card member."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # 会員コード
    kind: Mapped[MemberKind] = mapped_column(_enum(MemberKind, "member_kind"))
    name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[MemberStatus] = mapped_column(
        _enum(MemberStatus, "member_status"), default=MemberStatus.ACTIVE
    )
    # Secret behind the wallet's short-lived QR (what the terminal scans).
    qr_secret: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cards: Mapped[list[Card]] = relationship(back_populates="member", order_by="Card.id")


class CardStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # lost or stolen: cannot pay
    REPLACED = "replaced"  # balance moved to a new card


class Card(db.Model):
    """専用カード: number printed on the front, secret in its QR and balance URL."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    secret: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[CardStatus] = mapped_column(_enum(CardStatus, "card_status"), default=CardStatus.ACTIVE)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    batch: Mapped[str] = mapped_column(String(40), default="")

    member: Mapped[Member] = relationship(back_populates="cards")


# ---------------------------------------------------------------------------
# Login accounts and their sessions
# ---------------------------------------------------------------------------


class AccountKind(StrEnum):
    STORE = "store"  # 店舗アカウント
    BUSINESS = "business"  # 事業者アカウント
    STAFF = "staff"  # ISECA窓口 (counter staff)
    MEMBER = "member"  # app member (wallet)


class Account(UserMixin, db.Model):
    """A login: a store, a business, a counter clerk or an app member."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("kind", "login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind, "account_kind"))
    login: Mapped[str] = mapped_column(String(254))  # store code, business code, staff name, e-mail
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # An initial password (issued by the counter or the CLI) must be changed
    # before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[MerchantStatus] = mapped_column(
        _enum(MerchantStatus, "merchant_status"), default=MerchantStatus.ACTIVE
    )
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The language the account chose with the switch (pages and its mails);
    # None: the browser's language, Japanese by default (iseca/i18n.py).
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    business: Mapped[Business | None] = relationship()
    store: Mapped[Store | None] = relationship()
    member: Mapped[Member | None] = relationship()

    # The server-side session this request is authenticated by; set by the
    # user loader. Flask-Login stores its id (the session token) in the cookie.
    login_session = None  # type: LoginSession | None

    def get_id(self) -> str | None:
        return self.login_session.cookie_token if self.login_session else None

    @property
    def is_active(self) -> bool:
        """May log in: the account itself, and for a merchant account its
        business (and a store account's store) are not suspended (利用停止)."""
        read = g.get("login_statuses") if has_request_context() else None
        if read is not None and read[0] == self.id:
            # The statuses the login query of this request read (the
            # business and store are then not loaded for them).
            return may_log_in(self.kind, self.status, read[1], read[2])
        return may_log_in(self.kind, self.status, self.business.status if self.business is not None else None,
                          self.store.status if self.store is not None else None)

    def __repr__(self) -> str:
        return f"<Account {self.kind} {self.login}>"


def may_log_in(kind: AccountKind, status: MerchantStatus, business_status: MerchantStatus | None,
               store_status: MerchantStatus | None) -> bool:
    """The one rule of who may log in (Account.is_active, and the login
    query that reads the statuses without loading the business and store)."""
    if status != MerchantStatus.ACTIVE:
        return False
    if kind in (AccountKind.BUSINESS, AccountKind.STORE) and business_status not in (None, MerchantStatus.ACTIVE):
        return False
    if kind == AccountKind.STORE and store_status not in (None, MerchantStatus.ACTIVE):
        return False
    return True


# 利用停止: a store takes no payments while it or its business is suspended,
# in its own record or by the suspension of the store's or the business's
# login. Loaded only where asked for (the till's login query, the payment check).
_stopped_business = Business.__table__.alias("stopped_business")
_stopped_login = Account.__table__.alias("stopped_login")
Store.payments_stopped = column_property(
    or_(
        Store.__table__.c.status == MerchantStatus.SUSPENDED,
        exists()
        .where(_stopped_business.c.id == Store.__table__.c.business_id,
               _stopped_business.c.status == MerchantStatus.SUSPENDED)
        .correlate_except(_stopped_business),
        exists()
        .where(
            _stopped_login.c.status == MerchantStatus.SUSPENDED,
            or_(
                and_(_stopped_login.c.kind == AccountKind.STORE, _stopped_login.c.store_id == Store.__table__.c.id),
                and_(_stopped_login.c.kind == AccountKind.BUSINESS,
                     _stopped_login.c.business_id == Store.__table__.c.business_id),
            ),
        )
        .correlate_except(_stopped_login),
    ),
    deferred=True,
)


class LoginSession(db.Model):
    """A server-side login session. The browser holds only a random token
    (the hash is stored), so logging out or changing the password ends the
    session for every copy of the cookie."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    account: Mapped[Account] = relationship()

    # The clear token exists only in the request that created the session
    # or presented it.
    cookie_token = None  # type: str | None


# ---------------------------------------------------------------------------
# Campaigns and the points ledger
# ---------------------------------------------------------------------------


class Campaign(db.Model):
    """A validity period of the currency: points granted under it can be spent
    from `starts_on` to `ends_on` inclusive (Asia/Tokyo)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    # 取消 of a payment drawing on it: until the campaign's last day (the
    # guide: キャンペーン中はいつでも), or, when False, only while the payment's
    # own 精算 period runs (and never after the campaign).
    cancellable_until_end: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period_order"),)


class LedgerAccountKind(StrEnum):
    ISSUER = "issuer"  # the city: source of granted and charged points
    MEMBER = "member"  # a member's points (per campaign)
    STORE = "store"  # points received by a store, not yet settled
    SETTLEMENT = "settlement"  # points paid out to businesses by bank transfer


class LedgerAccount(db.Model):
    """An account of the points ledger. `balance` caches the sum of its entries."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "member_id", "store_id", "campaign_id"),
        # Members' balances never go below zero; the issuer's is negative by design.
        CheckConstraint("kind <> 'member' OR balance >= 0", name="member_balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LedgerAccountKind] = mapped_column(_enum(LedgerAccountKind, "ledger_account_kind"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member: Mapped[Member | None] = relationship()
    store: Mapped[Store | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()


class LedgerTransactionKind(StrEnum):
    GRANT = "grant"  # 付与: issuer → member
    CHARGE = "charge"  # チャージ: issuer → member (paid in by the member)
    PAYMENT = "payment"  # 決済: member → store
    CANCELLATION = "cancellation"  # 取消: store → member
    TRANSFER = "transfer"  # card replacement: member → member
    SETTLEMENT = "settlement"  # 精算: store → settlement (paid out by bank)
    EXPIRY = "expiry"  # 失効: member → issuer at the end of a campaign
    REVERSAL = "reversal"  # correction of a grant: member → issuer


class LedgerTransaction(db.Model):
    """One movement of points: entries that sum to zero, with who, when and why."""

    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LedgerTransactionKind] = mapped_column(_enum(LedgerTransactionKind, "ledger_transaction_kind"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    memo: Mapped[str] = mapped_column(String(300), default="")

    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="transaction", order_by="LedgerEntry.id")


class LedgerEntry(db.Model):
    """A debit (negative) or credit (positive) of one ledger account."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
    account: Mapped[LedgerAccount] = relationship()

    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)


# ---------------------------------------------------------------------------
# Payments (決済)
# ---------------------------------------------------------------------------


class PaymentMethod(StrEnum):
    CUSTOMER_SCAN = "customer_scan"  # 決済方法①: the customer reads the store QR
    STORE_SCAN = "store_scan"  # 決済方法②: the store reads the customer's QR or card


class PaymentStatus(StrEnum):
    COMPLETED = "completed"  # 決済済
    CANCELLED = "cancelled"  # 取消済


class Payment(db.Model):
    """A payment of points from one member to one store at one register."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # 利用状況一覧 filters by store and time, newest first.
        Index("ix_payments_store_created", "store_id", "created_at"),
        Index("ix_payments_business_created", "business_id", "created_at"),
        Index("ix_payments_member_created", "member_id", "created_at"),
        # 利用状況一覧 filtered by register; 日計 of cancellations by the day
        # they were made (partial: only cancelled payments have cancelled_at).
        Index("ix_payments_register_created", "register_id", "created_at"),
        Index("ix_payments_store_cancelled", "store_id", "cancelled_at",
              postgresql_where=text("cancelled_at IS NOT NULL"), sqlite_where=text("cancelled_at IS NOT NULL")),
        Index("ix_payments_business_cancelled", "business_id", "cancelled_at",
              postgresql_where=text("cancelled_at IS NOT NULL"), sqlite_where=text("cancelled_at IS NOT NULL")),
        # 窓口TOP: the city's figures over a range of days, read from the index
        # alone on PostgreSQL (it carries what the aggregates sum and group by).
        Index("ix_payments_created", "created_at",
              postgresql_include=["store_id", "member_id", "amount", "status"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # 取引番号, shown to users
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    # Looked up through ix_payments_register_created (register_id first).
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[PaymentStatus] = mapped_column(
        _enum(PaymentStatus, "payment_status"), default=PaymentStatus.COMPLETED
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    ledger_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    # The settlement period the payment belongs to (by its time, Asia/Tokyo).
    period_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_periods.id"), index=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    cancel_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    # The period in which the cancellation counts (differs from period_id when
    # the payment's own period had already closed: an adjustment).
    cancel_period_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_periods.id"))

    business: Mapped[Business] = relationship()
    store: Mapped[Store] = relationship()
    register: Mapped[Register] = relationship()
    member: Mapped[Member] = relationship()
    card: Mapped[Card | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    created_by: Mapped[Account | None] = relationship(foreign_keys=[created_by_account_id])
    cancelled_by: Mapped[Account | None] = relationship(foreign_keys=[cancelled_by_account_id])


class RegisterDayTotal(db.Model):
    """The payments and cancellations of one register on one day (Japan
    time), per payment method: what the totals of 利用状況一覧 and the 日計
    read, so that a year costs what a day costs. Kept in the same
    transaction as each payment and cancellation (iseca/day_totals.py) and
    checked against the payments by `flask payments verify-books`."""

    __tablename__ = "register_day_totals"
    __table_args__ = (
        Index("ix_register_day_totals_store_day", "store_id", "day"),
        Index("ix_register_day_totals_business_day", "business_id", "day"),
    )

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # JST
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"), primary_key=True)
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id"))
    # Payments made this day, and how many of them have been cancelled since
    # (利用状況一覧 counts a payment on its own day, whatever its status).
    payment_count: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_count: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    # Cancellations made this day, of payments of any day (the 日計 of the till).
    cancel_count: Mapped[int] = mapped_column(BigInteger, default=0)
    cancel_sum: Mapped[int] = mapped_column(BigInteger, default=0)


class IdempotencyKey(db.Model):
    """The first result of a request, replayed when the same key comes again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


# ---------------------------------------------------------------------------
# Settlement (精算)
# ---------------------------------------------------------------------------


class PeriodStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SettlementPeriod(db.Model):
    """売上対象期間: the 1st–15th or the 16th–last day of a month."""

    __tablename__ = "settlement_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[dt.date] = mapped_column(Date, unique=True)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    transfer_date: Mapped[dt.date | None] = mapped_column(Date)  # 振込予定日; None = 未定
    status: Mapped[PeriodStatus] = mapped_column(_enum(PeriodStatus, "period_status"), default=PeriodStatus.OPEN)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period_order"),)


class SettlementStatus(StrEnum):
    SCHEDULED = "scheduled"  # 予定
    TRANSFERRED = "transferred"  # 振込済
    FAILED = "failed"  # 振込不能 → 次回繰越
    CARRIED = "carried"  # nothing to transfer: zero, or negative and carried forward


class Settlement(db.Model):
    """The amount owed to one business for one period, and its transfer."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("period_id", "business_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("settlement_periods.id"))
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id"), index=True)
    payments_total: Mapped[int] = mapped_column(BigInteger, default=0)
    cancellations_total: Mapped[int] = mapped_column(BigInteger, default=0)
    adjustments_total: Mapped[int] = mapped_column(BigInteger, default=0)  # ± carried in
    fee_rate_permille: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the rate the fee was computed with
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)  # to transfer (negative: carried forward)
    status: Mapped[SettlementStatus] = mapped_column(
        _enum(SettlementStatus, "settlement_status"), default=SettlementStatus.SCHEDULED
    )
    # The bank account as it was when the transfer file was made.
    bank_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    transferred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed_reason: Mapped[str] = mapped_column(String(300), default="")
    carried_to_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    ledger_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    period: Mapped[SettlementPeriod] = relationship()
    business: Mapped[Business] = relationship()


class SettlementAdjustment(db.Model):
    """An amount carried into a later settlement: a cancellation after its
    period closed (negative), a failed transfer carried over (positive) or a
    negative result carried forward (negative).

    Its reason is `reason_code` with `reason_params`, written in the reader's
    language where shown (money/settlement.adjustment_reason); `reason` keeps
    the Japanese words too, for a row written before the codes (NULL code)."""

    __tablename__ = "settlement_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    source_settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    applied_settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---------------------------------------------------------------------------
# Onboarding, e-mail, audit
# ---------------------------------------------------------------------------


class ApplicationStatus(StrEnum):
    RECEIVED = "received"  # 受付
    APPROVED = "approved"  # 承認
    REJECTED = "rejected"  # 却下


class MerchantApplication(db.Model):
    """加盟店登録の申込: the form as submitted, reviewed by the counter."""

    __tablename__ = "merchant_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        _enum(ApplicationStatus, "application_status"), default=ApplicationStatus.RECEIVED, index=True
    )
    source: Mapped[str] = mapped_column(String(20), default="online")  # online / paper
    business_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id"))


class KitItem(StrEnum):
    FLAG = "flag"  # のぼり旗
    QR_SHEET = "qr_sheet"  # 掲示用QRコード台紙
    STICKER_ROUND = "sticker_round"  # ステッカー 丸型
    STICKER_SQUARE = "sticker_square"  # ステッカー 角型


class KitHandover(db.Model):
    """加盟店キットの受け渡し: what the counter handed over, and when."""

    __tablename__ = "kit_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    item: Mapped[KitItem] = mapped_column(_enum(KitItem, "kit_item"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    handed_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(db.Model):
    """An e-mail, stored in the transaction of the change that causes it, then sent."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditLog(db.Model):
    """Who changed what, when: every staff and merchant action that changes data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(300), default="")  # e.g. "staff:tanaka", "cli"
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    # The merchant the row is about (事業者), so that a business account reads
    # the rows of its own businesses and stores (操作履歴) and staff filter by merchant.
    business_id: Mapped[int | None] = mapped_column(ForeignKey("businesses.id"), index=True)


class NoticeAudience(StrEnum):
    MERCHANTS = "merchants"  # 管理サイト and 加盟店アプリ
    CUSTOMERS = "customers"  # ウォレット and the public pages
    EVERYONE = "everyone"


class Notice(db.Model):
    """お知らせ (maintenance notices): shown at the top of the chosen sites while it runs."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[NoticeAudience] = mapped_column(_enum(NoticeAudience, "notice_audience"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PublicText(db.Model):
    """One version of a public page's text the city edits (よくあるご質問,
    ISECAで決済できないモノ・サービス, お問い合わせ先) in one language, as
    Markdown. Every save is a new row; a page shows its language's latest
    published version, or the built-in text when none is published."""

    __tablename__ = "public_texts"
    __table_args__ = (Index("ix_public_texts_page_lang_published", "page", "lang", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page: Mapped[str] = mapped_column(String(20))  # faq / not_payable / contact
    lang: Mapped[str] = mapped_column(String(8))  # ja / en / pt_BR / vi
    body: Mapped[str] = mapped_column(Text)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    created_by: Mapped[Account | None] = relationship(foreign_keys=[created_by_account_id])
    published_by: Mapped[Account | None] = relationship(foreign_keys=[published_by_account_id])
