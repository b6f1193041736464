"""公開ページの文章 at the counter: the clerk edits よくあるご質問, ISECAで決済
できないモノ・サービス and お問い合わせ先 per language, previews them, saves
versions and publishes one; earlier versions stay readable."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..city import public_texts
from ..extensions import db
from ..i18n import LANGUAGES
from ..models import PublicText
from ..web.forms import ButtonForm, JapaneseForm
from ..web.inputs import as_id
from .blueprint import bp

PAGE = "<any(faq, not_payable, contact):page>"
LANG = "<any(ja, en, pt_BR, vi):lang>"


class PublicTextForm(JapaneseForm):
    body = TextAreaField(_l("本文（Markdown）"), validators=[
        DataRequired(message=_l("本文を入力してください。")),
        Length(max=public_texts.MAX_LENGTH, message=_l("本文は%(max)d文字以内にしてください。", max=public_texts.MAX_LENGTH)),
    ])


def _staff():
    return current_user._get_current_object()


@bp.route("/texts")
def texts():
    """公開ページの文章: each page and language, and whether an edited version is published."""
    return render_template("counter/texts/index.html", states=public_texts.overview(), pages=public_texts.PAGES,
                           languages=LANGUAGES)


@bp.route(f"/texts/{PAGE}/{LANG}", methods=["GET", "POST"])
def text_edit(page: str, lang: str):
    """Edit one page in one language: 「プレビュー」, 「下書き保存」 or 「公開する」."""
    form = PublicTextForm()
    preview = None
    if request.method == "GET":
        start = db.session.get(PublicText, as_id(request.args.get("from")) or 0)
        if start is None or (start.page, start.lang) != (page, lang):
            start = public_texts.latest(page, lang)
        form.body.data = start.body if start is not None else public_texts.builtin_markdown(page, lang)
    elif form.validate_on_submit():
        action = request.form.get("action", "preview")
        if action in ("save", "publish"):
            public_texts.save(page, lang, form.body.data, actor=_staff(), publish=action == "publish")
            db.session.commit()
            flash(_("公開しました。公開ページに表示されています。") if action == "publish"
                  else _("下書きを保存しました（まだ公開されていません）。"), "success")
            return redirect(url_for("counter.text_edit", page=page, lang=lang), code=303)
        preview = public_texts.render(form.body.data)
    shown = public_texts.published(page, lang)
    published_in = [LANGUAGES[s.lang] for s in public_texts.overview() if s.page == page and s.published_at]
    status = 200 if request.method == "GET" or not form.errors else 422
    return render_template("counter/texts/edit.html", form=form, page=page, lang=lang, preview=preview,
                           title=public_texts.PAGES[page], language=LANGUAGES[lang], shown=shown,
                           versions=public_texts.versions(page, lang), action_form=ButtonForm(),
                           public_endpoint=public_texts.PUBLIC_ENDPOINTS[page], published_in=published_in,
                           languages=LANGUAGES), status


def _version_or_404(page: str, lang: str, version_id: int) -> PublicText:
    version = db.session.get(PublicText, version_id)
    if version is None or (version.page, version.lang) != (page, lang):
        abort(404)
    return version


@bp.route(f"/texts/{PAGE}/{LANG}/versions/<int:version_id>")
def text_version(page: str, lang: str, version_id: int):
    """One saved version as the public page would show it, with its Markdown."""
    version = _version_or_404(page, lang, version_id)
    return render_template("counter/texts/version.html", version=version, page=page, lang=lang,
                           title=public_texts.PAGES[page], language=LANGUAGES[lang], html=public_texts.render(version.body),
                           shown=public_texts.published(page, lang), action_form=ButtonForm())


@bp.route(f"/texts/{PAGE}/{LANG}/versions/<int:version_id>/publish", methods=["POST"])
def text_publish(page: str, lang: str, version_id: int):
    """Publish a saved version (a draft, or an earlier text brought back)."""
    version = _version_or_404(page, lang, version_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    public_texts.publish_again(version, actor=_staff())
    db.session.commit()
    flash(_("公開しました。公開ページに表示されています。"), "success")
    return redirect(url_for("counter.text_edit", page=page, lang=lang), code=303)
