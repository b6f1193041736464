"""Counter console: merchants (事業者 and their stores): detail, publication
to 「使えるお店」, kit hand-over, password reset, suspension."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import accounts, audit, outbox
from ..database import contains_text
from ..extensions import db
from ..merchants import onboarding, profiles, suspension
from ..merchants.profiles import bank_of
from ..models import (
    Account,
    AccountKind,
    Business,
    KitHandover,
    KitItem,
    MerchantStatus,
    OutboxMessage,
    Payment,
    Settlement,
    SettlementPeriod,
    Store,
)
from ..money import banking, statements
from ..timeutil import today_jst
from ..web import audit as web_audit
from ..web.forms import ButtonForm, JapaneseForm, bank_names
from ..web.inputs import JapaneseDateField, WholeNumberField, as_id, page_arg
from ..web.profile_forms import StaffBusinessForm, StaffStoreForm
from .blueprint import bp

PER_PAGE = 30
SETTLEMENTS_SHOWN = 24  # a year of periods


class KitForm(JapaneseForm):
    store_id = SelectField(_l("店舗"), coerce=str, validate_choice=False, validators=[Optional()])
    handed_on = JapaneseDateField(_l("受け渡し日"), validators=[InputRequired(message=_l("受け渡し日を入力してください。"))])
    flag = WholeNumberField(_l("のぼり旗"), default=0, maximum=50, message=_l("0〜50の数字で入力してください。"), validators=[Optional(), NumberRange(min=0, max=50, message=_l("0〜50で入力してください。"))])
    qr_sheet = WholeNumberField(_l("掲示用QRコード台紙"), default=0, maximum=50, message=_l("0〜50の数字で入力してください。"), validators=[Optional(), NumberRange(min=0, max=50, message=_l("0〜50で入力してください。"))])
    sticker_round = WholeNumberField(_l("ステッカー（丸型）"), default=0, maximum=50, message=_l("0〜50の数字で入力してください。"), validators=[Optional(), NumberRange(min=0, max=50, message=_l("0〜50で入力してください。"))])
    sticker_square = WholeNumberField(_l("ステッカー（角型）"), default=0, maximum=50, message=_l("0〜50の数字で入力してください。"), validators=[Optional(), NumberRange(min=0, max=50, message=_l("0〜50で入力してください。"))])

    def items(self) -> dict[KitItem, int]:
        return {
            KitItem.FLAG: self.flag.data or 0,
            KitItem.QR_SHEET: self.qr_sheet.data or 0,
            KitItem.STICKER_ROUND: self.sticker_round.data or 0,
            KitItem.STICKER_SQUARE: self.sticker_square.data or 0,
        }


def get_merchant_account_or_404(account_id: int) -> Account:
    """A store or business account (never staff or members from these pages)."""
    account = db.session.get(Account, account_id)
    if account is None or account.kind not in (AccountKind.STORE, AccountKind.BUSINESS):
        abort(404)
    return account


def _kit_form(business: Business) -> KitForm:
    form = KitForm()
    form.store_id.choices = [("", _("事業者全体（店舗を特定しない）"))] + [(str(s.id), _("%(name)s（%(code)s）", name=s.name, code=s.code)) for s in business.stores]
    if request.method == "GET":
        form.handed_on.data = today_jst()
    return form


@bp.route("/merchants")
def merchants():
    """加盟店一覧: businesses with their stores; search by name or code."""
    q = (request.args.get("q") or "").strip()[:100]
    stmt = select(Business)
    if q:
        stmt = stmt.where(or_(
            contains_text(Business.name, q), contains_text(Business.code, q), contains_text(Business.name_kana, q),
            Business.id.in_(select(Store.business_id).where(or_(contains_text(Store.name, q),
                                                                contains_text(Store.code, q)))),
        ))
    pagination = db.paginate(stmt.order_by(Business.code), page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("counter/merchants.html", pagination=pagination, q=q)


@bp.route("/merchants/<int:business_id>")
def merchant(business_id: int):
    """加盟店の詳細: stores, accounts, bank account, kit hand-over."""
    business = db.get_or_404(Business, business_id)
    return _merchant_page(business, _kit_form(business))


def _merchant_page(business: Business, kit_form: KitForm):
    handovers = list(db.session.scalars(
        select(KitHandover).where(KitHandover.business_id == business.id)
        .order_by(KitHandover.handed_on.desc(), KitHandover.id.desc())
    ))
    stores = {s.id: s for s in business.stores}
    warnings = {s.id: onboarding.publication_warnings(s) for s in business.stores if not s.is_published}
    store_ids = list(stores)
    recent_payments = list(db.session.scalars(
        select(Payment).where(Payment.store_id.in_(store_ids)).order_by(Payment.id.desc()).limit(20)
    )) if store_ids else []
    addresses = {business.email} | {a.email for a in accounts.merchant_accounts(business) if a.email}
    mails = list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient.in_(addresses)).order_by(OutboxMessage.id.desc()).limit(20)
    ))
    audit_rows = [tuple(r) for r in db.session.execute(
        audit.search(audit.AuditQuery(business_ids=[business.id])).limit(20))]
    settlements = list(db.session.scalars(
        select(Settlement).join(SettlementPeriod, SettlementPeriod.id == Settlement.period_id)
        .where(Settlement.business_id == business.id)
        .order_by(SettlementPeriod.starts_on.desc(), Settlement.id.desc()).limit(SETTLEMENTS_SHOWN)
    ))
    return render_template(
        "counter/merchant.html", business=business, accounts=accounts.merchant_accounts(business),
        publication_warnings=warnings, recent_payments=recent_payments, mails=mails, audit_rows=audit_rows,
        action_form=ButtonForm(), kit_form=kit_form, handovers=handovers, stores=stores,
        bank_line=banking.describe(bank_of(business), mask=False),
        settlements=settlements,
        status_text=statements.status_text,
    )


@bp.route("/merchants/<int:business_id>/kit", methods=["POST"])
def kit_handover(business_id: int):
    """加盟店キットの受け渡しを記録する."""
    business = db.get_or_404(Business, business_id)
    form = _kit_form(business)
    if form.validate_on_submit():
        items = form.items()
        if not any(q > 0 for q in items.values()):
            form.flag.errors = list(form.flag.errors) + [_("受け渡した品の数量を入力してください。")]
        else:
            store = None
            if form.store_id.data:
                store = stores_by_id(business).get(as_id(form.store_id.data))
                if store is None:
                    abort(404)
            onboarding.record_kit_handover(business, items, form.handed_on.data, current_user._get_current_object(), store)
            db.session.commit()
            flash(_("加盟店キットの受け渡しを記録しました。"), "success")
            return redirect(url_for("counter.merchant", business_id=business.id, _anchor="kit"), code=303)
    return _merchant_page(business, form)


def stores_by_id(business: Business) -> dict[int, Store]:
    return {s.id: s for s in business.stores}


def _back(business_id: int, anchor: str):
    return redirect(url_for("counter.merchant", business_id=business_id, _anchor=anchor), code=303)


@bp.route("/stores/<int:store_id>/publish", methods=["POST"])
def publish(store_id: int):
    """「使えるお店」へ公開."""
    store = db.get_or_404(Store, store_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    warnings = onboarding.publication_warnings(store)
    if onboarding.publish_store(store, current_user._get_current_object()):
        db.session.commit()
        flash(_("%(store)sを「使えるお店」に公開しました。", store=store.name), "success")
        for warning in warnings:
            flash(_("ご注意: %(warning)s決済を受けられる準備ができているか、店舗にご確認ください。", warning=warning), "warning")
    else:
        flash(_("%(store)sはすでに公開中です。", store=store.name), "info")
    return _back(store.business_id, "stores")


@bp.route("/stores/<int:store_id>/unpublish", methods=["POST"])
def unpublish(store_id: int):
    """「使えるお店」から外す (非公開)."""
    store = db.get_or_404(Store, store_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if onboarding.unpublish_store(store, current_user._get_current_object()):
        db.session.commit()
        flash(_("%(store)sを「使えるお店」から外しました（非公開）。", store=store.name), "success")
    else:
        flash(_("%(store)sは公開されていません。", store=store.name), "info")
    return _back(store.business_id, "stores")


@bp.route("/accounts/<int:account_id>/reset-password", methods=["POST"])
def reset_password(account_id: int):
    """パスワード再発行: a new initial password, mailed; forced change at next login."""
    account = get_merchant_account_or_404(account_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    _password, message = accounts.reset_password(account, current_user._get_current_object())
    db.session.commit()
    outbox.send_after_commit([message])
    flash(_("%(login)s のパスワードを再発行し、%(email)s あてにメールでお知らせします。", login=account.login, email=message.recipient), "success")
    return _back(account.business_id, "accounts")


@bp.route("/accounts/<int:account_id>/suspend", methods=["POST"])
def suspend(account_id: int):
    """利用停止: the account is logged out everywhere and cannot log in."""
    account = get_merchant_account_or_404(account_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if account.status != MerchantStatus.SUSPENDED:
        accounts.suspend_account(account, current_user._get_current_object())
        db.session.commit()
    flash(_("%(login)s を利用停止にしました。", login=account.login), "success")
    return _back(account.business_id, "accounts")


@bp.route("/accounts/<int:account_id>/reactivate", methods=["POST"])
def reactivate(account_id: int):
    """利用再開."""
    account = get_merchant_account_or_404(account_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if account.status != MerchantStatus.ACTIVE:
        accounts.reactivate_account(account, current_user._get_current_object())
        db.session.commit()
    flash(_("%(login)s の利用を再開しました。", login=account.login), "success")
    return _back(account.business_id, "accounts")


class SuspendForm(JapaneseForm):
    reason = TextAreaField(
        _l("利用停止の理由（事業者にメールでお知らせし、監査ログに残ります）"),
        validators=[DataRequired(message=_l("利用停止の理由を入力してください。")), Length(max=1000)],
    )


def _accounts_of(business: Business, store: Store | None) -> list[Account]:
    """The logins a suspension ends: the business's and all its stores', or one store's."""
    stmt = select(Account).where(Account.business_id == business.id).order_by(Account.kind, Account.login)
    if store is not None:
        stmt = stmt.where(Account.kind == AccountKind.STORE, Account.store_id == store.id)
    return list(db.session.scalars(stmt))


def _suspension_done(business_id: int, message, flash_text: str, anchor: str):
    db.session.commit()
    if message is not None:
        outbox.send_after_commit([message])
    flash(flash_text, "success")
    return _back(business_id, anchor)


@bp.route("/merchants/<int:business_id>/suspend", methods=["GET", "POST"])
def suspend_business(business_id: int):
    """事業者の利用停止, after a confirmation page that asks the reason (mailed
    to the business, kept in the audit log): every store stops taking
    payments and leaves 「使えるお店」, and its logins end."""
    business = db.get_or_404(Business, business_id)
    if business.status == MerchantStatus.SUSPENDED:
        return _back(business.id, "status")
    form = SuspendForm()
    if form.validate_on_submit():
        message = suspension.suspend_business(business, current_user._get_current_object(), form.reason.data)
        return _suspension_done(business.id, message, _("%(business)sを利用停止にしました。決済・「使えるお店」・ログインを止めています。", business=business.name),
                                "status")
    return render_template("counter/suspend.html", form=form, business=business, store=None,
                           stores=list(business.stores), accounts=_accounts_of(business, None),
                           action=url_for("counter.suspend_business", business_id=business.id)), 422 if form.errors else 200


@bp.route("/merchants/<int:business_id>/reactivate", methods=["POST"])
def reactivate_business(business_id: int):
    """事業者の利用再開."""
    business = db.get_or_404(Business, business_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    message = suspension.reactivate_business(business, current_user._get_current_object())
    return _suspension_done(business.id, message, _("%(business)sの利用を再開しました。", business=business.name), "status")


@bp.route("/stores/<int:store_id>/suspend", methods=["GET", "POST"])
def suspend_store(store_id: int):
    """店舗の利用停止, after the same confirmation with its reason."""
    store = db.get_or_404(Store, store_id)
    if store.status == MerchantStatus.SUSPENDED:
        return _back(store.business_id, "stores")
    form = SuspendForm()
    if form.validate_on_submit():
        message = suspension.suspend_store(store, current_user._get_current_object(), form.reason.data)
        return _suspension_done(store.business_id, message, _("%(store)sを利用停止にしました。", store=store.name), "stores")
    return render_template("counter/suspend.html", form=form, business=store.business, store=store, stores=[store],
                           accounts=_accounts_of(store.business, store),
                           action=url_for("counter.suspend_store", store_id=store.id)), 422 if form.errors else 200


@bp.route("/stores/<int:store_id>/reactivate", methods=["POST"])
def reactivate_store(store_id: int):
    """店舗の利用再開."""
    store = db.get_or_404(Store, store_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    message = suspension.reactivate_store(store, current_user._get_current_object())
    return _suspension_done(store.business_id, message, _("%(store)sの利用を再開しました。", store=store.name), "stores")


@bp.route("/audit")
def audit_log():
    """監査ログ: search every row by who, what, which merchant and period."""
    form = web_audit.filter_form(staff=True)
    return render_template("counter/audit.html", form=form, list_endpoint="counter.audit_log",
                           csv_endpoint="counter.audit_csv", show_business=True, **web_audit.page_of(form, None))


@bp.route("/audit.csv")
def audit_csv():
    """監査ログ as CSV (the same search)."""
    return web_audit.csv_response(web_audit.filter_form(staff=True), None, "audit")


@bp.route("/merchants/<int:business_id>/edit", methods=["GET", "POST"])
def edit_business(business_id: int):
    """事業者情報の修正 by staff: audited, the business mailed."""
    business = db.get_or_404(Business, business_id)
    form = StaffBusinessForm(obj=business if request.method == "GET" else None)
    if request.method == "GET":
        form.account_type.data = business.account_type.value if business.account_type else "1"
    if form.validate_on_submit():
        values = {name: form[name].data for name in profiles.NAME_FIELDS + profiles.BUSINESS_FIELDS}
        messages = profiles.staff_update_business(business, values, form.bank_account, current_user._get_current_object())
        db.session.commit()
        outbox.send_after_commit(messages)
        flash(_("事業者情報を保存しました。事業者にメールでお知らせします。") if messages else _("事業者情報を保存しました。変更はありませんでした。"),
              "success")
        return redirect(url_for("counter.merchant", business_id=business.id), code=303)
    return render_template("counter/business_edit.html", business=business, form=form, **bank_names(form))


@bp.route("/stores/<int:store_id>/edit", methods=["GET", "POST"])
def edit_store(store_id: int):
    """店舗情報の修正 by staff: audited, the business mailed."""
    store = db.get_or_404(Store, store_id)
    form = StaffStoreForm(obj=store if request.method == "GET" else None)
    if form.validate_on_submit():
        fields = profiles.NAME_FIELDS + profiles.STORE_FIELDS + profiles.STORE_SETTINGS
        messages = profiles.staff_update_store(store, {name: form[name].data for name in fields},
                                               current_user._get_current_object())
        db.session.commit()
        outbox.send_after_commit(messages)
        flash(_("店舗情報を保存しました。事業者にメールでお知らせします。") if messages else _("店舗情報を保存しました。変更はありませんでした。"),
              "success")
        return redirect(url_for("counter.merchant", business_id=store.business_id, _anchor="stores"), code=303)
    return render_template("counter/store_edit.html", store=store, form=form)
