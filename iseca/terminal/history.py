"""店舗利用履歴 of the terminal: the store's payments newest first,
「条件で絞込」 (period, member code), 「もっと見る」, a row's detail and 「取消」."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Payment
from ..money import usage
from ..money.cancellation import cancellation_deadline, refusal_reason
from ..web.access import get_store_payment_or_404
from ..web.history import TerminalFilterForm, make_filter, safe_back
from ..web.inputs import id_arg
from ..web.pages import page_or_fragment
from .blueprint import bp

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
    )
    return page_or_fragment("terminal/history/index.html", "items", **context)


@bp.route("/history/<int:payment_id>")
def history_detail(payment_id: int):
    """A row of the history, tapped: everything about the payment, and 「取消」
    (iseca/web/cancel.py, which comes back here)."""
    payment = get_store_payment_or_404(current_user, payment_id)
    back_url = safe_back(url_for("terminal.history"), url_for("terminal.history"))
    return render_template(
        "terminal/history/detail.html",
        payment=payment,
        deadline=cancellation_deadline(payment),
        refusal=refusal_reason(payment),
        back_url=back_url,
        here=url_for("terminal.history_detail", payment_id=payment.id, back=back_url),
    )
