"""/favicon.ico, which browsers and link previews ask for by themselves, answers the site's icon."""
from __future__ import annotations


def test_favicon_ico_answers_the_svg_icon(client, app):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200
    assert resp.mimetype == "image/svg+xml"
    with open(f"{app.static_folder}/favicon.svg", "rb") as icon:
        assert resp.get_data() == icon.read()
    assert resp.cache_control.max_age and resp.cache_control.max_age >= 86400
