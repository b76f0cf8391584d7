"""Recovery codes through HTTP: shown once, single use, budget, regeneration, rollback, the race."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from threading import Barrier

import pytest
from sqlalchemy import delete, func, insert, select, update

from portal.extensions import db
from portal.factors.recovery import generate_set, set_token, shown
from portal.models import AuditEvent, RecoveryCode, SmsFactor, User
from tests.conftest import serving
from tests.integration.test_concurrency import Browser
from tests.integration.totp_helpers import csrf_token_from, recovery_codes_on, send_totp
from tests.otp import totp
from tests.support import GOOD_PASSWORD, csrf_token, login, submit

EMAIL = "lost.phone@example.com"
CODES_PAGE = "/account/2fa/recovery-codes"
ALREADY_MADE = ("New codes were already generated and shown once, so no other set was made. If you did not save "
                "them, generate new codes again.")

@pytest.fixture
def email() -> str:
    return EMAIL


def pending(app):
    browser = app.test_client()
    assert login(browser, EMAIL).headers["Location"].startswith("/2fa")
    return browser


def redeem(browser, code):
    page = browser.get("/2fa/recovery")
    return browser.post("/2fa/recovery", data={"csrf_token": csrf_token(page), "code": code})


def casual(code):
    """How a person types a code from the downloaded file: lower case, no hyphens."""
    return code.replace("-", "").lower()


def rows(app):
    with app.app_context():
        return db.session.scalars(select(RecoveryCode)).all()


def events(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def live_codes(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(RecoveryCode)
                                 .where(RecoveryCode.used_at.is_(None)))


class Flashes(HTMLParser):
    """The flash messages of a page: their text, and the links (href, text) inside them."""

    def __init__(self, html):
        super().__init__()
        self.items = []
        self._inside = 0
        self._href = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "p" and "flash" in (attrs.get("class") or "").split():
            self._inside = 1
            self.items.append({"text": "", "links": []})
        elif self._inside and tag == "a":
            self._href = attrs.get("href")
            self.items[-1]["links"].append([self._href, ""])

    def handle_endtag(self, tag):
        if tag == "p":
            self._inside = 0
        elif tag == "a":
            self._href = None

    def handle_data(self, data):
        if self._inside:
            self.items[-1]["text"] += data
            if self._href is not None:
                self.items[-1]["links"][-1][1] += data


def flashes(html):
    return [(" ".join(item["text"].split()), [tuple(link) for link in item["links"]]) for item in Flashes(html).items]


def regenerate(browser):
    """"Generate new codes" from the recovery codes page, as a browser sends it (token included)."""
    page = browser.get(CODES_PAGE)
    return browser.post(CODES_PAGE, data={"csrf_token": csrf_token(page), "replaces": replaces_token(page.text)})


def replaces_token(html):
    match = re.search(r'name="replaces" value="([0-9a-f]{64})"', html)
    assert match, html[:3000]
    return match.group(1)


def totp_sign_in(app, enrollment, clock):
    browser = pending(app)
    clock.advance(30)
    assert send_totp(browser, totp(enrollment.secret, clock())).status_code == 302
    return browser


def test_codes_are_shown_once_and_stored_only_as_hashes(app, signed_in, enrollment):
    assert len(set(enrollment.recovery_codes)) == 10
    stored = rows(app)
    assert len(stored) == 10
    for code in enrollment.recovery_codes:
        for row in stored:
            assert code.replace("-", "") not in row.code_hash and code not in row.code_hash
    assert all(row.code_hash.startswith("$argon2id$") for row in stored)
    overview = signed_in.get("/account/2fa/recovery-codes")
    assert "10 recovery codes left." in overview.text
    for url in ("/account", "/account/2fa/recovery-codes", "/account/2fa/totp"):
        text = signed_in.get(url).text
        assert not any(code in text for code in enrollment.recovery_codes), url
    assert all(code not in str(e.details) for e in events(app) for code in enrollment.recovery_codes)


def test_sign_in_with_a_recovery_code_typed_casually(app, enrollment):
    browser = pending(app)
    verify_page = browser.get("/2fa/verify?method=totp")
    assert 'href="/2fa/recovery' in verify_page.text
    response = redeem(browser, casual(enrollment.recovery_codes[0]))
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    account = browser.get("/account").text
    # How many are left, and a real link to the authenticator's settings (a lost phone needs a new one).
    assert flashes(account) == [(
        "You signed in with a recovery code. 9 codes are left. If you lost your phone, set up your "
        "authenticator app again.", [("/account/2fa/totp", "set up your authenticator app again")])]
    assert "9 recovery codes left." in account
    assert "Recovery code used" in account
    used = [e for e in events(app) if e.event == "recovery.used"]
    assert len(used) == 1
    assert used[0].details == {"method": "recovery", "recovery_codes_left": 9}


def test_after_a_recovery_sign_in_a_phone_user_is_sent_to_the_phone_settings(app, make_user, clock):
    user = make_user("texts@example.com")
    with app.app_context():
        db.session.add(SmsFactor(user_id=user.id, phone="+8613800138000", created_at=clock(), confirmed_at=clock()))
        codes = [shown(code) for code in generate_set(user, clock())]
        db.session.commit()
    browser = app.test_client()
    assert login(browser, "texts@example.com").headers["Location"].startswith("/2fa")
    assert redeem(browser, codes[0]).status_code == 302
    assert flashes(browser.get("/account").text) == [(
        "You signed in with a recovery code. 9 codes are left. If you lost your phone, change the phone number "
        "for text messages.", [("/account/2fa/sms", "change the phone number for text messages")])]


def test_a_user_with_app_and_phone_gets_both_links(app, enrollment, clock):
    with app.app_context():
        user_id = db.session.scalar(select(User.id))
        db.session.add(SmsFactor(user_id=user_id, phone="+8613800138000", created_at=clock(), confirmed_at=clock()))
        db.session.commit()
    browser = pending(app)
    assert redeem(browser, enrollment.recovery_codes[0]).status_code == 302
    [(text, links)] = flashes(browser.get("/account").text)
    assert text.endswith("If you lost your phone, set up your authenticator app again and change the phone "
                         "number for text messages.")
    assert links == [("/account/2fa/totp", "set up your authenticator app again"),
                     ("/account/2fa/sms", "change the phone number for text messages")]


def test_a_recovery_code_works_once(app, enrollment):
    code = enrollment.recovery_codes[1]
    assert redeem(pending(app), code).status_code == 302
    again = redeem(pending(app), code)
    assert again.status_code == 400
    # What a person with a list of single-use codes needs, not the authenticator app's "wait for a new code".
    assert "That recovery code was already used: each code works once. Enter another code from your saved list." \
        in again.text
    assert "your app" not in again.text
    wrong = redeem(pending(app), "ZZZZ-ZZZZ-ZZZZ")
    assert wrong.status_code == 400
    assert "That recovery code is not correct. Check it against your saved list and try again." in wrong.text


def while_checking(monkeypatch, action):
    """Run action(conn) on another connection, committed, while a recovery code's Argon2 check runs (as another
    request of the same account would, between the code's row being read and being marked used)."""
    import portal.factors.recovery as recovery

    real = recovery.passwords

    class Meanwhile:
        def __getattr__(self, name):
            return getattr(real(), name)

        def verify(self, stored, typed):
            matched = real().verify(stored, typed)
            with db.engine.begin() as conn:
                action(conn)
            return matched

    monkeypatch.setattr(recovery, "passwords", Meanwhile)


def test_an_old_code_checked_while_a_new_set_is_made_signs_in_nothing_and_uses_up_nothing(app, enrollment,
                                                                                       monkeypatch):
    # The new set commits while the old code is checked, and its rows take the old rows' ids (SQLite hands the
    # highest id out again after a delete; here every id is reused, on both databases).
    from portal.clock import now
    from portal.crypto import passwords
    from portal.factors.recovery import new_code, selector_of

    def new_set(conn):
        old = conn.execute(select(RecoveryCode.id, RecoveryCode.user_id).order_by(RecoveryCode.id)).all()
        conn.execute(delete(RecoveryCode))
        for row_id, user_id in old:
            code = new_code()
            conn.execute(insert(RecoveryCode).values(id=row_id, user_id=user_id, created_at=now(),
                                                     selector=selector_of(code), code_hash=passwords().hash(code)))

    before = {row.id for row in rows(app)}
    while_checking(monkeypatch, new_set)
    refused = redeem(pending(app), enrollment.recovery_codes[2])
    assert refused.status_code == 400, refused.headers.get("Location")
    after = rows(app)
    assert {row.id for row in after} == before and len(after) == 10  # the new set, in the old rows' ids
    assert all(row.used_at is None for row in after)  # none of the new codes was used up
    assert "recovery.used" not in [e.event for e in events(app)]


def test_a_sign_in_ended_while_its_wrong_code_is_checked_is_expired_not_an_error(app, enrollment, monkeypatch):
    # "Sign out other sessions" (or a new set of codes) on another device while this wrong code is checked.
    from portal.models import UserSession

    while_checking(monkeypatch, lambda conn: conn.execute(delete(UserSession)))
    browser = pending(app)
    response = redeem(browser, "ZZZZ-ZZZZ-ZZZZ")
    assert (response.status_code, response.headers.get("Location")) == (302, "/login")
    assert "Your sign-in expired or was cancelled." in browser.get("/login").text
    assert "signin.second_factor_failed" in [e.event for e in events(app)]  # the attempt is still on record
    assert browser.get("/2fa/recovery").status_code == 302  # nothing left to continue


def test_a_sign_in_ended_while_its_right_code_is_checked_signs_nothing_in(app, enrollment, monkeypatch):
    from portal.models import UserSession

    while_checking(monkeypatch, lambda conn: conn.execute(delete(UserSession)))
    browser = pending(app)
    response = redeem(browser, enrollment.recovery_codes[3])
    assert (response.status_code, response.headers.get("Location")) == (302, "/login")
    assert browser.get("/account").status_code == 302  # not signed in
    assert all(row.used_at is None for row in rows(app))  # and the code is still there to use
    assert "recovery.used" not in [e.event for e in events(app)]


def test_malformed_recovery_code_is_a_clear_400_and_costs_nothing(app, enrollment):
    browser = pending(app)
    response = redeem(browser, "not a code")
    assert response.status_code == 400
    assert "Enter a recovery code, like ABCD-EFGH-JKMN." in response.text
    with app.app_context():
        assert db.session.scalar(select(User.factor_failures)) == 0


def test_wrong_recovery_codes_share_the_budget_with_the_app(app, enrollment, clock):
    first = pending(app)
    for _ in range(3):
        assert send_totp(first, "000000").status_code == 400
    second = pending(app)  # a new pending sign-in: the per-account count carries over
    for _ in range(2):
        assert redeem(second, "ABCD-EFGH-JKMN").status_code == 400
    blocked = redeem(second, enrollment.recovery_codes[0])
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    # The code was not checked and is still live: it must not be written back into the page.
    assert enrollment.recovery_codes[0] not in blocked.text


def test_a_locked_page_does_not_echo_the_code(app, signed_in, enrollment, clock):
    with app.app_context():
        db.session.execute(update(User).values(factor_failures=app.config["SECOND_FACTOR_LOCK_AT"]))
        db.session.commit()
    page = signed_in.get("/account/2fa/totp")  # the manage page keeps its form when codes are locked
    locked = signed_in.post("/account/2fa/totp/remove", data={"csrf_token": csrf_token(page), "code": "135790"})
    assert locked.status_code == 403
    assert 'name="code"' in locked.text and "135790" not in locked.text


def test_a_recovery_code_opens_a_locked_account(app, enrollment, clock):
    with app.app_context():
        db.session.execute(update(User).values(factor_failures=app.config["SECOND_FACTOR_LOCK_AT"]))
        db.session.commit()
    clock.advance(3600)
    browser = pending(app)
    locked = browser.get("/2fa/verify?method=totp")
    assert locked.status_code == 403
    assert 'href="/2fa/recovery' in locked.text
    assert redeem(browser, enrollment.recovery_codes[2]).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.factor_failures)) == 0


def low_warning(html):
    return [(text, links) for text, links in flashes(html) if "recovery code" in text and "left." in text
            and not text.startswith("You signed in")]


def test_few_codes_left_warns_at_every_sign_in(app, enrollment, clock):
    link = [(CODES_PAGE, "Generate new codes")]
    for code in enrollment.recovery_codes[:6]:
        assert redeem(pending(app), code).status_code == 302
    assert low_warning(totp_sign_in(app, enrollment, clock).get("/account").text) == []  # 4 left
    browser = pending(app)
    assert redeem(browser, enrollment.recovery_codes[6]).status_code == 302
    signed_in_with_code = browser.get("/account").text
    assert low_warning(signed_in_with_code) == [("Only 3 recovery codes are left. Generate new codes", link)]
    for _ in range(2):  # every sign-in, not just the first one after the count dropped
        account = totp_sign_in(app, enrollment, clock).get("/account").text
        assert low_warning(account) == [("Only 3 recovery codes are left. Generate new codes", link)]
        assert '<a href="/account/2fa/recovery-codes">Generate new codes</a>' in account  # a link, not text
    for code in enrollment.recovery_codes[7:9]:
        assert redeem(pending(app), code).status_code == 302
    assert low_warning(totp_sign_in(app, enrollment, clock).get("/account").text) == [
        ("Only 1 recovery code is left. Generate new codes", link)]
    assert redeem(pending(app), enrollment.recovery_codes[9]).status_code == 302
    for _ in range(2):
        assert low_warning(totp_sign_in(app, enrollment, clock).get("/account").text) == [
            ("No recovery codes are left. Generate new codes", link)]
    # A new set ends the warning.
    browser = totp_sign_in(app, enrollment, clock)
    assert regenerate(browser).status_code == 200
    assert low_warning(totp_sign_in(app, enrollment, clock).get("/account").text) == []


def test_no_warning_without_a_primary_factor(app, make_user, clock):
    user = make_user("no-factor@example.com")
    with app.app_context():
        generate_set(user, clock())  # a left-over set, but no authenticator or phone: 2FA is off
        db.session.execute(update(RecoveryCode).values(used_at=clock()))
        db.session.commit()
    browser = app.test_client()
    assert login(browser, "no-factor@example.com").headers["Location"] == "/account"
    assert flashes(browser.get("/account").text) == []


def test_regenerating_needs_post_and_a_fresh_password_and_kills_the_old_set(app, signed_in, enrollment, clock):
    before = [r.code_hash for r in rows(app)]
    assert signed_in.get("/account/2fa/recovery-codes").status_code == 200
    assert [r.code_hash for r in rows(app)] == before  # a GET changes nothing
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    page = signed_in.get("/account/2fa/recovery-codes")
    stale = signed_in.post("/account/2fa/recovery-codes", data={"csrf_token": csrf_token(page),
                                                                "replaces": replaces_token(page.text)})
    assert stale.status_code == 302
    # After the password the user comes back to this page (it answers a GET), not to /account.
    assert stale.headers["Location"] == "/reauth?next=/account/2fa/recovery-codes"
    back = submit(signed_in, "/reauth?next=/account/2fa/recovery-codes", {"password": GOOD_PASSWORD})
    assert back.status_code == 302 and back.headers["Location"] == "/account/2fa/recovery-codes"
    fresh = signed_in.post("/account/2fa/recovery-codes", data={"csrf_token": csrf_token(page),
                                                                "replaces": replaces_token(page.text)})
    assert fresh.status_code == 200
    assert fresh.headers["Cache-Control"] == "no-store"
    new_codes = recovery_codes_on(fresh.get_data(as_text=True))
    assert set(new_codes).isdisjoint(enrollment.recovery_codes)
    assert redeem(pending(app), enrollment.recovery_codes[0]).status_code == 400
    assert redeem(pending(app), new_codes[0]).status_code == 302
    assert [e.event for e in events(app)].count("recovery.generated") == 2


def test_continue_needs_the_saved_box(app, signed_in, enrollment):
    page = signed_in.get("/account")
    refused = signed_in.post("/account/2fa/recovery-codes/saved", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 400
    assert "I have saved these codes" in refused.text
    ok = signed_in.post("/account/2fa/recovery-codes/saved", data={"csrf_token": csrf_token(page), "saved": "yes"})
    assert ok.status_code == 302


def test_a_fault_after_consumption_rolls_back_and_the_code_stays_usable(app, enrollment, monkeypatch):
    from portal.auth import flow

    def broken(row):
        raise RuntimeError("injected fault after the code was consumed")

    monkeypatch.setattr(flow, "complete", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = False
    failed = redeem(pending(app), enrollment.recovery_codes[3])
    assert failed.status_code == 500
    assert "injected fault" not in failed.text
    assert all(row.used_at is None for row in rows(app))
    monkeypatch.undo()
    assert redeem(pending(app), enrollment.recovery_codes[3]).status_code == 302


def race_one_code(base, path, code, browsers):
    """Sign `browsers` clients in with the password, then POST the same code from all at once.

    Returns (status, body) of every POST.
    """
    clients = [Browser(base) for _ in range(browsers)]
    for client in clients:
        assert client.post_form("/login", {"email": EMAIL, "password": GOOD_PASSWORD}) == 302
    barrier = Barrier(len(clients))

    def race(client):
        status, page = client.open(path)
        assert status == 200, status
        token = csrf_token_from(page)
        barrier.wait(timeout=30)
        return client.open(path, {"csrf_token": token, "code": code})

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(race, clients))


# Every one of the 30 must reach the code check: no per-account delay may answer for it.
@pytest.mark.parametrize("settings", [{"SECOND_FACTOR_FREE_FAILURES": 50}])
def test_thirty_concurrent_redemptions_of_one_code_succeed_once(app, enrollment):
    code = enrollment.recovery_codes[4]
    with serving(app) as base:
        answers = race_one_code(base, "/2fa/recovery", code, 30)
    statuses = [status for status, _ in answers]
    assert statuses.count(302) == 1, statuses
    refused = [body for status, body in answers if status != 302]
    assert [status for status in statuses if status != 302] == [400] * 29
    assert all("That recovery code was already used:" in body for body in refused), [
        body[body.find("<main"):][:600] for body in refused if "That recovery code was already used:" not in body][:1]
    assert sum(1 for row in rows(app) if row.used_at is not None) == 1
    assert [e.event for e in events(app)].count("recovery.used") == 1


def test_a_recovery_code_can_remove_a_lost_authenticator(app, signed_in, enrollment):
    page = signed_in.get("/account/2fa/totp")
    response = signed_in.post("/account/2fa/totp/remove", data={"csrf_token": csrf_token(page),
                                                               "code": casual(enrollment.recovery_codes[5])})
    assert response.status_code == 302
    assert rows(app) == []  # no second factor left: the recovery codes went with it
    kinds = [e.event for e in events(app)]
    assert kinds[-3:] == ["recovery.used", "totp.removed", "recovery.deleted"]


def test_a_used_recovery_code_on_the_manage_page_says_so(app, signed_in, enrollment):
    code = enrollment.recovery_codes[7]
    assert redeem(pending(app), code).status_code == 302
    page = signed_in.get("/account/2fa/totp")
    response = signed_in.post("/account/2fa/totp/remove", data={"csrf_token": csrf_token(page), "code": code})
    assert response.status_code == 400
    assert "That recovery code was already used: each code works once." in response.text
    assert "your app shows a new code" not in response.text
    assert len(rows(app)) == 10  # nothing removed


def test_a_recovery_code_can_start_replacing_the_authenticator(app, signed_in, enrollment, tmp_path):
    page = signed_in.get("/account/2fa/totp")
    response = signed_in.post("/account/2fa/totp/replace", data={"csrf_token": csrf_token(page),
                                                                "code": enrollment.recovery_codes[6]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/2fa/totp"
    assert "Set up your new authenticator app" in signed_in.get("/account/2fa/totp").text
    assert len(rows(app)) == 10 and sum(1 for r in rows(app) if r.used_at) == 1


def test_a_second_post_of_the_same_form_makes_no_new_set(app, signed_in, enrollment):
    page = signed_in.get(CODES_PAGE)
    form = {"csrf_token": csrf_token(page), "replaces": replaces_token(page.text)}
    first = signed_in.post(CODES_PAGE, data=form)
    assert first.status_code == 200
    codes = recovery_codes_on(first.get_data(as_text=True))
    hashes = sorted(r.code_hash for r in rows(app))
    # A refresh of the codes page (the browser sends the form again), or a second click.
    again = signed_in.post(CODES_PAGE, data=form)
    assert again.status_code == 302
    assert again.headers["Location"] == CODES_PAGE
    assert sorted(r.code_hash for r in rows(app)) == hashes  # the set just shown is untouched
    assert live_codes(app) == 10
    assert recovery_codes_on(first.get_data(as_text=True)) == codes
    overview = signed_in.get(CODES_PAGE).text
    assert flashes(overview) == [(ALREADY_MADE, [])]
    assert not any(code in overview for code in codes)
    assert [e.event for e in events(app)].count("recovery.generated") == 2  # enrollment + one
    assert redeem(pending(app), codes[0]).status_code == 302
    assert redeem(pending(app), enrollment.recovery_codes[1]).status_code == 400


@pytest.mark.parametrize("token", ["", "0" * 64, "not a token", "é" * 64], ids=["empty", "zeros", "text", "non-ascii"])
def test_a_post_without_the_current_sets_token_makes_no_new_set(app, signed_in, enrollment, token):
    page = signed_in.get(CODES_PAGE)
    hashes = sorted(r.code_hash for r in rows(app))
    response = signed_in.post(CODES_PAGE, data={"csrf_token": csrf_token(page), "replaces": token})
    assert response.status_code == 302
    assert response.headers["Location"] == CODES_PAGE
    assert sorted(r.code_hash for r in rows(app)) == hashes
    assert flashes(signed_in.get(CODES_PAGE).text) == [(ALREADY_MADE, [])]
    assert [e.event for e in events(app)].count("recovery.generated") == 1


def test_the_token_of_another_users_set_does_not_work(app, signed_in, enrollment, make_user, clock):
    other = make_user("other@example.com")
    with app.app_context():
        generate_set(other, clock())
        db.session.commit()
        others = set_token(db.session.get(User, other.id))
    page = signed_in.get(CODES_PAGE)
    hashes = sorted(r.code_hash for r in rows(app))
    response = signed_in.post(CODES_PAGE, data={"csrf_token": csrf_token(page), "replaces": others})
    assert response.status_code == 302
    assert sorted(r.code_hash for r in rows(app)) == hashes
    assert [e.event for e in events(app)].count("recovery.generated") == 1  # the enrollment only


def test_after_a_new_set_the_page_offers_a_new_token(app, signed_in, enrollment):
    first = regenerate(signed_in)
    second = regenerate(signed_in)
    assert first.status_code == second.status_code == 200
    assert set(recovery_codes_on(first.text)).isdisjoint(recovery_codes_on(second.text))
    assert redeem(pending(app), recovery_codes_on(first.text)[0]).status_code == 400
    assert redeem(pending(app), recovery_codes_on(second.text)[0]).status_code == 302


def test_regenerating_signs_out_the_other_sessions(app, signed_in, enrollment, clock):
    other = totp_sign_in(app, enrollment, clock)
    assert other.get("/account").status_code == 200
    assert regenerate(signed_in).status_code == 200
    assert other.get("/account").status_code == 302  # signed out on the server
    assert signed_in.get("/account").status_code == 200  # the browser that made the change stays


def test_regenerating_is_rate_limited_per_ip(app, signed_in, enrollment):
    for _ in range(5):
        assert regenerate(signed_in).status_code == 200
    hashes = sorted(r.code_hash for r in rows(app))
    refused = regenerate(signed_in)
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert sorted(r.code_hash for r in rows(app)) == hashes
    assert [e.event for e in events(app)].count("recovery.generated") == 6  # enrollment + 5
