"""店舗利用履歴 of the terminal: the store's payments newest first,
「条件で絞込」 (period, member code), 「もっと見る」, a row's detail and 「取消」."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from .. import usage
from ..web.access import get_store_payment_or_404
from ..web.inputs import id_arg
from ..extensions import db, limiter
from ..history_web import (
    TerminalFilterForm,
    cancel_failed,
    cancel_request,
    make_filter,
    wants_fragment,
    reauth_key,
    reauth_limit,
    safe_back,
)
from ..models import Payment
from . import bp

BATCH = 30


def _cursor(f: usage.UsageFilter):
    """The (created_at, id) after which 「もっと見る」 continues, if the
    `before` payment is one this store may see."""
    before = id_arg("before")
    if before is None:
        return None
    row = db.session.execute(
        select(Payment.created_at, Payment.id).where(Payment.id == before, *usage.conditions(f))
    ).first()
    return (row.created_at, row.id) if row else None


@bp.route("/history")
def history():
    """店舗利用履歴: newest first; 「もっと見る」 loads the next rows (htmx
    appends them; without JavaScript it is a plain link)."""
    form = TerminalFilterForm(request.args)
    rows, next_url = [], None
    args: dict[str, str] = {}
    if form.validate():
        args = form.url_args()
        f = make_filter(current_user, form)
        fetched = usage.rows_before(f, _cursor(f), BATCH + 1)
        rows = fetched[:BATCH]
        if len(fetched) > BATCH:
            next_url = url_for("terminal.history", before=rows[-1].id, **args)
    context = dict(
        form=form,
        rows=rows,
        next_url=next_url,
        args=args,
        filtered=bool(args),
        continued="before" in request.args,
        back=request.full_path.rstrip("?"),
        status_labels=usage.STATUS_LABELS,
    )
    if wants_fragment():
        return render_block("terminal/history/index.html", "items", **context)
    return render_template("terminal/history/index.html", **context)


@bp.route("/history/<int:payment_id>")
def history_detail(payment_id: int):
    """A row of the history, tapped: everything about the payment, and 「取消」."""
    from ..cancellation import cancellation_deadline, refusal_reason

    payment = get_store_payment_or_404(current_user, payment_id)
    return render_template(
        "terminal/history/detail.html",
        payment=payment,
        deadline=cancellation_deadline(payment),
        refusal=refusal_reason(payment),
        back_url=safe_back(url_for("terminal.history"), url_for("terminal.history")),
    )


@bp.route("/history/<int:payment_id>/cancel", methods=["GET", "POST"])
@limiter.limit(reauth_limit, key_func=reauth_key, methods=["POST"], deduct_when=cancel_failed, scope="reauth")
def history_cancel(payment_id: int):
    """取消 from the terminal, after a confirmation."""
    payment = get_store_payment_or_404(current_user, payment_id)
    back = safe_back(url_for("terminal.history"), url_for("terminal.history"))
    detail = url_for("terminal.history_detail", payment_id=payment.id, back=back)
    return cancel_request(payment, template="terminal/history/cancel.html", back_url=detail, done_url=detail)
