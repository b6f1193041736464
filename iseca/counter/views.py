"""Counter console pages."""
from flask import render_template
from sqlalchemy import func, select

from ..extensions import db
from ..models import ApplicationStatus, Business, Member, MerchantApplication, OutboxMessage, OutboxStatus, Store
from . import bp


@bp.route("/")
def index():
    """The console's front page: what waits for the counter."""
    def count(stmt):
        return db.session.scalar(stmt) or 0

    figures = {
        "applications": count(
            select(func.count()).select_from(MerchantApplication).where(MerchantApplication.status == ApplicationStatus.RECEIVED)
        ),
        "businesses": count(select(func.count()).select_from(Business)),
        "stores": count(select(func.count()).select_from(Store)),
        "published": count(select(func.count()).select_from(Store).where(Store.published_at.is_not(None))),
        "members": count(select(func.count()).select_from(Member)),
        "outbox_failed": count(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)),
    }
    return render_template("counter/index.html", figures=figures)
