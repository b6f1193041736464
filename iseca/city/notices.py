"""お知らせ (maintenance notices): staff publish a notice with a period and
an audience; the management site and the terminal (merchants), the wallet
and the public pages (customers) show the running ones at the top."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import Account, Notice, NoticeAudience, utcnow
from ..timeutil import JST, start_of_day_utc

# Which notices each area shows.
AUDIENCES_OF_AREA = {
    "cms": (NoticeAudience.MERCHANTS, NoticeAudience.EVERYONE),
    "terminal": (NoticeAudience.MERCHANTS, NoticeAudience.EVERYONE),
    "wallet": (NoticeAudience.CUSTOMERS, NoticeAudience.EVERYONE),
    "public": (NoticeAudience.CUSTOMERS, NoticeAudience.EVERYONE),
}


def publish_notice(title: str, body: str, audience: NoticeAudience, starts_on: dt.date, ends_on: dt.date,
                   staff: Account) -> Notice:
    """A notice shown from the start of `starts_on` to the end of `ends_on` (JST)."""
    notice = Notice(title=title, body=body, audience=audience, starts_at=start_of_day_utc(starts_on),
                    ends_at=start_of_day_utc(ends_on + dt.timedelta(days=1)), created_by_account_id=staff.id)
    db.session.add(notice)
    db.session.flush()
    audit.record("notice_published", notice, {"title": title, "audience": str(audience), "starts_on": starts_on.isoformat(),
                                              "ends_on": ends_on.isoformat()}, actor=staff)
    return notice


def end_notice(notice: Notice, staff: Account) -> bool:
    """「掲載を終了」: the notice stops showing now. False when it already had ended."""
    now = utcnow()
    if notice.ends_at <= now:
        return False
    notice.ends_at = max(now, notice.starts_at)
    audit.record("notice_ended", notice, {"title": notice.title}, actor=staff)
    return True


def running_notices(area: str | None, at: dt.datetime | None = None) -> list[Notice]:
    """The notices an area shows now, newest first."""
    audiences = AUDIENCES_OF_AREA.get(area or "public")
    if not audiences:
        return []
    at = at or utcnow()
    return list(db.session.scalars(
        select(Notice).where(Notice.audience.in_(audiences), Notice.starts_at <= at, Notice.ends_at > at)
        .order_by(Notice.starts_at.desc(), Notice.id.desc()).limit(5)
    ))


def shown_bounds(notice: Notice) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime]:
    """The period as staff typed it: the first and the last day shown (a
    notice runs to the end of its 表示終了日, stored as the next midnight),
    or the moment itself where it does not fall on a midnight in Japan (a
    notice ended early with 「掲載を終了する」)."""
    def day_or_moment(moment: dt.datetime, day_offset: int) -> dt.date | dt.datetime:
        local = moment.astimezone(JST)
        if local.time() == dt.time():
            return local.date() + dt.timedelta(days=day_offset)
        return moment

    return day_or_moment(notice.starts_at, 0), day_or_moment(notice.ends_at, -1)


def all_notices() -> list[Notice]:
    return list(db.session.scalars(select(Notice).order_by(Notice.id.desc()).limit(200)))
