"""Counter console: the e-mail outbox (送信済・未送信・送信失敗) and 再送."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from .. import audit
from .. import outbox as mail
from ..web.inputs import page_arg
from ..extensions import db
from ..models import OutboxMessage, OutboxStatus
from ..public.forms import JapaneseForm
from . import bp

PER_PAGE = 50

STATUS_LABELS = {
    OutboxStatus.PENDING: "未送信",
    OutboxStatus.SENT: "送信済",
    OutboxStatus.FAILED: "送信失敗",
}


class OutboxActionForm(JapaneseForm):
    """再送 / 今すぐ送信 (CSRF only)."""


def get_message_or_404(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return message


@bp.route("/outbox")
def outbox():
    """メール送信状況: newest first, by status."""
    status = request.args.get("status", "")
    stmt = select(OutboxMessage)
    if status in {s.value for s in OutboxStatus}:
        stmt = stmt.where(OutboxMessage.status == OutboxStatus(status))
    else:
        status = ""
    page = page_arg()
    pagination = db.paginate(stmt.order_by(OutboxMessage.id.desc()), page=page, per_page=PER_PAGE, error_out=False)
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template(
        "counter/outbox.html", pagination=pagination, status=status, counts=counts, labels=STATUS_LABELS,
        form=OutboxActionForm(), configured=mail.is_configured(),
        max_attempts=int(current_app.config.get("MAIL_MAX_ATTEMPTS", 8)),
    )


@bp.route("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    """One message as it was (or will be) sent."""
    return render_template("counter/outbox_message.html", message=get_message_or_404(message_id),
                           labels=STATUS_LABELS, form=OutboxActionForm(), configured=mail.is_configured())


@bp.route("/outbox/<int:message_id>/resend", methods=["POST"])
def outbox_resend(message_id: int):
    """再送: back in the queue now, then try to send it."""
    message = get_message_or_404(message_id)
    if not OutboxActionForm().validate_on_submit():
        abort(400)
    mail.resend(message)
    audit.record("mail_resend", message, {"recipient": message.recipient, "subject": message.subject})
    db.session.commit()
    mail.send_after_commit([message])
    db.session.refresh(message)
    if message.status == OutboxStatus.SENT:
        flash("メールを送信しました。", "success")
    elif not mail.is_configured():
        flash("送信キューに戻しました（SMTPサーバーが設定されていないため、まだ送信されません）。", "warning")
    else:
        flash(f"送信できませんでした: {message.last_error}", "danger")
    return redirect(request.form.get("back") == "list" and url_for("counter.outbox") or
                    url_for("counter.outbox_message", message_id=message.id), code=303)


@bp.route("/outbox/send", methods=["POST"])
def outbox_send_now():
    """今すぐ送信: send every message that is due."""
    if not OutboxActionForm().validate_on_submit():
        abort(400)
    if not mail.is_configured():
        flash("SMTPサーバーが設定されていないため、送信できません。", "warning")
        return redirect(url_for("counter.outbox"), code=303)
    counts = mail.send_pending()
    flash(f"送信しました: 成功 {counts['sent']}通、失敗 {counts['failed']}通。", "success" if not counts["failed"] else "warning")
    return redirect(url_for("counter.outbox"), code=303)
