"""会員・カード (ISECA窓口): app members, card issue and card sheets,
grants (single and CSV), lost cards, campaigns."""
from __future__ import annotations

import base64
import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import audit, i18n
from ..extensions import db
from ..members import cards, payers
from ..models import Campaign, Card, LedgerTransactionKind, Member
from ..money import grants, idempotency, ledger
from ..timeutil import today_jst
from ..web.inputs import accepts_files, form_id, not_sent_by_the_page
from ..web.pages import qr_data_uri
from .blueprint import bp
from .member_forms import AppMemberForm, CampaignEditForm, CampaignForm, GrantForm, GrantUploadForm, IssueCardsForm


def _staff():
    return current_user._get_current_object()


def _campaign_choices(form_field, *, open_only: bool = True) -> None:
    today = today_jst()
    rows = db.session.scalars(select(Campaign).order_by(Campaign.starts_on.desc()))
    form_field.choices = [(0, _("選んでください"))] + [
        (c.id, _("%(name)s（%(starts)s〜%(ends)s）", name=c.name, starts=i18n.date(c.starts_on), ends=i18n.date(c.ends_on)))
        for c in rows if not open_only or c.ends_on >= today
    ]


@bp.route("/members")
def members_list():
    """会員検索: by member code, card number, e-mail or name."""
    query = request.args.get("q", "")
    return render_template("counter/members/list.html", rows=cards.find_members(query), q=query)


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
def member_detail(member_id: int):
    """会員詳細: balance per campaign, cards, recent movements; ポイント付与・チャージ (once per form)."""
    member = db.session.get(Member, member_id) or abort(404)
    form = GrantForm()
    _campaign_choices(form.campaign_id)
    if form.validate_on_submit():
        try:
            amount = cards.parse_grant_amount(form.amount.data)
            campaign = db.session.get(Campaign, form.campaign_id.data)
            if campaign is None:
                form.campaign_id.errors.append(_("キャンペーンを選んでください。"))
            else:
                granted = grants.grant_once(_staff(), form.key.data, member, campaign, amount,
                                            kind=LedgerTransactionKind(form.kind.data), memo=form.memo.data)
                db.session.commit()
                points = i18n.number(granted.amount)
                charged = granted.kind == LedgerTransactionKind.CHARGE
                if granted.replayed:
                    flash(_("このチャージ（%(points)sポイント）はすでに登録済みです。二重にはチャージしていません。", points=points)
                          if charged else
                          _("この付与（%(points)sポイント）はすでに登録済みです。二重には付与していません。", points=points), "info")
                else:
                    flash(_("%(points)sポイントをチャージしました。", points=points) if charged else
                          _("%(points)sポイントを付与しました。", points=points), "success")
                return redirect(url_for("counter.member_detail", member_id=member.id), code=303)
        except cards.MemberError as error:
            form.amount.errors.append(str(error))
        except (grants.GrantRefused, idempotency.KeyRefused) as error:
            db.session.rollback()
            form.form_errors.append(str(error))
    if not idempotency.valid_key(form.key.data):
        form.key.data = idempotency.new_key()
    accounts = ledger.member_accounts(member.id)
    return render_template("counter/members/detail.html", member=member, form=form, accounts=accounts,
                           movements=ledger.recent_movements(accounts), balance=ledger.member_balance(member.id))


@bp.route("/members/new", methods=["GET", "POST"])
def member_new():
    """アプリ会員の登録: member code and an initial wallet password, shown once."""
    form = AppMemberForm()
    if form.validate_on_submit():
        try:
            member, account, password = cards.create_app_member(form.email.data, form.name.data.strip())
        except cards.MemberError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        else:
            audit.record("app_member_created", member, {"email": account.login})
            db.session.commit()
            return render_template("counter/members/created.html", member=member, account=account, password=password)
    return render_template("counter/members/new.html", form=form)


@bp.route("/cards/issue", methods=["GET", "POST"])
def cards_issue():
    """カード発行: one card or a batch, then the printable card sheet."""
    form = IssueCardsForm()
    if request.method == "GET" and not form.batch.data:
        form.batch.data = f"{today_jst():%Y%m%d}-{secrets.token_hex(2)}"
    if form.validate_on_submit():
        batch = form.batch.data.strip()
        if db.session.scalar(select(Card.id).where(Card.batch == batch).limit(1)) is not None:
            form.batch.errors.append(_("この発行ロット名はすでに使われています。"))
        else:
            issued = cards.issue_card_members(form.count.data, batch=batch,
                                              name=(form.name.data or "").strip() if form.count.data == 1 else "")
            audit.record("cards_issued", None, {"batch": batch, "count": len(issued)})
            db.session.commit()
            flash(_("カードを%(count)s枚発行しました。", count=len(issued)), "success")
            return redirect(url_for("counter.card_sheet", batch=batch), code=303)
    return render_template("counter/members/issue.html", form=form)


@bp.route("/cards/sheet/<batch>")
def card_sheet(batch: str):
    """カード台紙: number, member code, the QR (balance-page address) of each card, to print."""
    batch_cards = list(db.session.scalars(select(Card).where(Card.batch == batch).order_by(Card.id)))
    if not batch_cards:
        abort(404)
    sheet = [(card, payers.card_qr_text(card), qr_data_uri(payers.card_qr_text(card), box_size=4, border=2)) for card in batch_cards]
    return render_template("counter/members/sheet.html", batch=batch, sheet=sheet)


@bp.route("/cards/<int:card_id>/suspend", methods=["GET", "POST"])
def card_suspend(card_id: int):
    """紛失・盗難の届出: stop the card (confirmation page, then POST)."""
    card = db.session.get(Card, card_id) or abort(404)
    if request.method == "POST":
        try:
            cards.suspend_card(card, actor=_staff())
        except cards.MemberError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("カードを利用停止にしました。"), "success")
        return redirect(url_for("counter.member_detail", member_id=card.member_id), code=303)
    return render_template("counter/members/card_action.html", card=card, action="suspend",
                           balance=ledger.member_balance(card.member_id))


@bp.route("/cards/<int:card_id>/replace", methods=["GET", "POST"])
def card_replace(card_id: int):
    """再発行: a new card with the old card's balance; the old card stops for good."""
    card = db.session.get(Card, card_id) or abort(404)
    if request.method == "POST":
        try:
            new_card = cards.replace_card(card, actor=_staff())
        except cards.MemberError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("counter.member_detail", member_id=card.member_id), code=303)
        db.session.commit()
        flash(_("新しいカードを発行し、残高を引き継ぎました。"), "success")
        return redirect(url_for("counter.card_sheet", batch=new_card.batch), code=303)
    return render_template("counter/members/card_action.html", card=card, action="replace",
                           balance=ledger.member_balance(card.member_id))


@bp.route("/grants/upload", methods=["GET", "POST"])
@accepts_files("file")
def grants_upload():
    """ポイント一括付与 (CSV): upload, then a preview; nothing is granted yet."""
    form = GrantUploadForm()
    _campaign_choices(form.campaign_id)
    if form.validate_on_submit():
        campaign = db.session.get(Campaign, form.campaign_id.data)
        try:
            text = cards.decode_csv(form.file.data.read())
        except cards.MemberError as error:
            form.file.errors.append(str(error))
        else:
            if campaign is None:
                form.campaign_id.errors.append(_("キャンペーンを選んでください。"))
            else:
                batch = cards.parse_grant_csv(text)
                encoded = base64.b64encode(text.encode()).decode()
                return render_template("counter/members/grant_preview.html", batch=batch, campaign=campaign,
                                       memo=form.memo.data, csv_data=encoded, key=idempotency.new_key())
    return render_template("counter/members/grant_upload.html", form=form)


@bp.route("/grants/commit", methods=["POST"])
def grants_commit():
    """一括付与の確定: every line or none, once per preview (a resubmit grants nothing more)."""
    campaign = db.session.get(Campaign, form_id("campaign_id") or 0) or abort(404)
    memo = request.form.get("memo", "")[:200]
    try:
        text = base64.b64decode(request.form.get("csv_data", ""), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        not_sent_by_the_page()
    batch = cards.parse_grant_csv(text)
    try:
        granted = grants.grant_batch_once(_staff(), request.form.get("key", ""), batch, campaign, memo=memo,
                                          csv_text=text)
        db.session.commit()
    except (grants.GrantRefused, idempotency.KeyRefused) as error:
        db.session.rollback()
        return render_template("counter/members/grant_preview.html", batch=batch, campaign=campaign, memo=memo,
                               csv_data=request.form.get("csv_data", ""), key=idempotency.new_key(),
                               refused=str(error)), 422
    if granted.replayed:
        flash(_("この一括付与はすでに確定済みです（二重には付与していません）。"), "info")
    else:
        flash(_("%(lines)s件、合計%(points)sポイントを付与しました。", lines=granted.lines, points=i18n.number(granted.total)), "success")
    return redirect(url_for("counter.members_list"), code=303)


@bp.route("/campaigns", methods=["GET", "POST"])
def campaigns():
    """キャンペーン（有効期間）: points can be spent only within it."""
    form = CampaignForm()
    if form.validate_on_submit():
        try:
            grants.create_campaign(form.name.data, form.starts_on.data, form.ends_on.data, actor=_staff(),
                                   cancellable_until_end=form.cancellable_until_end.data)
        except grants.CampaignInvalid as invalid:
            getattr(form, invalid.field).errors.append(str(invalid))
        else:
            db.session.commit()
            flash(_("キャンペーンを登録しました。"), "success")
            return redirect(url_for("counter.campaigns"), code=303)
    rows = list(db.session.scalars(select(Campaign).order_by(Campaign.starts_on.desc())))
    return render_template("counter/members/campaigns.html", form=form, rows=rows)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: int):
    """キャンペーン変更: name and period, then a confirmation that shows the effect
    on the points already granted (who holds how many, what expires when)."""
    campaign = db.get_or_404(Campaign, campaign_id)
    form = CampaignEditForm(obj=campaign) if request.method == "GET" else CampaignEditForm()
    action = request.form.get("action", "preview")
    if request.method == "POST" and form.validate_on_submit():
        try:
            grants.check_campaign_change(campaign, form.name.data, form.starts_on.data, form.ends_on.data)
        except grants.CampaignInvalid as invalid:
            getattr(form, invalid.field).errors.append(str(invalid))
        else:
            if action == "confirm":
                grants.update_campaign(campaign, form.name.data, form.starts_on.data, form.ends_on.data, actor=_staff(),
                                       cancellable_until_end=form.cancellable_until_end.data)
                db.session.commit()
                flash(_("キャンペーンを変更しました。"), "success")
                return redirect(url_for("counter.campaigns"), code=303)
            if action == "preview":
                effect = grants.campaign_effect(campaign, form.starts_on.data, form.ends_on.data,
                                                cancellable_until_end=form.cancellable_until_end.data)
                return render_template("counter/members/campaign_confirm.html", campaign=campaign, form=form,
                                       effect=effect)
    status = 422 if request.method == "POST" and form.errors else 200
    return render_template("counter/members/campaign_edit.html", campaign=campaign, form=form), status
