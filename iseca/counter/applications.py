"""Counter console: the queue of merchant applications, their review
(承認 / 却下) and paper applications keyed in at the counter."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from .. import outbox
from ..extensions import db
from ..merchants import onboarding
from ..models import ApplicationStatus, Business, MerchantApplication
from ..money import banking
from ..web.forms import ApplicationForm, ButtonForm, JapaneseForm, bank_names, handle_store_buttons, submit_application_form
from ..web.inputs import page_arg
from .blueprint import bp

PER_PAGE = 30


class RejectForm(JapaneseForm):
    reason = TextAreaField(
        _l("却下の理由（申込者にメールでお知らせします）"),
        validators=[DataRequired(message=_l("却下の理由を入力してください。")), Length(max=2000)],
    )


@bp.route("/applications")
def applications():
    """申込一覧: 受付 first (oldest first), or all of one status."""
    status = request.args.get("status", "received")
    stmt = select(MerchantApplication)
    if status in {s.value for s in ApplicationStatus}:
        stmt = stmt.where(MerchantApplication.status == ApplicationStatus(status))
        order = MerchantApplication.submitted_at.asc() if status == "received" else MerchantApplication.reviewed_at.desc()
    else:
        status = "all"
        order = MerchantApplication.submitted_at.desc()
    pagination = db.paginate(stmt.order_by(order, MerchantApplication.id), page=page_arg(), per_page=PER_PAGE, error_out=False)
    counts = dict(db.session.execute(
        select(MerchantApplication.status, func.count()).group_by(MerchantApplication.status)
    ).all())
    return render_template("counter/applications.html", pagination=pagination, status=status, counts=counts)


@bp.route("/applications/<int:application_id>")
def application(application_id: int):
    """申込の内容と審査."""
    app_ = db.get_or_404(MerchantApplication, application_id)
    return _detail(app_, ButtonForm(), RejectForm())


def _detail(app_: MerchantApplication, approve_form, reject_form, status: int = 200):
    business = db.session.get(Business, app_.business_id) if app_.business_id else None
    return render_template(
        "counter/application.html", application=app_, approve_form=approve_form, reject_form=reject_form,
        business=business,
        bank_line=banking.describe(app_.data.get("bank", {}), mask=False), eligibility=onboarding.ELIGIBILITY,
    ), status


@bp.route("/applications/<int:application_id>/approve", methods=["GET", "POST"])
def approve(application_id: int):
    """承認: asked once more (GET), then accounts, registers and mails in one
    transaction (POST); a second click does nothing."""
    app_ = db.get_or_404(MerchantApplication, application_id)
    if request.method == "GET":
        if app_.status != ApplicationStatus.RECEIVED:
            return redirect(url_for("counter.application", application_id=application_id), code=303)
        return render_template("counter/application_approve.html", application=app_, form=ButtonForm(),
                               d=app_.data, bank_line=banking.describe(app_.data.get("bank", {}), mask=False))
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        approval = onboarding.approve_application(app_, current_user._get_current_object())
    except onboarding.AlreadyReviewed:
        db.session.rollback()
        flash(_("この申込はすでに審査済みです。"), "info")
        return redirect(url_for("counter.application", application_id=application_id), code=303)
    db.session.commit()
    outbox.send_after_commit(approval.messages)
    flash(
        _("承認しました。事業者 %(business)s、店舗 %(stores)s のアカウントを開設し、お知らせのメール%(mails)s通を送信キューに入れました。",
          business=approval.business.code, stores=_("・").join(s.code for s in approval.stores),
          mails=len(approval.messages)),
        "success",
    )
    return redirect(url_for("counter.merchant", business_id=approval.business.id), code=303)


@bp.route("/applications/<int:application_id>/reject", methods=["POST"])
def reject(application_id: int):
    """却下: the reason is mailed to the applicant."""
    app_ = db.get_or_404(MerchantApplication, application_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _detail(app_, ButtonForm(), form)
    try:
        message = onboarding.reject_application(app_, current_user._get_current_object(), form.reason.data.strip())
    except onboarding.AlreadyReviewed:
        db.session.rollback()
        flash(_("この申込はすでに審査済みです。"), "info")
        return redirect(url_for("counter.application", application_id=application_id), code=303)
    db.session.commit()
    outbox.send_after_commit([message])
    flash(_("却下しました。理由を申込者にメールでお知らせします。"), "success")
    return redirect(url_for("counter.applications"), code=303)


@bp.route("/applications/new", methods=["GET", "POST"])
def new_application():
    """書面での申込を窓口で入力する (the same form as online)."""
    form = ApplicationForm()
    app_ = submit_application_form(form, source="paper")
    if app_ is not None:
        flash(_("書面の申込を登録しました。内容を確認して承認してください。"), "success")
        return redirect(url_for("counter.application", application_id=app_.id), code=303)
    return render_template("counter/application_new.html", form=form, **bank_names(form))


def _form_data(data: dict) -> dict:
    """An application as stored, as the values of its form (to correct it)."""
    business, bank = data.get("business", {}), data.get("bank", {})
    declared = set(data.get("eligibility", []))
    values = {key: business.get(key, "") for key in
              ("name", "name_kana", "representative", "postal_code", "address", "phone", "email")}
    values.update({key: bank.get(key, "") for key in
                   ("bank_code", "branch_code", "account_type", "account_number", "account_holder_kana")})
    values["stores"] = [dict(store) for store in data.get("stores", [])] or [{}]
    for number, requirement in enumerate(onboarding.ELIGIBILITY, 1):
        values[f"eligibility_{number}"] = requirement in declared
    values["agree"] = bool(data.get("agreed"))
    return values


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
def edit_application(application_id: int):
    """申込内容の修正: before its review, with the same form as the public application."""
    app_ = db.get_or_404(MerchantApplication, application_id)
    if app_.status != ApplicationStatus.RECEIVED:
        flash(_("審査済みの申込は修正できません。"), "info")
        return redirect(url_for("counter.application", application_id=application_id), code=303)
    form = ApplicationForm(data=_form_data(app_.data)) if request.method == "GET" else ApplicationForm()
    if request.method == "POST" and not handle_store_buttons(form) and form.validate_on_submit():
        try:
            changed = onboarding.update_application(app_, form.as_data(), current_user._get_current_object())
        except onboarding.AlreadyReviewed:
            db.session.rollback()
            flash(_("この申込はすでに審査済みのため、修正できませんでした。"), "info")
            return redirect(url_for("counter.application", application_id=application_id), code=303)
        db.session.commit()
        flash(_("申込の内容を修正しました。") if changed else _("変更はありませんでした。"), "success")
        return redirect(url_for("counter.application", application_id=application_id), code=303)
    status = 422 if request.method == "POST" and form.errors else 200
    return render_template("counter/application_edit.html", form=form, application=app_, **bank_names(form)), status
