"""利用額明細 (settlement statement) of a business for a period: one
function computes every figure (`statement`), and the 精算 page, the PDF and
the CSV all show what it returns, so the three never disagree.

A store account sees its own store's share: its payments, cancellations and
the adjustments of its own payments. The fee, amounts carried over and the
amount to transfer belong to the business as a whole.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import case, func, select

from .. import i18n
from ..csvexport import CsvStream, datetime_text, header
from ..csvexport import filename as csv_filename
from ..dates import period_text, wareki
from ..extensions import db
from ..i18n import N_
from ..models import (
    Payment,
    PaymentStatus,
    PeriodStatus,
    Settlement,
    SettlementAdjustment,
    SettlementPeriod,
    SettlementStatus,
    Store,
)
from ..pdffonts import japanese_font
from ..timeutil import JST
from . import banking, settlement


@dataclass
class StoreTotals:
    code: str
    name: str
    payments_count: int = 0
    payments: int = 0
    cancellations_count: int = 0
    cancellations: int = 0
    adjustments: int = 0

    @property
    def net(self) -> int:
        return self.payments - self.cancellations + self.adjustments


def line_kind_text(kind: str) -> str:
    """A line's 区分 in the reader's language, as a column of the statement
    words it (Payment, not the word used inside a sentence)."""
    words = {
        "決済": pgettext("statement line", "決済"),
        "取消": pgettext("statement line", "取消"),
        "調整": pgettext("statement line", "調整"),
    }
    return words.get(kind, kind)


@dataclass
class Line:
    kind: str  # 決済 / 取消 / 調整
    at: dt.datetime | None
    number: str
    store_code: str
    store_name: str
    amount: int  # signed as it counts in the statement
    note: str = ""


@dataclass
class Statement:
    """What a 利用額明細 states (plain values, read once)."""

    business_code: str
    business_name: str
    period_text: str
    starts_on: dt.date
    ends_on: dt.date
    status: str
    transfer_date: dt.date | None
    transfer_date_text: str
    transferred_on: dt.date | None
    transferor: str
    bank_account: str
    payments: int
    cancellations: int
    adjustments: int
    fee: int
    fee_rate_permille: int
    amount: int
    failed_reason: str = ""
    store_only: str = ""  # the store's name when the statement is one store's share
    stores: list[StoreTotals] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def fee_rate_text(self) -> str:
        return f"{self.fee_rate_permille / 10:g}%"


def status_text(row: Settlement) -> str:
    """The words of the 精算 page for a settlement's state."""
    if row.status == SettlementStatus.TRANSFERRED:
        return _("振込済")
    if row.status == SettlementStatus.FAILED:
        return _("振込不能→次回繰越")
    if row.status == SettlementStatus.CARRIED:
        return _("次回繰越") if row.amount < 0 else _("振込なし")
    return _("振込予定") if row.period.transfer_date else _("確定")


def statement(row: Settlement, *, store_id: int | None = None) -> Statement:
    """The 利用額明細 of one settlement (or one store's share of it)."""
    period = row.period
    business = row.business
    store_filter = [Payment.store_id == store_id] if store_id is not None else []
    stores: dict[int, StoreTotals] = {}

    def totals(store: Store) -> StoreTotals:
        if store.id not in stores:
            stores[store.id] = StoreTotals(store.code, store.name)
        return stores[store.id]

    lines: list[Line] = []
    payments = db.session.scalars(
        select(Payment).where(Payment.period_id == period.id, Payment.business_id == business.id, *store_filter)
        .order_by(Payment.created_at, Payment.id)
    )
    cancelled_in_period: list[Payment] = []
    for p in payments:
        t = totals(p.store)
        t.payments_count += 1
        t.payments += p.amount
        lines.append(Line(N_("決済"), p.created_at, p.number, p.store.code, p.store.name, p.amount))
        if p.status == PaymentStatus.CANCELLED and p.cancel_period_id == period.id:
            cancelled_in_period.append(p)
    for p in sorted(cancelled_in_period, key=lambda p: (p.cancelled_at, p.id)):
        t = totals(p.store)
        t.cancellations_count += 1
        t.cancellations += p.amount
        lines.append(Line(N_("取消"), p.cancelled_at, p.number, p.store.code, p.store.name, -p.amount,
                          _("期間内の取消")))
    adjustments = db.session.execute(
        select(SettlementAdjustment, Payment)
        .outerjoin(Payment, SettlementAdjustment.payment_id == Payment.id)
        .where(SettlementAdjustment.applied_settlement_id == row.id)
        .order_by(SettlementAdjustment.created_at, SettlementAdjustment.id)
    ).all()
    for adjustment, p in adjustments:
        if store_id is not None and (p is None or p.store_id != store_id):
            continue  # the business's own carry-overs are not a store's share
        if p is not None:
            totals(p.store).adjustments += adjustment.amount
        lines.append(Line(N_("調整"), adjustment.created_at, p.number if p else "", p.store.code if p else "",
                          p.store.name if p else "", adjustment.amount,
                          settlement.adjustment_reason(adjustment.reason_code, adjustment.reason_params,
                                                       adjustment.reason)))

    snapshot = row.bank_snapshot or {
        "bank_code": business.bank_code, "branch_code": business.branch_code,
        "account_type": str(business.account_type or ""), "account_number": business.account_number,
        "account_holder_kana": business.account_holder_kana,
    }
    ordered = sorted(stores.values(), key=lambda s: s.code)
    if store_id is not None:
        share = ordered[0] if ordered else None
        store = db.session.get(Store, store_id)
        payments_sum = share.payments if share else 0
        cancellations_sum = share.cancellations if share else 0
        adjustments_sum = share.adjustments if share else 0
        fee, amount = 0, payments_sum - cancellations_sum + adjustments_sum
        store_only = store.name if store else ""
    else:
        payments_sum, cancellations_sum = row.payments_total, row.cancellations_total
        adjustments_sum, fee, amount = row.adjustments_total, row.fee, row.amount
        store_only = ""
    return Statement(
        business_code=business.code,
        business_name=business.name,
        period_text=period_text(period),
        starts_on=period.starts_on,
        ends_on=period.ends_on,
        status=status_text(row),
        transfer_date=period.transfer_date,
        transfer_date_text=wareki(period.transfer_date),
        transferred_on=row.transferred_at.astimezone(JST).date() if row.transferred_at else None,
        transferor=banking.payer_name(),
        bank_account=banking.describe(snapshot) if snapshot.get("bank_code") else _("未登録"),
        payments=payments_sum,
        cancellations=cancellations_sum,
        adjustments=adjustments_sum,
        fee=fee,
        fee_rate_permille=row.fee_rate_permille,
        amount=amount,
        failed_reason=row.failed_reason,
        store_only=store_only,
        stores=ordered,
        lines=lines,
    )


@dataclass
class Running:
    """An open period's figures so far (集計中)."""

    period_text: str
    starts_on: dt.date
    payments: int
    cancellations: int


def running_totals(business_id: int, store_id: int | None = None) -> list[Running]:
    """Payments and cancellations so far in the periods not closed yet, newest first."""
    cancelled = func.sum(case((Payment.cancel_period_id == Payment.period_id, Payment.amount), else_=0))
    rows = db.session.execute(
        select(SettlementPeriod, func.sum(Payment.amount), cancelled)
        .join(Payment, Payment.period_id == SettlementPeriod.id)
        .where(SettlementPeriod.status == PeriodStatus.OPEN, Payment.business_id == business_id,
               *([Payment.store_id == store_id] if store_id is not None else []))
        .group_by(SettlementPeriod.id)
        .order_by(SettlementPeriod.starts_on.desc())
    ).all()
    return [Running(period_text(p), p.starts_on, int(paid), int(cancel)) for p, paid, cancel in rows]


def schedule_rows() -> list[SettlementPeriod]:
    """振込スケジュール: every period the city has a row for, as the guide lists them."""
    return list(db.session.scalars(select(SettlementPeriod).order_by(SettlementPeriod.starts_on)))


def filename(st: Statement, ext: str, encoding: str = "cp932") -> str:
    """The download's name; a CSV's says its encoding (_sjis / _utf8)."""
    stem = f"riyougaku-meisai_{st.business_code}_{st.starts_on:%Y%m%d}-{st.ends_on:%Y%m%d}"
    return csv_filename(stem, encoding) if ext == "csv" else f"{stem}.{ext}"


def summary_rows(st: Statement) -> list[tuple[str, int]]:
    """The figures in the order every form of the statement lists them."""
    if st.store_only:
        return [(_("決済合計"), st.payments), (_("取消合計"), -st.cancellations), (_("調整額"), st.adjustments),
                (_("店舗分合計"), st.amount)]
    return [(_("決済合計"), st.payments), (_("取消合計"), -st.cancellations), (_("調整額"), st.adjustments),
            (_("手数料（%(rate)s）", rate=st.fee_rate_text), -st.fee), (_("振込金額"), st.amount)]


CSV_HEADER = [N_("区分"), N_("日時（日本時間）"), N_("取引番号"), N_("店舗コード"), N_("店舗名"), N_("金額"), N_("内容")]


def statement_csv(st: Statement, encoding: str = "cp932") -> bytes:
    """The statement as CSV (CP932 for Excel or UTF-8 with BOM): every line, then the figures."""
    def rows():
        for line in st.lines:
            yield [line_kind_text(line.kind), datetime_text(line.at), line.number, line.store_code, line.store_name, line.amount,
                   line.note]
        for name, value in summary_rows(st):
            yield [name, "", "", "", "", value, ""]
        yield [_("売上対象期間"), "", "", "", "", "", st.period_text]
        yield [_("振込予定日"), "", "", "", "", "", st.transfer_date_text]
        yield [_("振込人名義"), "", "", "", "", "", st.transferor]
    # 取引番号 and 店舗コード keep every digit in a spreadsheet.
    return b"".join(CsvStream(encoding, identifiers=(2, 3)).chunks(header(CSV_HEADER), rows()))


def yen(value: int) -> str:
    return i18n.yen(value)


PADDING = 12  # a reportlab table cell's left and right padding, in points


def _widths(rows: list[list], font: str, size: float, *, fixed: tuple[int, ...], flexible: dict[int, int],
            total: float | None, headers: list[str] | None = None) -> list[float]:
    """Column widths in points: each `fixed` column as wide as its widest
    text, its header's included (they never wrap: headings, dates, numbers,
    amounts), the rest of `total` shared by the `flexible` columns (names,
    notes: they wrap) by their weights."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    columns = len(rows[0]) if rows else len(headers or [])
    widths = [0.0] * columns
    for i in fixed:
        texts = [str(row[i]) for row in rows] + ([headers[i]] if headers else [])
        widths[i] = max(stringWidth(text, font, size) for text in texts) + PADDING + 1
    if total is not None and flexible:
        rest = max(total - sum(widths), 0)
        weights = sum(flexible.values())
        for i, weight in flexible.items():
            widths[i] = rest * weight / weights
    return widths


def statement_pdf(st: Statement) -> bytes:
    """The statement as an A4 PDF with an embedded Japanese font."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


    font = japanese_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=14)
    # Cells that wrap (names, notes): CJK wrapping breaks a long word too.
    cell9 = ParagraphStyle("cell9", fontName=font, fontSize=9, leading=11, wordWrap="CJK")
    cell8 = ParagraphStyle("cell8", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
    out = io.BytesIO()
    # The canvas's first font is the Japanese one: reportlab's default (Helvetica) would be named, not embedded.
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=_("利用額明細"), author=_("ISECA窓口"), initialFontName=font)
    width = doc.width - 12  # the frame's inner width (6 pt padding each side)
    grid = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f3ee")),
        ("ALIGN", (-1, 1), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ])
    who = _("%(name)s（事業者コード %(code)s）", name=st.business_name, code=st.business_code)
    if st.store_only:
        who += _("　%(store)s 分", store=st.store_only)
    story = [
        Paragraph(_("利用額明細"), title),
        Paragraph(who, body),
        Paragraph(_("売上対象期間　%(period)s", period=st.period_text), body),
        Paragraph(_("振込予定日　%(date)s　状態　%(status)s", date=st.transfer_date_text, status=st.status)
                  + (_("　振込日　%(date)s", date=wareki(st.transferred_on)) if st.transferred_on else ""), body),
        Paragraph(_("振込先　%(bank)s　振込人名義　%(name)s", bank=st.bank_account, name=st.transferor), body),
        Spacer(1, 4 * mm),
    ]
    figures = Table([[_("項目"), _("金額")]] + [[name, yen(value)] for name, value in summary_rows(st)],
                    colWidths=[60 * mm, 40 * mm])
    figures.setStyle(grid)
    story += [figures, Spacer(1, 5 * mm), Paragraph(_("店舗別"), body)]
    store_rows = [[s.code, s.name, _("%(count)s件", count=s.payments_count), yen(s.payments),
                   _("%(count)s件", count=s.cancellations_count), yen(-s.cancellations), yen(s.adjustments)]
                  for s in st.stores]
    store_header = [_("店舗コード"), _("店舗名"), _("決済件数"), _("決済額"), _("取消件数"), _("取消額"), _("調整額")]
    per_store = Table(
        [store_header]
        + [[code, Paragraph(escape(name), cell9), *rest] for code, name, *rest in store_rows],
        colWidths=_widths(store_rows, font, 9, fixed=(0, 2, 3, 4, 5, 6), flexible={1: 1}, total=width,
                          headers=store_header),
        repeatRows=1,
    )
    per_store.setStyle(grid)
    per_store.setStyle(TableStyle([("ALIGN", (2, 1), (-1, -1), "RIGHT")]))
    story += [per_store, Spacer(1, 5 * mm), Paragraph(_("明細"), body)]
    detail_header = [_("区分"), _("日時"), _("取引番号"), pgettext("column", "店舗"), _("内容"), _("金額")]
    detail_rows = [[line_kind_text(line.kind), i18n.jst(line.at, "%Y/%m/%d %H:%M") if line.at else "", line.number,
                    line.store_name, line.note, yen(line.amount)] for line in st.lines]
    detail = Table(
        [detail_header]
        + [[kind, at, number, Paragraph(escape(store), cell8), Paragraph(escape(note), cell8), amount]
           for kind, at, number, store, note, amount in detail_rows],
        colWidths=_widths(detail_rows, font, 8, fixed=(0, 1, 2, 5), flexible={3: 2, 4: 3}, total=width,
                          headers=detail_header),
        repeatRows=1,
    )
    detail.setStyle(grid)
    detail.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 8)]))
    story += [detail, Spacer(1, 5 * mm),
              Paragraph(_("書面による振込通知書の送付は行いません。日時は日本時間です。"), body)]
    doc.build(story)
    return out.getvalue()
