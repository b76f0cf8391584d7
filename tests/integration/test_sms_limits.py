"""The caps on texts: 5 per 10 minutes per number and per account, 10 per day per account, and per IP."""

from __future__ import annotations

import pytest

from tests.integration.sms_helpers import (
    NEW_PHONE,
    NEW_TYPED,
    PHONE,
    PROVIDERS,
    add_phone,
    countdown,
    enter_code,
    give_phone,
    pending,
    resend_enrollment,
    send_code,
    sms_state,
)

ADA, BEA = "ada@example.com", "bea@example.com"


@pytest.fixture(params=PROVIDERS)
def sms_provider(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ip_limit() -> str:
    """RATELIMIT_SMS: out of the way, except where a test sets it."""
    return "1000 per hour"


@pytest.fixture
def settings(sms_settings, ip_limit):
    return {**sms_settings, "RATELIMIT_SMS": ip_limit}


@pytest.fixture(autouse=True)
def twilio_on_our_clock(twilio, clock):
    twilio.clock = clock  # Verify's own 10-minute verifications follow the test's time too


def sent(browser) -> None:
    response = send_code(browser)
    assert response.status_code == 303, response.status_code


CAPPED = "Too many codes were requested recently."


def capped(response, seconds: int, browser=None) -> None:
    """A cap: its message (with no number, which would stand still beside the countdown) and the countdown giving
    the wait. At sign-in (browser given) a 303 back to the code page, which the browser follows; on the phone
    pages a 429 whose Retry-After gives the same wait."""
    if browser is None:
        assert response.status_code == 429
        assert response.headers["Retry-After"] == str(seconds)
    else:
        assert (response.status_code, response.headers["Location"]) == (303, "/2fa/verify?method=sms")
        response = browser.get(response.headers["Location"])
    assert CAPPED in response.text
    assert countdown(response.text) == seconds


def test_five_texts_per_ten_minutes_per_number_across_accounts(app, make_user, clock, sms_inbox):
    for email in (ADA, BEA):  # one family phone on two accounts
        give_phone(app, make_user(email), PHONE, clock)
    ada, bea = pending(app, ADA), pending(app, BEA)
    for browser in (ada, ada, ada, bea, bea):  # at 0, 60 … 240 s
        sent(browser)
        clock.advance(60)
    capped(send_code(ada), 300, ada)
    capped(send_code(bea), 300, bea)
    assert sms_inbox.count(PHONE) == 5
    assert sms_state(app).sends == 5
    clock.advance(300)  # the first text leaves the window (and the pending sign-ins end: sign in again)
    ada, bea = pending(app, ADA), pending(app, BEA)
    sent(ada)
    capped(send_code(bea), 60, bea)  # the window slides: the second text leaves it a minute later
    assert sms_inbox.count(PHONE) == 6
    assert sms_state(app).sends == 6


# Twilio Verify counts its own sends per number (error 60203): that cap is Twilio's, not ours (README).
@pytest.mark.parametrize("sms_provider", [p for p in PROVIDERS if p != "twilio_verify"])
def test_strangers_setting_up_a_number_cannot_use_up_its_owners_sign_in_codes(app, make_user, clock, sms_inbox):
    # Anyone can type a number into a setup form; five strangers doing so must not lock its owner out.
    from tests.support import login

    give_phone(app, make_user(ADA), PHONE, clock)
    strangers = [f"stranger{n}@example.com" for n in range(6)]
    for email in strangers[:5]:
        make_user(email)
        browser = app.test_client()
        login(browser, email)
        assert add_phone(browser).status_code == 302  # a setup text to Ada's number
    assert sms_inbox.count(PHONE) == 5
    make_user(strangers[5])
    sixth = app.test_client()
    login(sixth, strangers[5])
    capped(add_phone(sixth), 600)  # the number's cap still stops a sixth stranger's setup text
    ada = pending(app, ADA)
    sent(ada)  # Ada still gets her sign-in code
    assert sms_inbox.count(PHONE) == 6
    assert enter_code(ada, sms_inbox.last_code(PHONE)).headers["Location"] == "/account"
    for _ in range(4):  # and her own sign-in codes are capped as before: 5 per 10 minutes
        clock.advance(60)
        sent(pending(app, ADA))
    clock.advance(60)
    ada = pending(app, ADA)
    capped(send_code(ada), 300, ada)


def test_five_texts_per_ten_minutes_per_account_across_numbers(app, make_user, clock, sms_inbox):
    give_phone(app, make_user(ADA), PHONE, clock)
    account = pending(app, ADA)
    sent(account)  # 1 (0 s)
    assert enter_code(account, sms_inbox.last_code(PHONE)).headers["Location"] == "/account"
    assert add_phone(account, NEW_TYPED).status_code == 302  # 2: to the new number
    clock.advance(60)
    assert resend_enrollment(account).status_code == 302  # 3
    other = pending(app, ADA)
    sent(other)  # 4
    clock.advance(60)
    sent(other)  # 5 (120 s)
    clock.advance(60)
    capped(send_code(other), 420, other)
    capped(resend_enrollment(account), 420)
    assert (sms_inbox.count(PHONE), sms_inbox.count(NEW_PHONE)) == (3, 2)
    assert sms_state(app).sends == 5
    clock.advance(420)
    sent(other)


def test_ten_texts_per_day_per_account(app, make_user, clock, sms_inbox):
    give_phone(app, make_user(ADA), PHONE, clock)
    start = clock()
    for n in range(10):
        if n == 5:
            clock.advance(600)  # past the 10-minute cap
        clock.advance(60)
        sent(pending(app, ADA))  # a new sign-in each time: a pending one lasts 10 minutes
    clock.advance(600)
    wait = int((start.timestamp() + 60 + 86_400) - clock().timestamp())
    ada = pending(app, ADA)
    capped(send_code(ada), wait, ada)
    assert sms_inbox.count(PHONE) == 10
    assert sms_state(app).sends == 10
    clock.advance(wait)
    sent(pending(app, ADA))
    assert sms_inbox.count(PHONE) == 11


@pytest.mark.parametrize("sms_provider", ["twilio_verify"])
@pytest.mark.parametrize("ip_limit", ["3 per hour"])
def test_texts_per_ip_address_are_capped(app, make_user, clock, sms_inbox, twilio):
    emails = [f"user{n}@example.com" for n in range(4)]
    for n, email in enumerate(emails):
        give_phone(app, make_user(email), f"+86138{n:08d}", clock)
    browsers = [pending(app, email) for email in emails]
    for browser in browsers[:3]:
        sent(browser)
    refused = send_code(browsers[3])
    assert refused.status_code == 429
    retry = int(refused.headers["Retry-After"])
    assert retry > 120
    # The page gives the wait Retry-After gives (in minutes, this one being over two).
    assert f"Too many attempts in a short time. Wait {(retry + 59) // 60} minutes, then try again." in refused.text
    assert sms_inbox.count() == 3
    assert len(twilio.requests) == 3
    assert sms_state(app).sends == 3
    assert pending(app, emails[3]).get("/2fa/verify?method=sms").status_code == 200  # only sending is capped


def test_cancelling_or_removing_a_number_keeps_the_cooldown(app, signed_in, clock, sms_inbox):
    from tests.support import csrf_token

    assert add_phone(signed_in).status_code == 302
    cooldown = app.config["SMS_RESEND_COOLDOWN"]
    clock.advance(5)
    page = signed_in.get("/account/2fa/sms/confirm")
    assert signed_in.post("/account/2fa/sms/cancel", data={"csrf_token": csrf_token(page)}).status_code == 302
    # Security: a new setup is no way around the wait (SMS pumping: add, cancel, add …).
    again = add_phone(signed_in)
    assert again.status_code == 429
    assert again.headers["Retry-After"] == str(cooldown - 5)
    assert countdown(again.text) == cooldown - 5
    other = add_phone(signed_in, NEW_TYPED)  # nor is another number
    assert other.status_code == 429
    assert sms_inbox.count() == 1 and sms_state(app).sends == 1
    clock.advance(cooldown)
    assert add_phone(signed_in, NEW_TYPED).status_code == 302
    assert sms_inbox.count(NEW_PHONE) == 1


@pytest.mark.parametrize("sms_provider", ["twilio_messaging"])
def test_parallel_sends_to_one_number_stop_at_the_cap(app, make_user, clock, sms_inbox, sms_provider):
    """Eight accounts share one number and press "Send code" at once: the per-number cap still holds."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from tests.conftest import serving
    from tests.integration.sms_helpers import LiveBrowser
    from tests.support import GOOD_PASSWORD

    app.config["SMS_SENDS_PER_10_MINUTES"] = cap = 3
    emails = [f"family{n}@example.com" for n in range(8)]
    for email in emails:
        give_phone(app, make_user(email), PHONE, clock)
    with serving(app) as base:
        browsers = [LiveBrowser(base) for _ in emails]
        for browser, email in zip(browsers, emails, strict=True):
            browser.sign_in(email, GOOD_PASSWORD)
        tokens = [b.token("/2fa/verify?method=sms") for b in browsers]
        barrier = Barrier(len(browsers))

        def press(pair):
            barrier.wait(timeout=30)
            return pair[0].send_code(pair[1])[0]

        with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
            statuses = list(pool.map(press, zip(browsers, tokens, strict=True)))
    assert statuses == [303] * len(emails), statuses  # each back to its code page: a text, or the cap's wait
    assert sms_inbox.count(PHONE) == cap
    assert sms_state(app).sends == cap


@pytest.mark.parametrize("sms_provider", ["twilio_messaging"])
@pytest.mark.parametrize("ip_limit", ["3 per hour"])
def test_one_ip_budget_covers_every_route_that_sends(app, make_user, clock, sms_inbox, signed_in):
    # Sign-in texts and setup texts from one IP address share RATELIMIT_SMS: 3, not 3 per route.
    for n in range(2):
        give_phone(app, make_user(f"user{n}@example.com"), f"+86138{n:08d}", clock)
        sent(pending(app, f"user{n}@example.com"))
    assert add_phone(signed_in).status_code == 302  # the third text: a number being set up
    clock.advance(app.config["SMS_RESEND_COOLDOWN"])
    refused = resend_enrollment(signed_in)
    assert refused.status_code == 429
    retry = int(refused.headers["Retry-After"])
    assert f"Too many attempts in a short time. Wait {(retry + 59) // 60} minutes, then try again." in refused.text
    assert sms_inbox.count() == 3


@pytest.mark.parametrize("sms_provider", ["twilio_verify", "twilio_messaging"])
def test_the_twilio_sdk_does_not_log_each_request_at_info(app, make_user, clock, sms_inbox, caplog):
    import logging

    caplog.set_level(logging.INFO)
    give_phone(app, make_user(ADA), PHONE, clock)
    sent(pending(app, ADA))
    assert sms_inbox.count(PHONE) == 1
    assert [r.getMessage() for r in caplog.records if r.name.startswith("twilio")] == []


def test_signing_in_right_after_confirming_a_phone_does_not_wait(app, signed_in, email, sms_inbox, clock):
    from tests.integration.sms_helpers import enroll_phone

    enroll_phone(signed_in, sms_inbox)
    clock.advance(5)  # well inside the setup text's cooldown
    browser = pending(app, email)
    assert countdown(browser.get("/2fa/verify?method=sms").text) == 0  # no wait shown before the first code
    sent(browser)
    assert sms_inbox.count(PHONE) == 2
    assert countdown(browser.get("/2fa/verify?method=sms").text) == app.config["SMS_RESEND_COOLDOWN"]
