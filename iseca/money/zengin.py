"""総合振込: the Zengin (全銀) transfer file of a closed period.

Fixed-length records of 120 bytes (header 1, one data record 2 per
transfer, trailer 8, end 9), CRLF after each, half-width kana in CP932, as
REFERENCE.md §1 lays the layout out. Numeric fields are right-aligned and
zero-filled, text fields left-aligned and space-filled.

Preparing a period's transfers (`prepare_transfers`) takes each business's
bank account as it stands then and keeps that snapshot on the settlement;
the file is written from the snapshots only, so exporting twice gives the
same file. A business whose account is incomplete, or whose holder name a
bank cannot take, is left out: its transfer is marked 振込不能 with the
reason and the amount carried into its next settlement.

The city's side of the header (委託者コード, 委託者名, its account) comes from
the ZENGIN_* settings; 委託者名 is also the 振込人名義 merchants are told
(banking.payer_name). In production no file is made while the code or the
account are the development placeholders (`setup_refusal`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .. import audit, bulk
from ..csvexport import CsvStream, header
from ..extensions import db
from ..i18n import N_
from ..labels import label
from ..models import Account, Business, PeriodStatus, Settlement, SettlementPeriod, SettlementStatus, utcnow
from . import banking, settlement
from .kana import KanaError, fit, to_zengin_kana

RECORD_BYTES = 120
KIND_TRANSFER = "21"  # 種別コード: 総合振込
TELEGRAPHIC = "7"  # 振込指定区分: 電信


class ZenginError(Exception):
    """A transfer file that cannot be made, with a message for staff."""


class ZenginSetupError(ZenginError):
    """The city's side of the file (委託者, its account) is not set for real."""


def setup_problems() -> list[str]:
    """What is wrong with the city's side of the transfer file, one Japanese
    sentence each: the 委託者コード or the city's account left at the
    development placeholders (all zeros) or unset, and a 委託者名 a bank
    cannot take."""
    return _placeholders() + _name_problems()


def _placeholders() -> list[str]:
    config = current_app.config
    problems = []
    if not str(config.get("ZENGIN_REQUESTER_CODE") or "").strip("0"):
        problems.append(_("委託者コード（ISECA_ZENGIN_REQUESTER_CODE）が開発用の仮の値（すべて0）か未設定です。"))
    if not all(str(config.get(key) or "").strip("0") for key in ("ZENGIN_BANK_CODE", "ZENGIN_BRANCH_CODE",
                                                                  "ZENGIN_ACCOUNT_NUMBER")):
        problems.append(_("市の口座（ISECA_ZENGIN_BANK_CODE・ISECA_ZENGIN_BRANCH_CODE・ISECA_ZENGIN_ACCOUNT_NUMBER）が"
                          "開発用の仮の値（すべて0）か未設定です。"))
    return problems


def _name_problems() -> list[str]:
    try:
        banking.payer_kana()
    except KanaError as error:
        return [_("%(message)s（設定 ISECA_ZENGIN_REQUESTER_NAME）", message=error.message)]
    return []


def setup_refusal() -> str | None:
    """Why no transfer file may be made now, or None. In production the
    placeholders refuse it; in development and tests they make a file no
    bank takes (the 精算 page says so). A name a bank cannot take refuses it
    everywhere."""
    problems = (_placeholders() if current_app.config["PRODUCTION"] else []) + _name_problems()
    if not problems:
        return None
    return _("振込データは作れません。%(problems)s 正しい値を設定してから作成してください。", problems=" ".join(problems))


def _require_setup() -> None:
    refusal = setup_refusal()
    if refusal:
        raise ZenginSetupError(refusal)


def _n(value: int | str, width: int) -> str:
    text = str(value)
    if not text.isdigit() or len(text) > width:
        raise ZenginError(_("数字項目に入らない値です: %(value)s（%(width)s桁）", value=repr(value), width=width))
    return text.zfill(width)


def _bank_kana(bank_code: str, branch_code: str | None = None) -> str:
    """A bank's (or its branch's) name for the file, at most 15 characters;
    blank when it has no kana a bank takes (the codes decide, the names inform)."""
    try:
        name = banking.branch_kana(bank_code, branch_code) if branch_code else banking.bank_kana(bank_code)
    except (KanaError, KeyError):
        return ""
    return fit(name, 15).rstrip()


def _record(text: str) -> str:
    data = text.encode("cp932")
    if len(data) != RECORD_BYTES or len(text) != RECORD_BYTES:
        raise ZenginError(_("レコード長が%(length)sバイトです（120バイトのはず）", length=len(data)))
    return text


def header_record(*, requester_code: str, requester_name: str, transfer_date: dt.date, bank_code: str,
                  branch_code: str, account_type: str, account_number: str) -> str:
    """ヘッダー・レコード (データ区分 1)."""
    return _record(
        "1" + KIND_TRANSFER + "0"
        + _n(requester_code, 10)
        + fit(to_zengin_kana(requester_name, field="委託者名"), 40)
        + transfer_date.strftime("%m%d")
        + _n(bank_code, 4)
        + fit(_bank_kana(bank_code), 15)
        + _n(branch_code, 3)
        + fit(_bank_kana(bank_code, branch_code), 15)
        + _n(account_type, 1)
        + _n(account_number, 7)
        + " " * 17
    )


def data_record(snapshot: dict, amount: int, *, customer_code1: int, customer_code2: int) -> str:
    """データ・レコード (データ区分 2): one transfer."""
    if amount <= 0:
        raise ZenginError(_("振込金額は1円以上です。"))
    return _record(
        "2"
        + _n(snapshot["bank_code"], 4)
        + fit(snapshot.get("bank_kana", ""), 15)
        + _n(snapshot["branch_code"], 3)
        + fit(snapshot.get("branch_kana", ""), 15)
        + "0000"
        + _n(snapshot["account_type"], 1)
        + _n(snapshot["account_number"], 7)
        + fit(snapshot["account_holder_kana"], 30)
        + _n(amount, 10)
        + "0"
        + _n(customer_code1, 10)
        + _n(customer_code2, 10)
        + TELEGRAPHIC
        + " "
        + " " * 7
    )


def trailer_record(count: int, total: int) -> str:
    """トレーラ・レコード (データ区分 8): count and total of the data records."""
    return _record("8" + _n(count, 6) + _n(total, 12) + " " * 101)


def end_record() -> str:
    """エンド・レコード (データ区分 9)."""
    return _record("9" + " " * 119)


def snapshot_of(business: Business) -> dict:
    """The business's bank account as a transfer needs it, or
    banking.BankAccountProblems when a bank could not take it."""
    account = banking.check_bank_account(
        business.bank_code, business.branch_code, str(business.account_type or ""), business.account_number,
        business.account_holder_kana,
    )
    snapshot = account.as_dict()
    snapshot["bank_kana"] = _bank_kana(account.bank_code)
    snapshot["branch_kana"] = _bank_kana(account.bank_code, account.branch_code)
    snapshot["bank_name"] = banking.bank_name(account.bank_code) or ""
    snapshot["branch_name"] = banking.branch_name(account.bank_code, account.branch_code) or ""
    return snapshot


@dataclass
class Prepared:
    ready: int  # transfers in the file
    left_out: list[Settlement]  # incomplete accounts: marked 振込不能 and carried over
    messages: list  # the mails telling those businesses what to correct


def _require_exportable(period: SettlementPeriod) -> None:
    if period.status != PeriodStatus.CLOSED:
        raise ZenginError(_("締められていない期間の振込データは作れません。"))
    if period.transfer_date is None:
        raise ZenginError(_("振込予定日が未定です。先に振込予定日を決めてください。"))


def prepare_transfers(period: SettlementPeriod, *, actor: Account | None = None,
                      at: dt.datetime | None = None) -> Prepared:
    """Take the bank account of every business to be paid for `period` (once
    per settlement: a second run changes nothing); leave out and carry over
    the ones a bank could not take. The caller commits."""
    _require_exportable(period)
    _require_setup()
    at = at or utcnow()
    pending = list(db.session.scalars(
        select(Settlement).join(Business)
        .where(Settlement.period_id == period.id, Settlement.status == SettlementStatus.SCHEDULED,
               Settlement.amount > 0, Settlement.bank_snapshot.is_(None))
        .order_by(Settlement.id)
        .options(contains_eager(Settlement.business))
    ))
    left_out, messages, snapshots = [], [], {}
    for row in pending:
        try:
            snapshots[row.id] = {**snapshot_of(row.business), "taken_at": at.isoformat()}
        except banking.BankAccountProblems as problems:
            reason = "口座情報の不備: " + " ".join(problems.errors.values())
            if settlement.mark_failed(row, reason, actor=actor, at=at, messages=messages):
                left_out.append(row)
    # The first export's snapshot stays: a second one (or one at the same
    # time) writes nothing over it.
    bulk.set_by_id(Settlement.__table__, "bank_snapshot", snapshots, only_if_null=True)
    db.session.expire_all()
    ready = len(transfers(period))
    audit.record("transfer_file_prepared", period, {"ready": ready, "left_out": [r.business_id for r in left_out]},
                 actor=actor)
    db.session.flush()
    return Prepared(ready=ready, left_out=left_out, messages=messages)


def transfers(period: SettlementPeriod) -> list[Settlement]:
    """The transfers of the file: prepared settlements with an amount, by business code."""
    return list(db.session.scalars(
        select(Settlement).join(Business)
        .where(Settlement.period_id == period.id, Settlement.bank_snapshot.is_not(None), Settlement.amount > 0,
               Settlement.status.in_([SettlementStatus.SCHEDULED, SettlementStatus.TRANSFERRED]))
        .order_by(Business.code, Settlement.id)
        .options(contains_eager(Settlement.business))
    ))


def left_out(period: SettlementPeriod) -> list[Settlement]:
    """Transfers of the period that failed (incomplete accounts or marked 振込不能)."""
    return list(db.session.scalars(
        select(Settlement).join(Business)
        .where(Settlement.period_id == period.id, Settlement.status == SettlementStatus.FAILED)
        .order_by(Business.code)
    ))


def transfer_file(period: SettlementPeriod) -> bytes:
    """The 総合振込 file of `period`, from the kept snapshots (the same bytes
    every time). Refused (ZenginSetupError) while the city's side is not
    set for real in production."""
    _require_exportable(period)
    _require_setup()
    config = current_app.config
    rows = transfers(period)
    records = [header_record(
        requester_code=config["ZENGIN_REQUESTER_CODE"], requester_name=banking.payer_kana(),
        transfer_date=period.transfer_date, bank_code=config["ZENGIN_BANK_CODE"],
        branch_code=config["ZENGIN_BRANCH_CODE"], account_type=str(config["ZENGIN_ACCOUNT_TYPE"]),
        account_number=config["ZENGIN_ACCOUNT_NUMBER"],
    )]
    records += [data_record(r.bank_snapshot, r.amount, customer_code1=r.business_id, customer_code2=r.id) for r in rows]
    records.append(trailer_record(len(rows), sum(r.amount for r in rows)))
    records.append(end_record())
    return "".join(r + "\r\n" for r in records).encode("cp932")


CSV_HEADER = [N_("事業者コード"), N_("事業者名"), N_("金融機関コード"), N_("金融機関名"), N_("支店コード"), N_("支店名"),
              N_("預金種目"), N_("口座番号"), N_("受取人名"), N_("振込金額"), N_("振込指定日")]


def transfer_csv(period: SettlementPeriod, encoding: str = "cp932") -> bytes:
    """The same transfers as a CSV a person can read (CP932 or UTF-8 with BOM)."""
    _require_exportable(period)
    rows = [
        [r.business.code, r.business.name, r.bank_snapshot["bank_code"], r.bank_snapshot.get("bank_name", ""),
         r.bank_snapshot["branch_code"], r.bank_snapshot.get("branch_name", ""),
         label(r.bank_snapshot["account_type"], "bank_account_type"),
         r.bank_snapshot["account_number"], r.bank_snapshot["account_holder_kana"], r.amount,
         period.transfer_date.isoformat()]
        for r in transfers(period)
    ]
    # Codes keep their leading zeros in Excel.
    return b"".join(CsvStream(encoding, identifiers=(2, 4, 7)).chunks(header(CSV_HEADER), rows))
