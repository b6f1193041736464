"""The public blueprint itself, apart from the modules that add its views (so
that they import it without importing the package that imports them)."""
from flask import Blueprint

from .. import i18n
from ..city import public_texts
from . import content

bp = Blueprint("public", __name__)
# The console's editor starts from the guide's own texts.
public_texts.register_builtin("faq", lambda: content.FAQ)
public_texts.register_builtin("not_payable", lambda: content.NOT_PAYABLE)


@bp.context_processor
def edited_texts():
    """`edited_text(page)`: the text the city published for this page in the reader's
    language (it stands in front of the built-in text), or None."""
    return {"edited_text": lambda page: public_texts.published_html(page, i18n.current())}
