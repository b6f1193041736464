"""精算 (ISECA窓口): periods with their state and 振込予定日 (edit, suggest,
import the schedule), closing, each business's settlement with search, the
総合振込 file and its CSV, transfers done or failed, and the 利用額明細."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from .. import i18n, outbox
from ..csvexport import ENCODINGS, content_type
from ..csvexport import filename as csv_filename
from ..database import contains_text
from ..dates import holiday_name, period_text, wareki
from ..extensions import db
from ..members import cards
from ..models import Business, PeriodStatus, Settlement, SettlementPeriod, SettlementStatus, utcnow
from ..money import schedule, settlement, statements, zengin
from ..timeutil import jst_date
from ..web.inputs import accepts_files
from .blueprint import bp
from .settlement_forms import (
    MISSING_TRANSFER_DAY,
    ConfirmForm,
    ScheduleUploadForm,
    TransferDateForm,
    TransferDoneForm,
    TransferFailedForm,
)
from .views import csv_encoding


def _staff():
    return current_user._get_current_object()


def _period_or_404(period_id: int) -> SettlementPeriod:
    return db.session.get(SettlementPeriod, period_id) or abort(404)


def _overview():
    """The periods newest first, as (period, (transfers, their total), may be closed now, empty): a
    period that has ended with no payment and no settlement is empty (the list keeps those
    behind a toggle); 「締める」 is offered on the one period whose closing can succeed, the
    earliest open one with payments (empty ones before it close with it)."""
    totals = {pid: (n, total) for pid, n, total in db.session.execute(
        select(Settlement.period_id, func.count(), func.coalesce(func.sum(Settlement.amount), 0))
        .where(Settlement.amount > 0).group_by(Settlement.period_id)
    )}
    settled = set(db.session.scalars(select(Settlement.period_id).distinct()))
    periods = list(db.session.scalars(select(SettlementPeriod).order_by(SettlementPeriod.starts_on.desc())))
    activity = settlement.period_activity([p.id for p in periods if p.status == PeriodStatus.OPEN])
    at = utcnow()
    busy_open = [p.starts_on for p in periods if p.status == PeriodStatus.OPEN and p.id in activity]
    first_busy = min(busy_open) if busy_open else None
    rows = []
    for p in periods:
        ended = settlement.can_close(p, at)
        empty = ended and p.id not in activity and p.id not in settled
        closable = p.status == PeriodStatus.OPEN and ended and p.starts_on == first_busy
        rows.append((p, totals.get(p.id, (0, 0)), closable, empty))
    return rows


@bp.route("/settlements", methods=["GET", "POST"])
@accepts_files("file")
def settlements():
    """精算期間の一覧 and 振込スケジュールの取込 (CSV: all rows or none)."""
    form = ScheduleUploadForm()
    if form.validate_on_submit():
        try:
            parsed = schedule.parse_schedule_csv(cards.decode_csv(form.file.data.read()))
            changed = schedule.import_schedule(parsed, actor=_staff())
        except (schedule.ScheduleError, cards.MemberError) as error:
            db.session.rollback()
            form.file.errors.extend(str(error).split("\n"))
        else:
            db.session.commit()
            dated = sum(1 for r in parsed.rows if r.transfer_date)
            flash(_("振込スケジュールを取り込みました（%(periods)s期間: 振込予定日あり%(dated)s件・未定%(undated)s件、変更%(changed)s件）。",
                    periods=len(parsed.rows), dated=dated, undated=len(parsed.rows) - dated, changed=changed), "success")
            return redirect(url_for("counter.settlements"), code=303)
    failed = list(db.session.scalars(
        select(Settlement).join(SettlementPeriod).where(Settlement.status == SettlementStatus.FAILED)
        .order_by(SettlementPeriod.starts_on.desc(), Settlement.id).limit(100)
    ))
    return render_template("counter/settlements/index.html", form=form, rows=_overview(), failed=failed,
                           suggest=schedule.suggest_transfer_date, setup_refusal=zengin.setup_refusal()), \
        422 if form.errors else 200


@bp.route("/settlements/<int:period_id>", methods=["GET", "POST"])
def settlement_period(period_id: int):
    """One period: 振込予定日 (edit or take the suggestion), its settlements
    (search by business), the transfer file and the transfer state."""
    period = _period_or_404(period_id)
    suggestion = schedule.suggest_transfer_date(period)
    form = TransferDateForm(data={"transfer_date": period.transfer_date})
    if request.method == "GET" and request.args.get("suggest"):
        form.transfer_date.data = suggestion
    if form.validate_on_submit():
        try:
            changed = schedule.set_transfer_date(period, form.transfer_date.data, actor=_staff())
        except schedule.ScheduleError as error:
            db.session.rollback()
            form.transfer_date.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("振込予定日を%(date)sにしました。", date=wareki(period.transfer_date)) if changed
                  else _("振込予定日は変わっていません。"), "success")
            return redirect(url_for("counter.settlement_period", period_id=period.id), code=303)
    q = request.args.get("q", "").strip()
    stmt = (select(Settlement).join(Business).where(Settlement.period_id == period.id).order_by(Business.code))
    if q:
        stmt = stmt.where(contains_text(Business.name, q) | contains_text(Business.code, q))
    rows = list(db.session.scalars(stmt))
    closed = period.status == PeriodStatus.CLOSED
    plan = settlement.closing_plan(period) if period.status == PeriodStatus.OPEN else None
    closable = plan is not None and settlement.may_close_now(period, utcnow(), plan)
    return render_template(
        "counter/settlements/period.html", period=period, form=form, rows=rows, q=q, suggestion=suggestion,
        status_text=statements.status_text,
        ready=zengin.transfers(period) if closed else [],
        to_mark=settlement.transfers_to_mark(period) if closed else [],
        setup_problems=zengin.setup_problems(), setup_refusal=zengin.setup_refusal(),
        left_out=zengin.left_out(period) if closed else [],
        holiday=holiday_name(suggestion), confirm=ConfirmForm(),
        closable=closable, blocked_by=plan.blocked_by if plan is not None else None,
    ), 422 if form.errors else 200


@bp.route("/settlements/<int:period_id>/close", methods=["GET", "POST"])
def settlement_close(period_id: int):
    """締め処理, after a confirmation page that says what will be closed: the
    period (its payments, businesses and the adjustments it applies) and the
    empty periods before it, closed with it. Refused, before the
    confirmation, while an earlier period with payments is open."""
    period = _period_or_404(period_id)
    form = ConfirmForm()
    refusal = None
    if form.validate_on_submit():
        try:
            outcomes = settlement.close_with_empty_before(period, actor=_staff())
        except settlement.SettlementError as error:
            db.session.rollback()
            refusal = str(error)
        else:
            db.session.commit()
            done = [o for o in outcomes if o.closed_now]
            mine = outcomes[-1]
            if mine.closed_now and len(done) > 1:
                flash(_("%(period)sを締めました（%(businesses)s事業者、振込合計%(total)s）。取引のない前の%(empty)s期間もあわせて締めました。",
                        period=period_text(period), businesses=mine.settlements, total=i18n.yen(mine.total),
                        empty=len(done) - 1), "success")
            elif mine.closed_now:
                flash(_("%(period)sを締めました（%(businesses)s事業者、振込合計%(total)s）。", period=period_text(period),
                        businesses=mine.settlements, total=i18n.yen(mine.total)), "success")
            else:
                flash(_("この期間はすでに締められています（二重には締めていません）。"), "info")
            return redirect(url_for("counter.settlement_period", period_id=period.id), code=303)
    plan = settlement.closing_plan(period) if period.status == PeriodStatus.OPEN else None
    if period.status != PeriodStatus.OPEN:
        refusal = refusal or _("この期間はすでに締められています。")
    elif not settlement.can_close(period, utcnow()):
        refusal = refusal or _("この期間はまだ終わっていないため締められません。")
    elif plan.blocked_by is not None:
        refusal = refusal or _("前の期間（%(period)s）に決済があり、まだ締められていません。先にその期間を締めてください。",
                               period=period_text(plan.blocked_by))
    return render_template("counter/settlements/close.html", period=period, form=form, refusal=refusal, plan=plan), \
        422 if refusal and request.method == "POST" else 200


@bp.route("/settlements/close", methods=["GET", "POST"])
def settlements_close_ended():
    """終了した期間をすべて締める (oldest first, as `flask settlement close` does), after a confirmation."""
    form = ConfirmForm()
    if form.validate_on_submit():
        outcomes = [o for o in settlement.close_ended_periods(actor=_staff()) if o.closed_now]
        if outcomes:
            flash(_("%(periods)s期間を締めました（%(settlements)s件の精算、振込合計%(total)s）。", periods=len(outcomes),
                    settlements=sum(o.settlements for o in outcomes), total=i18n.yen(sum(o.total for o in outcomes))),
                  "success")
        else:
            flash(_("締める期間はありませんでした。"), "info")
        return redirect(url_for("counter.settlements"), code=303)
    due = settlement.ended_open_periods(utcnow())
    activity = settlement.period_activity([p.id for p in due])
    return render_template("counter/settlements/close_all.html", form=form, due=due,
                           busy=[(p, activity[p.id]) for p in due if p.id in activity],
                           empty=[p for p in due if p.id not in activity])


@bp.route("/settlements/<int:period_id>/transfer-file", methods=["POST"])
def settlement_prepare(period_id: int):
    """振込データ作成: take each business's bank account now (once); incomplete ones are left out and carried."""
    period = _period_or_404(period_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        prepared = zengin.prepare_transfers(period, actor=_staff())
    except zengin.ZenginError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        outbox.send_after_commit(prepared.messages)
        message = _("振込データを作成しました（%(count)s件）。", count=prepared.ready)
        if prepared.left_out:
            message += _("口座情報に不備のある%(count)s事業者は除外し、次回に繰り越しました。", count=len(prepared.left_out))
        flash(message, "success" if not prepared.left_out else "warning")
    return redirect(url_for("counter.settlement_period", period_id=period.id), code=303)


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/settlements/<int:period_id>/zengin.txt")
def settlement_zengin(period_id: int):
    """The 総合振込 file (Zengin format, CP932, 120-byte records with CRLF)."""
    period = _period_or_404(period_id)
    try:
        data = zengin.transfer_file(period)
    except zengin.ZenginSetupError as error:
        flash(str(error), "danger")
        return redirect(url_for("counter.settlement_period", period_id=period.id), code=303)
    except zengin.ZenginError:
        abort(404)
    return _download(data, f"sogofurikomi_{period.starts_on:%Y%m%d}.txt", "text/plain")


@bp.route("/settlements/<int:period_id>/transfers.csv")
def settlement_transfers_csv(period_id: int):
    """The same transfers as a readable CSV."""
    period = _period_or_404(period_id)
    if request.args.get("encoding", "cp932") not in ENCODINGS:
        abort(404)
    encoding = csv_encoding()
    try:
        data = zengin.transfer_csv(period, encoding)
    except zengin.ZenginError:
        abort(404)
    return _download(data, csv_filename(f"furikomi_{period.starts_on:%Y%m%d}", encoding), content_type(encoding))


@bp.route("/settlements/<int:period_id>/done", methods=["GET", "POST"])
def settlement_done(period_id: int):
    """振込完了 for the transfers of the period's file not done yet, with the
    day the bank paid (today by default; not in the future, not before the
    file was made); each business is mailed that day."""
    period = _period_or_404(period_id)
    to_mark = settlement.transfers_to_mark(period)
    today = jst_date(utcnow())
    form = TransferDoneForm(data={"transferred_on": today})
    if to_mark and form.validate_on_submit():
        messages: list = []
        try:
            if form.transferred_on.data is None:  # spaces only
                raise settlement.SettlementError(str(MISSING_TRANSFER_DAY))
            rows = settlement.mark_transferred(period, on=form.transferred_on.data, actor=_staff(), messages=messages)
        except settlement.SettlementError as error:
            db.session.rollback()
            form.transferred_on.errors.append(str(error))
        else:
            db.session.commit()
            outbox.send_after_commit(messages)
            flash(_("%(count)s件を振込済（振込日 %(date)s）にし、振込完了通知を送りました。", count=len(rows),
                    date=wareki(form.transferred_on.data)) if rows
                  else _("振込済にするものはありませんでした。"), "success")
            return redirect(url_for("counter.settlement_period", period_id=period.id), code=303)
    return render_template("counter/settlements/done.html", period=period, form=form, to_mark=to_mark, today=today,
                           made_on=settlement.file_made_on(to_mark)), 422 if form.errors else 200


@bp.route("/settlements/transfers/<int:settlement_id>/failed", methods=["GET", "POST"])
def settlement_failed(settlement_id: int):
    """振込不能 for one transfer, with the reason: carried over, the business mailed."""
    row = db.session.get(Settlement, settlement_id) or abort(404)
    form = TransferFailedForm()
    if form.validate_on_submit():
        messages: list = []
        try:
            changed = settlement.mark_failed(row, form.reason.data, actor=_staff(), messages=messages)
        except settlement.SettlementError as error:
            db.session.rollback()
            form.reason.errors.append(str(error))
        else:
            db.session.commit()
            outbox.send_after_commit(messages)
            flash(_("%(business)sの振込を振込不能にし、次回へ繰り越しました。", business=row.business.name) if changed
                  else _("この振込はすでに振込不能か、振込不能にできない状態です。"), "success" if changed else "info")
            return redirect(url_for("counter.settlement_period", period_id=row.period_id), code=303)
    return render_template("counter/settlements/failed.html", row=row, form=form), \
        422 if form.errors else 200


@bp.route("/settlements/transfers/<int:settlement_id>/meisai.<any(pdf, csv):ext>")
def settlement_statement(settlement_id: int, ext: str):
    """A business's 利用額明細 (PDF or CSV), as the business downloads it."""
    row = db.session.get(Settlement, settlement_id) or abort(404)
    st = statements.statement(row)
    if ext == "pdf":
        return _download(statements.statement_pdf(st), statements.filename(st, "pdf"), "application/pdf")
    if request.args.get("encoding", "cp932") not in ENCODINGS:
        abort(404)
    encoding = csv_encoding()
    return _download(statements.statement_csv(st, encoding), statements.filename(st, "csv", encoding),
                     content_type(encoding))
