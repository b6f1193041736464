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

from flask import current_app
from sqlalchemy import case, func, select

from . import banking, schedule
from .csvexport import CsvStream
from .extensions import db
from .models import (
    Payment, PaymentStatus, PeriodStatus, Settlement, SettlementAdjustment, SettlementPeriod, SettlementStatus, Store,
)
from .timeutil import JST


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
        return "振込済"
    if row.status == SettlementStatus.FAILED:
        return "振込不能→次回繰越"
    if row.status == SettlementStatus.CARRIED:
        return "次回繰越" if row.amount < 0 else "振込なし"
    return "振込予定" if row.period.transfer_date else "確定"


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
        lines.append(Line("決済", p.created_at, p.number, p.store.code, p.store.name, p.amount))
        if p.status == PaymentStatus.CANCELLED and p.cancel_period_id == period.id:
            cancelled_in_period.append(p)
    for p in sorted(cancelled_in_period, key=lambda p: (p.cancelled_at, p.id)):
        t = totals(p.store)
        t.cancellations_count += 1
        t.cancellations += p.amount
        lines.append(Line("取消", p.cancelled_at, p.number, p.store.code, p.store.name, -p.amount, "期間内の取消"))
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
        lines.append(Line("調整", adjustment.created_at, p.number if p else "", p.store.code if p else "",
                          p.store.name if p else "", adjustment.amount, adjustment.reason))

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
        period_text=schedule.period_text(period),
        starts_on=period.starts_on,
        ends_on=period.ends_on,
        status=status_text(row),
        transfer_date=period.transfer_date,
        transfer_date_text=schedule.wareki(period.transfer_date),
        transferred_on=row.transferred_at.astimezone(JST).date() if row.transferred_at else None,
        transferor=current_app.config["TRANSFEROR_NAME"],
        bank_account=banking.describe(snapshot) if snapshot.get("bank_code") else "未登録",
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
    return [Running(schedule.period_text(p), p.starts_on, int(paid), int(cancel)) for p, paid, cancel in rows]


def schedule_rows() -> list[SettlementPeriod]:
    """振込スケジュール: every period the city has a row for, as the guide lists them."""
    return list(db.session.scalars(select(SettlementPeriod).order_by(SettlementPeriod.starts_on)))


def filename(st: Statement, ext: str) -> str:
    return f"riyougaku-meisai_{st.business_code}_{st.starts_on:%Y%m%d}-{st.ends_on:%Y%m%d}.{ext}"


def summary_rows(st: Statement) -> list[tuple[str, int]]:
    """The figures in the order every form of the statement lists them."""
    if st.store_only:
        return [("決済合計", st.payments), ("取消合計", -st.cancellations), ("調整額", st.adjustments),
                ("店舗分合計", st.amount)]
    return [("決済合計", st.payments), ("取消合計", -st.cancellations), ("調整額", st.adjustments),
            (f"手数料（{st.fee_rate_text}）", -st.fee), ("振込金額", st.amount)]


CSV_HEADER = ["区分", "日時（日本時間）", "取引番号", "店舗コード", "店舗名", "金額", "内容"]


def statement_csv(st: Statement, encoding: str = "cp932") -> bytes:
    """The statement as CSV (CP932 for Excel or UTF-8 with BOM): every line, then the figures."""
    def rows():
        for line in st.lines:
            at = line.at.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S") if line.at else ""
            yield [line.kind, at, line.number, line.store_code, line.store_name, line.amount, line.note]
        for name, value in summary_rows(st):
            yield [name, "", "", "", "", value, ""]
        yield ["売上対象期間", "", "", "", "", "", st.period_text]
        yield ["振込予定日", "", "", "", "", "", st.transfer_date_text]
        yield ["振込人名義", "", "", "", "", "", st.transferor]
    return b"".join(CsvStream(encoding, identifiers=(2,)).chunks(CSV_HEADER, rows()))  # 取引番号 keeps its digits in Excel


def yen(value: int) -> str:
    return f"{value:,}円"


def statement_pdf(st: Statement) -> bytes:
    """The statement as an A4 PDF with an embedded Japanese font."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from .qr import japanese_font

    font = japanese_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=14)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=10)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title="利用額明細", author="ISECA窓口")
    grid = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f3ee")),
        ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
    ])
    who = f"{st.business_name}（事業者コード {st.business_code}）"
    if st.store_only:
        who += f"　{st.store_only} 分"
    story = [
        Paragraph("利用額明細", title),
        Paragraph(who, body),
        Paragraph(f"売上対象期間　{st.period_text}", body),
        Paragraph(f"振込予定日　{st.transfer_date_text}　状態　{st.status}"
                  + (f"　振込日　{schedule.wareki(st.transferred_on)}" if st.transferred_on else ""), body),
        Paragraph(f"振込先　{st.bank_account}　振込人名義　{st.transferor}", body),
        Spacer(1, 4 * mm),
    ]
    figures = Table([["項目", "金額"]] + [[name, yen(value)] for name, value in summary_rows(st)],
                    colWidths=[60 * mm, 40 * mm])
    figures.setStyle(grid)
    story += [figures, Spacer(1, 5 * mm), Paragraph("店舗別", body)]
    per_store = Table(
        [["店舗コード", "店舗名", "決済件数", "決済額", "取消件数", "取消額", "調整額"]]
        + [[s.code, s.name, f"{s.payments_count}件", yen(s.payments), f"{s.cancellations_count}件",
            yen(-s.cancellations), yen(s.adjustments)] for s in st.stores],
        colWidths=[20 * mm, 50 * mm, 16 * mm, 26 * mm, 16 * mm, 24 * mm, 24 * mm], repeatRows=1,
    )
    per_store.setStyle(grid)
    per_store.setStyle(TableStyle([("ALIGN", (2, 1), (-1, -1), "RIGHT")]))
    story += [per_store, Spacer(1, 5 * mm), Paragraph("明細", body)]
    detail = Table(
        [["区分", "日時", "取引番号", "店舗", "内容", "金額"]]
        + [[line.kind, line.at.astimezone(JST).strftime("%Y/%m/%d %H:%M") if line.at else "", line.number,
            line.store_name, Paragraph(line.note, small), yen(line.amount)] for line in st.lines],
        colWidths=[11 * mm, 27 * mm, 38 * mm, 32 * mm, 46 * mm, 26 * mm], repeatRows=1,
    )
    detail.setStyle(grid)
    detail.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [detail, Spacer(1, 5 * mm),
              Paragraph("書面による振込通知書の送付は行いません。日時は日本時間です。", body)]
    doc.build(story)
    return out.getvalue()
