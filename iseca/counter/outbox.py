"""Counter console: the e-mail outbox (送信済・未送信・送信失敗) and 再送."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import audit
from .. import outbox as mail
from ..extensions import db
from ..models import OutboxMessage, OutboxStatus
from ..web.forms import ButtonForm
from ..web.inputs import page_arg
from .blueprint import bp

PER_PAGE = 50



@bp.route("/outbox")
def outbox():
    """メール送信状況: newest first, by status."""
    status = request.args.get("status", "")
    stmt = select(OutboxMessage)
    if status in {s.value for s in OutboxStatus}:
        stmt = stmt.where(OutboxMessage.status == OutboxStatus(status))
    else:
        status = ""
    pagination = db.paginate(stmt.order_by(OutboxMessage.id.desc()), page=page_arg(), per_page=PER_PAGE, error_out=False)
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template(
        "counter/outbox.html", pagination=pagination, status=status, counts=counts,
        form=ButtonForm(), configured=mail.is_configured(),
        max_attempts=int(current_app.config.get("MAIL_MAX_ATTEMPTS", 8)),
    )


@bp.route("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    """One message as it was (or will be) sent."""
    return render_template("counter/outbox_message.html", message=db.get_or_404(OutboxMessage, message_id),
                           form=ButtonForm(), configured=mail.is_configured())


@bp.route("/outbox/<int:message_id>/resend", methods=["POST"])
def outbox_resend(message_id: int):
    """再送: back in the queue now, then try to send it."""
    message = db.get_or_404(OutboxMessage, message_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    mail.resend(message)
    audit.record("mail_resend", message, {"recipient": message.recipient, "subject": message.subject})
    db.session.commit()
    mail.send_after_commit([message])
    db.session.refresh(message)
    if message.status == OutboxStatus.SENT:
        flash(_("メールを送信しました。"), "success")
    elif not mail.is_configured():
        flash(_("送信キューに戻しました（SMTPサーバーが設定されていないため、まだ送信されません）。"), "warning")
    else:
        flash(_("送信できませんでした: %(error)s", error=message.last_error), "danger")
    return redirect(request.form.get("back") == "list" and url_for("counter.outbox") or
                    url_for("counter.outbox_message", message_id=message.id), code=303)


@bp.route("/outbox/send", methods=["POST"])
def outbox_send_now():
    """今すぐ送信: send every message that is due."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    if not mail.is_configured():
        flash(_("SMTPサーバーが設定されていないため、送信できません。"), "warning")
        return redirect(url_for("counter.outbox"), code=303)
    counts = mail.send_pending()
    flash(_("送信しました: 成功 %(sent)s通、失敗 %(failed)s通。", sent=counts["sent"], failed=counts["failed"]), "success" if not counts["failed"] else "warning")
    return redirect(url_for("counter.outbox"), code=303)
