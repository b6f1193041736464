"""Two-stage login of the management site and the logins of the other areas."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from iseca import passwords
from iseca.extensions import db
from iseca.models import Account, AccountKind, MerchantStatus, utcnow
from tests import factories
from tests.support.client import basic_auth_header, csrf_from, login, post_form

# --- the BASIC gate ---------------------------------------------------------

def test_basic_gate_refuses_without_credentials(app):
    resp = app.test_client().get("/cms/login")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("user,password", [("guest", "wrong"), ("admin", "guest"), ("", "")])
def test_basic_gate_refuses_wrong_credentials(app, user, password):
    resp = app.test_client().get("/cms/login", headers={"Authorization": basic_auth_header(user, password)})
    assert resp.status_code == 401


def test_basic_gate_guest_guest_shows_login_page(app):
    resp = app.test_client().get("/cms/login", headers={"Authorization": basic_auth_header()})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for label in ("ユーザー種別", "店舗", "事業者", "パスワード", "ログイン状態を保持する", "ログイン"):
        assert label in html


def test_basic_gate_credentials_are_configurable(app):
    app.config.update(BASIC_AUTH_USERNAME="isesaki", BASIC_AUTH_PASSWORD="s3cret-gate")
    client = app.test_client()
    assert client.get("/cms/login", headers={"Authorization": basic_auth_header()}).status_code == 401
    ok = client.get("/cms/login", headers={"Authorization": basic_auth_header("isesaki", "s3cret-gate")})
    assert ok.status_code == 200


def test_terminal_and_public_pages_have_no_basic_gate(app):
    client = app.test_client()
    assert client.get("/terminal/login").status_code == 200
    assert client.get("/").status_code == 200


# --- store and business logins -----------------------------------------------

def test_store_login_opens_top_menu(client):
    store = factories.make_store()
    resp = login(client, store.code, factories.PASSWORD)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/cms/")
    html = client.get("/cms/").get_data(as_text=True)
    for entry in ("レジ一覧", "利用状況一覧", "精算", "店舗情報", "パスワード変更", "ログアウト"):
        assert entry in html
    assert "事業者情報" not in html
    assert store.name in html


def test_business_login_shows_business_menu(client):
    business = factories.make_business()
    resp = login(client, business.code, factories.PASSWORD, kind="business")
    assert resp.status_code == 303
    html = client.get("/cms/").get_data(as_text=True)
    assert "事業者情報" in html and business.name in html


def test_user_type_picks_the_account_kind(client):
    store = factories.make_store()
    # The store's code and password, but 「事業者」 chosen: the code's S says which kind to choose.
    resp = login(client, store.code, factories.PASSWORD, kind="business")
    assert resp.status_code == 200
    assert "ユーザー種別で「店舗」を選んでから" in resp.get_data(as_text=True)
    assert client.get("/cms/").status_code == 302


def test_login_code_accepts_full_width_and_lower_case(client):
    store = factories.make_store()
    typed = store.code.lower().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert login(client, typed, factories.PASSWORD).status_code == 303


def test_wrong_password_is_refused_and_keeps_the_code(client):
    store = factories.make_store()
    resp = login(client, store.code, "not the password at all")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "ユーザー名またはパスワードが違います" in html
    assert f'value="{store.code}"' in html
    assert client.get("/cms/").status_code == 302


def test_suspended_account_cannot_log_in(client):
    store = factories.make_store()
    db.session.execute(update(Account).where(Account.login == store.code).values(status=MerchantStatus.SUSPENDED))
    db.session.commit()
    resp = login(client, store.code, factories.PASSWORD)
    assert "利用停止中" in resp.get_data(as_text=True)


def test_pages_require_login(client):
    resp = client.get("/cms/registers")
    assert resp.status_code == 302 and "/cms/login" in resp.headers["Location"]


def test_login_returns_to_the_page_asked_for(client):
    store = factories.make_store()
    resp = client.get("/cms/registers")
    login_url = resp.headers["Location"]
    page = client.get(login_url)
    resp = client.post(login_url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), "kind": "store",
                                        "code": store.code, "password": factories.PASSWORD})
    assert resp.headers["Location"].endswith("/cms/registers")


def test_login_never_redirects_off_site(client):
    store = factories.make_store()
    page = client.get("/cms/login?next=https://evil.example/")
    resp = client.post("/cms/login?next=https://evil.example/", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "kind": "store", "code": store.code,
        "password": factories.PASSWORD})
    assert resp.headers["Location"].endswith("/cms/")


# --- throttling ---------------------------------------------------------------

def test_repeated_failures_are_throttled_per_account(client):
    store = factories.make_store()
    other = factories.make_store()
    for _ in range(5):
        assert login(client, store.code, "wrong wrong wrong").status_code == 200
    resp = login(client, store.code, factories.PASSWORD)
    assert resp.status_code == 429
    assert "一時的にログインを制限しています" in resp.get_data(as_text=True)
    # Another account from the same place is not locked by it.
    assert login(client, other.code, factories.PASSWORD).status_code == 303


def test_repeated_failures_are_throttled_per_address(app, client):
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = "3 per 15 minutes"
    stores = [factories.make_store() for _ in range(4)]
    for s in stores[:3]:
        assert login(client, s.code, "wrong wrong wrong").status_code == 200
    assert login(client, stores[3].code, factories.PASSWORD).status_code == 429
    other_address = app.test_client()
    other_address.environ_base.update(HTTP_AUTHORIZATION=basic_auth_header(), REMOTE_ADDR="192.0.2.7")
    assert login(other_address, stores[3].code, factories.PASSWORD).status_code == 303


def test_failed_logins_at_every_login_form_of_an_account_share_one_count(app, client):
    """A store logs in at /cms/ and at /terminal/: 5 guesses in all, not 5 at each."""
    store = factories.make_store()
    for area in ("cms", "terminal", "cms", "terminal", "terminal"):
        assert login(client, store.code, "wrong wrong wrong", area=area).status_code == 200
    for area in ("cms", "terminal"):
        resp = login(app.test_client(), store.code, factories.PASSWORD, area=area) if area == "terminal" else \
            login(client, store.code, factories.PASSWORD, area=area)
        assert resp.status_code == 429, area
        assert "一時的にログインを制限しています" in resp.get_data(as_text=True)
    # Typed differently (lower case, full width), it is still the same account.
    typed = store.code.lower().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert login(app.test_client(), typed, factories.PASSWORD, area="terminal").status_code == 429


def test_wrong_current_password_on_password_change_is_throttled(store_client, app):
    new = "a brand new passphrase for this store"
    for _ in range(5):
        resp = post_form(store_client, "/cms/password", {
            "current_password": "a guess that is wrong", "new_password": new, "new_password_confirm": new})
        assert resp.status_code == 200 and "現在のパスワードが違います" in resp.get_data(as_text=True)
    # The sixth try is refused even with the right password: nothing is changed.
    resp = post_form(store_client, "/cms/password", {
        "current_password": factories.PASSWORD, "new_password": new, "new_password_confirm": new})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 429 and "一時的にパスワードの変更を制限しています" in html
    assert 'name="current_password"' in html
    # The guesses count for the account's logins too (one count per account).
    other_device = app.test_client()
    assert login(other_device, store_client.store.code, factories.PASSWORD, area="terminal").status_code == 429
    db.session.expire_all()
    assert passwords.verify_password(factories.account_of(AccountKind.STORE, store_client.store.code), factories.PASSWORD)


def test_only_wrong_current_passwords_count_on_password_change(store_client):
    for _ in range(6):  # weak new passwords: the current one was right, no guess
        resp = post_form(store_client, "/cms/password", {
            "current_password": factories.PASSWORD, "new_password": "short-pw", "new_password_confirm": "short-pw"})
        assert resp.status_code == 200 and "12文字以上" in resp.get_data(as_text=True)
    new = "a brand new passphrase for this store"
    resp = post_form(store_client, "/cms/password", {
        "current_password": factories.PASSWORD, "new_password": new, "new_password_confirm": new})
    assert resp.status_code == 303


def test_successful_logins_are_not_throttled(app):
    store = factories.make_store()
    for _ in range(8):  # eight tills log in one after another
        till = app.test_client()
        assert login(till, store.code, factories.PASSWORD, area="terminal").status_code == 303


# --- forced change and the 90-day alert ---------------------------------------

def test_initial_password_must_be_changed_first(client):
    business = factories.make_business()
    store = factories.make_store(business)
    db.session.execute(update(Account).where(Account.login == store.code).values(must_change_password=True))
    db.session.commit()
    resp = login(client, store.code, factories.PASSWORD)
    assert resp.headers["Location"].endswith("/cms/password")
    # Anything else leads back to the change form, which then returns there.
    assert client.get("/cms/registers").headers["Location"].endswith("/cms/password?next=/cms/registers")
    page = client.get("/cms/password").get_data(as_text=True)
    assert "初期パスワードからの変更が必要です" in page
    resp = post_form(client, "/cms/password", {
        "current_password": factories.PASSWORD,
        "new_password": "とても長い合言葉 いせさき 2026",
        "new_password_confirm": "とても長い合言葉 いせさき 2026",
    })
    assert resp.status_code == 303
    assert client.get("/cms/registers").status_code == 200
    client.post("/cms/logout", data={"csrf_token": csrf_from(client.get("/cms/").get_data(as_text=True))})
    assert login(client, store.code, "とても長い合言葉 いせさき 2026").headers["Location"].endswith("/cms/")


@pytest.mark.parametrize("new,message", [
    ("short-pw", "12文字以上"),
    ("password1234", "推測されやすい"),
    ("aaaaaaaaaaaaaaaa", "推測されやすい"),
    ("long enough passphrase for tests", "現在と同じ"),
])
def test_weak_new_passwords_are_refused(store_client, new, message):
    resp = post_form(store_client, "/cms/password", {
        "current_password": factories.PASSWORD, "new_password": new, "new_password_confirm": new})
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)


def test_password_change_needs_matching_confirmation_and_current(store_client):
    resp = post_form(store_client, "/cms/password", {
        "current_password": factories.PASSWORD, "new_password": "a brand new passphrase",
        "new_password_confirm": "a brand new passphrasf"})
    assert "一致しません" in resp.get_data(as_text=True)
    resp = post_form(store_client, "/cms/password", {
        "current_password": "not it at all", "new_password": "a brand new passphrase",
        "new_password_confirm": "a brand new passphrase"})
    assert "現在のパスワードが違います" in resp.get_data(as_text=True)


@pytest.mark.parametrize("age_days,shown", [(91, True), (89, False)])
def test_old_password_shows_alert_on_every_page(store_client, age_days, shown):
    db.session.execute(update(Account).where(Account.login == store_client.store.code)
                       .values(password_changed_at=utcnow() - dt.timedelta(days=age_days)))
    db.session.commit()
    for url in ("/cms/", "/cms/registers", "/cms/usage"):
        resp = store_client.get(url)
        assert resp.status_code == 200  # an alert, not a block
        assert ("90日以上変更されていません" in resp.get_data(as_text=True)) is shown


@pytest.mark.parametrize("age_days,shown", [(31, True), (29, False)])
def test_the_alert_names_the_configured_password_age(app, store_client, age_days, shown):
    """ISECA_PASSWORD_MAX_AGE_DAYS=30: the alert comes after 30 days and says so, in each language."""
    app.config["PASSWORD_MAX_AGE_DAYS"] = 30
    db.session.execute(update(Account).where(Account.login == store_client.store.code)
                       .values(password_changed_at=utcnow() - dt.timedelta(days=age_days)))
    db.session.commit()
    page = store_client.get("/cms/registers").get_data(as_text=True)
    assert ("パスワードが30日以上変更されていません" in page) is shown
    assert "90日" not in page
    store_client.set_cookie("lang", "en")
    page = store_client.get("/cms/registers").get_data(as_text=True)
    assert ("has not been changed for more than 30 days" in page) is shown
    assert "90 days" not in page


def test_the_account_mail_names_the_configured_password_age(app):
    from iseca import outbox

    app.config["PASSWORD_MAX_AGE_DAYS"] = 45
    store = factories.make_store()
    with app.test_request_context():
        body = outbox.mail_body("store_account", business_name="店", store=store, password="x")
    assert "・45日以上パスワードが変更されていない場合、アラートメッセージが表示されます。" in body


# --- sessions -------------------------------------------------------------------

def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def test_remember_me_survives_a_browser_restart(app, client):
    store = factories.make_store()
    login(client, store.code, factories.PASSWORD, area="terminal", remember=True)
    remember = client.get_cookie("iseca_remember")
    assert remember is not None and remember.expires is not None
    assert remember.expires > dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    # A new browser process keeps persistent cookies only.
    restarted = app.test_client()
    restarted.set_cookie("iseca_remember", remember.value)
    resp = restarted.get("/terminal/")
    assert resp.status_code == 200 and store.name in resp.get_data(as_text=True)


def test_without_remember_me_no_persistent_cookie(client):
    store = factories.make_store()
    login(client, store.code, factories.PASSWORD, area="terminal")
    assert client.get_cookie("iseca_remember") is None
    assert client.get_cookie("iseca_session").expires is None  # ends with the browser


def test_session_cookie_flags(client):
    store = factories.make_store()
    resp = login(client, store.code, factories.PASSWORD, remember=True)
    cookies = resp.headers.getlist("Set-Cookie")
    for name in ("iseca_session", "iseca_remember"):
        header = next(c for c in cookies if c.startswith(name + "="))
        assert "HttpOnly" in header and "SameSite=Lax" in header


def test_new_session_on_login(app, client):
    store = factories.make_store()
    client.get("/cms/login")
    before = _cookie(client, "iseca_session")
    login(client, store.code, factories.PASSWORD)
    assert _cookie(client, "iseca_session") != before


def test_cookie_replayed_after_logout_is_refused(app, client):
    store = factories.make_store()
    login(client, store.code, factories.PASSWORD, remember=True)
    stolen_session = _cookie(client, "iseca_session")
    stolen_remember = _cookie(client, "iseca_remember")
    resp = client.post("/cms/logout", data={"csrf_token": csrf_from(client.get("/cms/").get_data(as_text=True))})
    assert resp.status_code == 303
    assert client.get("/cms/").status_code == 302
    replay = app.test_client()
    replay.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    replay.set_cookie("iseca_session", stolen_session)
    replay.set_cookie("iseca_remember", stolen_remember)
    resp = replay.get("/cms/")
    assert resp.status_code == 302 and "/cms/login" in resp.headers["Location"]


def test_logout_on_one_till_keeps_the_other_logged_in(app):
    store = factories.make_store()
    tills = [app.test_client(), app.test_client()]
    for till in tills:
        login(till, store.code, factories.PASSWORD, area="terminal", remember=True)
    tills[0].post("/terminal/logout", data={"csrf_token": csrf_from(tills[0].get("/terminal/").get_data(as_text=True))})
    assert tills[0].get("/terminal/").status_code == 302
    assert tills[1].get("/terminal/").status_code == 200


def test_password_change_ends_other_sessions(app, client):
    store = factories.make_store()
    other_device = app.test_client()
    login(other_device, store.code, factories.PASSWORD, area="terminal", remember=True)
    login(client, store.code, factories.PASSWORD)
    old_cookie = _cookie(client, "iseca_session")
    resp = post_form(client, "/cms/password", {"current_password": factories.PASSWORD,
                                               "new_password": "another long passphrase 77",
                                               "new_password_confirm": "another long passphrase 77"})
    assert resp.status_code == 303
    assert client.get("/cms/").status_code == 200  # this browser goes on
    assert other_device.get("/terminal/").status_code == 302
    replay = app.test_client()
    replay.environ_base["HTTP_AUTHORIZATION"] = basic_auth_header()
    replay.set_cookie("iseca_session", old_cookie)
    assert replay.get("/cms/").status_code == 302


# --- CSRF ---------------------------------------------------------------------------

def test_form_without_csrf_token_is_refused(client):
    store = factories.make_store()
    resp = client.post("/cms/login", data={"kind": "store", "code": store.code, "password": factories.PASSWORD})
    assert resp.status_code == 400
    assert "画面の有効期限が切れました" in resp.get_data(as_text=True)
    assert client.get("/cms/").status_code == 302


def test_htmx_request_sends_token_in_header(store_client):
    html = store_client.get("/cms/").get_data(as_text=True)
    token = csrf_from(html)
    assert f'"X-CSRFToken": "{token}"' in html  # hx-headers on the body
    refused = store_client.post("/cms/logout", headers={"HX-Request": "true"})
    assert refused.status_code == 400
    ok = store_client.post("/cms/logout", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert ok.status_code == 303


# --- who may see what ------------------------------------------------------------

def test_store_cannot_open_another_stores_pages(store_client):
    own = store_client.store
    neighbour = factories.make_store()
    assert store_client.get(f"/cms/stores/{own.id}").status_code == 200
    resp = store_client.get(f"/cms/stores/{neighbour.id}")
    assert resp.status_code == 404
    assert neighbour.name not in resp.get_data(as_text=True)
    assert neighbour.name not in store_client.get("/cms/registers").get_data(as_text=True)
    assert store_client.get("/cms/business").status_code == 404


def test_business_sees_its_stores_only(client):
    business = factories.make_business()
    mine = factories.make_store(business)
    theirs = factories.make_store()
    login(client, business.code, factories.PASSWORD, kind="business")
    assert client.get(f"/cms/stores/{mine.id}").status_code == 200
    assert client.get(f"/cms/stores/{theirs.id}").status_code == 404
    assert theirs.name not in client.get("/cms/registers").get_data(as_text=True)


@pytest.mark.parametrize("url,login_url", [("/counter/", "/counter/login"), ("/wallet/", "/wallet/login")])
def test_store_account_cannot_enter_other_areas(store_client, url, login_url):
    resp = store_client.get(url)
    assert resp.status_code == 302 and login_url in resp.headers["Location"]


def test_business_account_cannot_use_the_terminal(client):
    business = factories.make_business()
    login(client, business.code, factories.PASSWORD, kind="business")
    resp = client.get("/terminal/")
    assert resp.status_code == 302 and "/terminal/login" in resp.headers["Location"]


def test_staff_logs_into_counter_console(client):
    factories.make_staff("tanaka")
    resp = login(client, "tanaka", factories.PASSWORD, area="counter", kind=None)
    assert resp.status_code == 303
    html = client.get("/counter/").get_data(as_text=True)
    assert "ISECA窓口" in html and "審査待ちの申込" in html


def test_staff_cannot_log_into_the_management_site(client):
    factories.make_staff("tanaka")
    assert login(client, "tanaka", factories.PASSWORD, kind="store").status_code == 200


def test_expired_login_during_htmx_swap_loads_login_page(client):
    resp = client.get("/cms/registers", headers={"HX-Request": "true", "HX-Target": "rows"})
    assert resp.status_code == 204
    assert "/cms/login" in resp.headers["HX-Redirect"]


@pytest.mark.parametrize("area, kind, word", [
    ("cms", "store", "ユーザー名"), ("terminal", None, "店舗コード"), ("counter", None, "職員ID"), ("wallet", None, "メールアドレス"),
])
def test_refused_login_names_the_field_as_the_form_labels_it(client, area, kind, word):
    resp = login(client, "nobody-here", "not the password at all", area=area, kind=kind)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f"{word}またはパスワードが違います。" in html


def test_an_expired_login_during_a_poll_comes_back_to_the_page_not_the_poll(client):
    """HOME polls 「金額を確認」 (/terminal/pay/incoming); when the session has
    expired, the login page is loaded whole and logging in again lands on
    HOME, the page the till was on, not on the bare poll fragment."""
    store = factories.make_store()
    resp = client.get("/terminal/pay/incoming", headers={
        "HX-Request": "true", "HX-Current-URL": "http://localhost/terminal/?register=1"})
    assert resp.status_code == 204
    target = resp.headers["HX-Redirect"]
    assert urlsplit(target).path == "/terminal/login"
    assert parse_qs(urlsplit(target).query)["next"] == ["/terminal/?register=1"]
    resp = post_form(client, target, {"code": store.code, "password": factories.PASSWORD})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/terminal/?register=1")


@pytest.mark.parametrize("headers", [
    {"HX-Request": "true"},
    {"HX-Request": "true", "HX-Current-URL": "https://elsewhere.example/terminal/"},
])
def test_a_fragment_without_its_page_is_never_the_landing_page(client, headers):
    resp = client.get("/terminal/pay/incoming", headers=headers)
    assert resp.status_code == 204
    assert "next" not in parse_qs(urlsplit(resp.headers["HX-Redirect"]).query)


def test_a_boosted_page_is_still_the_landing_page(client):
    resp = client.get("/terminal/history?page=2", headers={
        "HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "http://localhost/terminal/"})
    assert resp.status_code == 302
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["next"] == ["/terminal/history?page=2"]
