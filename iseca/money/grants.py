"""ポイント付与・チャージ and キャンペーン (ISECA窓口): points from the city to
members, one at a time or a checked CSV batch, each once per form (one-time
key), each with its audit row; and the campaigns (validity periods) they
are granted under."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit, i18n
from ..extensions import db
from ..models import Account, Campaign, LedgerTransaction, LedgerTransactionKind, Member, MemberStatus
from . import idempotency, ledger

GRANT_MAX_AMOUNT = 1_000_000  # the most one grant may give

GRANT_KINDS = (LedgerTransactionKind.GRANT, LedgerTransactionKind.CHARGE)

# What the clerk reads when a grant form's key is refused.
KEY_MESSAGES = idempotency.Messages(
    invalid=_l("画面の有効期限が切れました。付与はされていません。内容を確かめて、もう一度登録してください。"),
    reused=_l("この画面からはすでに別の内容で登録しています。会員詳細を開き直してから入力してください。"),
    in_flight=_l("同じ付与を処理中です。しばらくしてから「最近の動き」で登録されたか確認してください。"),
)
BATCH_KEY_MESSAGES = idempotency.Messages(
    invalid=_l("画面の有効期限が切れました。1件も付与されていません。CSVをもう一度取り込んでください。"),
    reused=_l("この確認画面からはすでに別の内容で付与しています。CSVをもう一度取り込んでください。"),
    in_flight=_l("同じ一括付与を処理中です。しばらくしてから会員の残高を確認してください。"),
)


@dataclass
class GrantLine:
    line: int
    code: str
    amount: int | None
    member: Member | None = None
    error: str = ""


@dataclass
class GrantBatch:
    """A CSV of grants, checked line by line before anything is granted."""

    lines: list[GrantLine] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.lines) and not any(line.error for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.amount or 0 for line in self.lines if not line.error)

    @property
    def error_count(self) -> int:
        return sum(1 for line in self.lines if line.error)


class GrantRefused(Exception):
    """A grant that cannot be made, with a message for the clerk."""


class CampaignInvalid(Exception):
    """A campaign that cannot be created; `field` names the form field to show it beside."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class Granted:
    """What the clerk is told: the amount, grant or charge, and whether this
    was a repeat of a grant already made (nothing more was granted)."""

    amount: int
    kind: LedgerTransactionKind
    replayed: bool = False


@dataclass
class BatchGranted:
    lines: int
    total: int
    replayed: bool = False


def grant(
    member: Member,
    campaign: Campaign,
    amount: int,
    *,
    kind: LedgerTransactionKind = LedgerTransactionKind.GRANT,
    memo: str = "",
    actor: Account | None = None,
    at: dt.datetime | None = None,
) -> LedgerTransaction:
    """付与/チャージ: `amount` points to an active member under `campaign`, with its audit row."""
    if kind not in GRANT_KINDS:
        raise GrantRefused(_("種類を選んでください。"))
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= GRANT_MAX_AMOUNT:
        raise GrantRefused(_("ポイントは1〜%(max)sの整数で入力してください。", max=i18n.number(GRANT_MAX_AMOUNT)))
    if member.status != MemberStatus.ACTIVE:
        raise GrantRefused(_("この会員は利用停止中です。付与できません。"))
    txn = ledger.grant(member.id, campaign, amount, actor=actor, memo=memo, kind=kind, at=at)
    audit.record("points_granted", member, {"amount": amount, "kind": str(kind), "campaign_id": campaign.id,
                                            "memo": memo, "ledger_transaction_id": txn.id}, actor=actor)
    return txn


def grant_once(
    staff: Account,
    key: str,
    member: Member,
    campaign: Campaign,
    amount: int,
    *,
    kind: LedgerTransactionKind,
    memo: str,
) -> Granted:
    """`grant` at most once per (staff, key): the same form sent again, or
    many times at once, grants once and answers as the first did. Raises
    GrantRefused or idempotency.KeyRefused (KEY_MESSAGES). The caller commits."""
    fingerprint = idempotency.fingerprint(member=member.id, campaign=campaign.id, amount=amount, kind=str(kind),
                                          memo=memo)
    first = idempotency.claim(staff.id, key, fingerprint, KEY_MESSAGES)
    if first is not None:
        return Granted(int(first.result["amount"]), LedgerTransactionKind(first.result["kind"]), replayed=True)
    txn = grant(member, campaign, amount, kind=kind, memo=memo, actor=staff)
    idempotency.finish(staff.id, key, {"amount": amount, "kind": str(kind), "ledger_transaction_id": txn.id})
    return Granted(amount, kind)


def grant_batch(batch: GrantBatch, campaign: Campaign, *, actor: Account | None, memo: str) -> int:
    """一括付与: every line of a checked batch, or none (the caller rolls back), with one audit row."""
    if not batch.ok:
        raise GrantRefused(_("エラーのある行があるため付与できません。"))
    for line in batch.lines:
        ledger.grant(line.member.id, campaign, line.amount, actor=actor, memo=memo)
    audit.record("points_granted_batch", campaign, {"lines": len(batch.lines), "total": batch.total, "memo": memo},
                 actor=actor)
    return len(batch.lines)


def grant_batch_once(staff: Account, key: str, batch: GrantBatch, campaign: Campaign, *, memo: str,
                     csv_text: str) -> BatchGranted:
    """`grant_batch` at most once per preview (its key): a resubmit grants nothing more."""
    fingerprint = idempotency.fingerprint(campaign=campaign.id, memo=memo, csv=csv_text)
    first = idempotency.claim(staff.id, key, fingerprint, BATCH_KEY_MESSAGES)
    if first is not None:
        return BatchGranted(int(first.result["grants"]), int(first.result["total"]), replayed=True)
    count = grant_batch(batch, campaign, actor=staff, memo=memo)
    idempotency.finish(staff.id, key, {"grants": count, "total": batch.total})
    return BatchGranted(count, batch.total)


def create_campaign(name: str, starts_on: dt.date, ends_on: dt.date, *, actor: Account | None = None,
                    cancellable_until_end: bool = True) -> Campaign:
    """キャンペーン（有効期間）: points granted under it can be spent from
    `starts_on` to `ends_on`; its payments can be cancelled until `ends_on`,
    or only within their own 精算 period when `cancellable_until_end` is False."""
    name = (name or "").strip()
    if not name:
        raise CampaignInvalid("name", _("名称を入力してください。"))
    if ends_on < starts_on:
        raise CampaignInvalid("ends_on", _("終了日は開始日以降にしてください。"))
    campaign = Campaign(name=name, starts_on=starts_on, ends_on=ends_on, cancellable_until_end=cancellable_until_end)
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign_created", campaign, {"name": campaign.name, "starts_on": str(campaign.starts_on),
                                                "ends_on": str(campaign.ends_on),
                                                "cancellable_until_end": cancellable_until_end}, actor=actor)
    return campaign


@dataclass
class CampaignEffect:
    """What changing a campaign's period does to the points already granted
    under it and to the payments that drew on it, before and after."""

    old_starts_on: dt.date
    old_ends_on: dt.date
    new_starts_on: dt.date
    new_ends_on: dt.date
    members: int  # members holding points of the campaign
    points: int  # their points (unused)
    payments: int  # completed payments that drew on it alone: cancellable until its last day
    payments_amount: int
    today: dt.date
    # 取消 until the campaign's last day (True) or only within each payment's 精算 period.
    old_cancellable_until_end: bool = True
    new_cancellable_until_end: bool = True

    @property
    def changed(self) -> bool:
        return (self.old_starts_on, self.old_ends_on) != (self.new_starts_on, self.new_ends_on)

    @property
    def cancellation_narrowed(self) -> bool:
        """Payments made so far may stop being cancellable sooner than merchants were told."""
        return self.old_cancellable_until_end and not self.new_cancellable_until_end

    @property
    def shortened(self) -> bool:
        """Points expire (and cancellations end) earlier than members were told."""
        return self.new_ends_on < self.old_ends_on

    @property
    def extended(self) -> bool:
        return self.new_ends_on > self.old_ends_on

    @property
    def starts_later(self) -> bool:
        """Points granted cannot be spent until the new first day."""
        return self.new_starts_on > self.old_starts_on and self.new_starts_on > self.today

    @property
    def days_lost(self) -> int:
        return max((self.old_ends_on - self.new_ends_on).days, 0)


def campaign_effect(campaign: Campaign, starts_on: dt.date, ends_on: dt.date, *, today: dt.date | None = None,
                    cancellable_until_end: bool | None = None) -> CampaignEffect:
    """The effect of giving `campaign` the period starts_on..ends_on: who holds
    how many of its points, which expire on the old and on the new last day."""
    from sqlalchemy import func, select

    from ..models import LedgerAccount, LedgerAccountKind, Payment, PaymentStatus
    from ..timeutil import today_jst

    members, points = db.session.execute(
        select(func.count(LedgerAccount.member_id.distinct()), func.coalesce(func.sum(LedgerAccount.balance), 0))
        .where(LedgerAccount.kind == LedgerAccountKind.MEMBER, LedgerAccount.campaign_id == campaign.id,
               LedgerAccount.balance > 0)
    ).one()
    payments, payments_amount = db.session.execute(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.campaign_id == campaign.id, Payment.status == PaymentStatus.COMPLETED)
    ).one()
    return CampaignEffect(campaign.starts_on, campaign.ends_on, starts_on, ends_on, int(members), int(points),
                          int(payments), int(payments_amount), today or today_jst(),
                          campaign.cancellable_until_end,
                          campaign.cancellable_until_end if cancellable_until_end is None else cancellable_until_end)


def check_campaign_change(campaign: Campaign, name: str, starts_on: dt.date | None, ends_on: dt.date | None,
                          *, today: dt.date | None = None) -> None:
    """Raises CampaignInvalid when the change cannot be made (beside the field to correct)."""
    from flask_babel import gettext as _

    from ..timeutil import today_jst

    today = today or today_jst()
    if not (name or "").strip():
        raise CampaignInvalid("name", _("名称を入力してください。"))
    if starts_on is None:
        raise CampaignInvalid("starts_on", _("開始日を入力してください（例: 2026-04-01）。"))
    if ends_on is None:
        raise CampaignInvalid("ends_on", _("終了日を入力してください（例: 2027-03-31）。"))
    if ends_on < starts_on:
        raise CampaignInvalid("ends_on", _("終了日は開始日以降にしてください。"))
    if ends_on != campaign.ends_on and ends_on < today:
        # A past last day would take away, after the fact, points members could spend until today.
        raise CampaignInvalid("ends_on", _("終了日は今日以降の日付にしてください（過去にさかのぼって終えることはできません）。"))


def update_campaign(campaign: Campaign, name: str, starts_on: dt.date, ends_on: dt.date, *,
                    actor: Account | None = None, today: dt.date | None = None,
                    cancellable_until_end: bool | None = None) -> CampaignEffect:
    """キャンペーン変更: a new name or period (extended or shortened); points
    of the campaign are then spendable, and its payments cancellable, until
    the new last day. Audited with the effect as it was shown. The caller commits."""
    check_campaign_change(campaign, name, starts_on, ends_on, today=today)
    effect = campaign_effect(campaign, starts_on, ends_on, today=today, cancellable_until_end=cancellable_until_end)
    old = {"name": campaign.name, "starts_on": str(campaign.starts_on), "ends_on": str(campaign.ends_on),
           "cancellable_until_end": campaign.cancellable_until_end}
    campaign.name = name.strip()
    campaign.starts_on = starts_on
    campaign.ends_on = ends_on
    campaign.cancellable_until_end = effect.new_cancellable_until_end
    new = {"name": campaign.name, "starts_on": str(starts_on), "ends_on": str(ends_on),
           "cancellable_until_end": campaign.cancellable_until_end}
    audit.record("campaign_updated", campaign, {
        "fields": [key for key in old if old[key] != new[key]],
        "old": f"{old['name']} {old['starts_on']}〜{old['ends_on']}",
        "new": f"{new['name']} {new['starts_on']}〜{new['ends_on']}",
        "members": effect.members, "points": effect.points,
    }, actor=actor)
    return effect
