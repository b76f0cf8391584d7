"""Adding, confirming and changing the phone for text message codes, through HTTP, on every provider."""

from __future__ import annotations

import logging
import re
from html import unescape

import pytest

from tests.integration.sms_helpers import (
    FULL,
    MASKED,
    NEW_FULL,
    NEW_MASKED,
    NEW_PHONE,
    NEW_TYPED,
    PHONE,
    PROVIDERS,
    TYPED,
    add_phone,
    assert_masked_only,
    audit_rows,
    confirm_phone,
    countdown,
    countdown_text,
    enroll_phone,
    enter_code,
    logged,
    pending,
    resend_enrollment,
    send_code,
    sms_state,
    user_id,
    wrong,
)
from tests.integration.totp_helpers import recovery_codes_on
from tests.support import GOOD_PASSWORD, csrf_token, login, submit

EMAIL = "mei@example.com"


@pytest.fixture(params=PROVIDERS)
def sms_provider(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def allowed() -> tuple[str, ...]:
    """SMS_ALLOWED_COUNTRIES (empty: every country)."""
    return ()


@pytest.fixture
def settings(sms_settings, allowed):
    return {**sms_settings, "SMS_ALLOWED_COUNTRIES": allowed}


@pytest.fixture
def email() -> str:
    return EMAIL


@pytest.mark.parametrize("sms_provider", ["twilio_verify"])
def test_the_phone_pages_need_a_fresh_password(app, signed_in, clock, twilio):
    clock.advance(app.config["FRESH_AUTH_SECONDS"] + 1)
    stale = signed_in.get("/account/2fa/sms")
    assert stale.status_code == 302
    assert stale.headers["Location"] == "/reauth?next=/account/2fa/sms"
    token = csrf_token(signed_in.get("/account"))
    posted = signed_in.post("/account/2fa/sms", data={"csrf_token": token, "phone": TYPED, "country": "CN"})
    assert posted.status_code == 302
    assert posted.headers["Location"].startswith("/reauth")
    assert twilio.requests == []
    assert sms_state(app).phones == ()
    assert submit(signed_in, "/reauth?next=/account/2fa/sms", {"password": GOOD_PASSWORD}).status_code == 302
    assert signed_in.get("/account/2fa/sms").status_code == 200


@pytest.mark.parametrize("sms_provider", ["twilio_verify"])
def test_the_form_has_a_phone_field_and_a_country_preselected(app, signed_in):
    page = signed_in.get("/account/2fa/sms")
    assert page.status_code == 200
    assert 'name="phone"' in page.text
    assert 'autocomplete="tel-national"' in page.text
    assert '<select autocomplete="country" id="country" name="country">' in page.text
    assert '<option selected value="CN">' in page.text  # SMS_DEFAULT_REGION
    assert page.text.count("<option selected") == 1
    assert '<option value="GB">' in page.text and '<option value="US">' in page.text
    assert "Get codes by text message" in page.text


OPTION = re.compile(r'<option (?:selected )?value="([A-Z]{2})">([^<]+) \(\+\d+\)</option>')


@pytest.mark.parametrize("sms_provider", ["console"])
@pytest.mark.parametrize(("language", "first", "last", "pairs"), [
    ("en", ["Afghanistan", "Åland Islands", "Albania"], "Zimbabwe",
     [("Costa Rica", "Côte d’Ivoire"), ("Côte d’Ivoire", "Croatia"), ("Réunion", "Romania")]),
    ("zh_Hans", ["阿尔巴尼亚", "阿尔及利亚", "阿富汗"], "中国香港",
     [("比利时", "秘鲁"), ("布隆迪", "朝鲜"), ("中国", "中国澳门"), ("中国澳门", "中国台湾")]),
])
def test_the_countries_are_in_the_order_of_the_page_s_language(app, signed_in, language, first, last, pairs):
    signed_in.set_cookie("lang", language)
    page = signed_in.get("/account/2fa/sms")
    assert page.status_code == 200
    listed = OPTION.findall(unescape(page.text))
    names = [name for _code, name in listed]
    assert len(listed) == 245 and names[:3] == first and names[-1] == last
    for earlier, later in pairs:
        assert names.index(earlier) < names.index(later), (earlier, later)
    regions = dict(listed)
    if language == "zh_Hans":  # the names Tencent Cloud's console uses, not CLDR's 中国香港特别行政区 and 台湾
        assert (regions["HK"], regions["MO"], regions["TW"]) == ("中国香港", "中国澳门", "中国台湾")
        assert "特别行政区" not in page.text


def test_a_national_number_is_texted_and_confirmed(app, signed_in, sms_inbox, twilio):
    added = add_phone(signed_in, TYPED, "CN")
    assert added.status_code == 302
    assert added.headers["Location"] == "/account/2fa/sms/confirm"
    assert sms_inbox.texts(PHONE) and sms_inbox.count() == 1  # one text, to +8613800138000 only
    [row] = sms_state(app).phones
    assert (row.phone, row.confirmed) == (PHONE, False)
    page = signed_in.get("/account/2fa/sms/confirm")
    assert f"We sent a 6-digit code to {FULL}. Enter it below." in page.text  # in full, to catch a typo
    assert page.text.count("We sent") == 1 and 'class="flash' not in page.text  # no flash saying it again
    assert countdown(page.text) == app.config["SMS_RESEND_COOLDOWN"]
    assert signed_in.get("/account").text.count("Add a phone number") == 1  # not active yet
    code = sms_inbox.last_code(PHONE)

    refused = confirm_phone(signed_in, wrong(code))
    assert refused.status_code == 400
    assert "That code is not correct. Check the newest text message and try again." in refused.text
    assert not sms_state(app).phones[0].confirmed

    confirmed = confirm_phone(signed_in, code)
    assert confirmed.status_code == 200  # the first second factor: recovery codes, shown once
    assert len(recovery_codes_on(confirmed.text)) == 10
    [row] = sms_state(app).phones
    assert (row.phone, row.confirmed) == (PHONE, True)
    # The sign-in (password only so far), the text, the new phone, the codes: nothing in clear.
    rows = audit_rows(app)
    assert [event for event, _ in rows] == ["signin.password", "sms.sent", "sms.enrolled", "recovery.generated"]
    assert rows[1][1] == {"phone": MASKED, "purpose": "enroll"}
    assert rows[2][1] == {"phone": MASKED}
    account = signed_in.get("/account").text
    assert f"Codes go to {MASKED}." in account
    assert "Phone added for text message codes" in account
    assert sms_inbox.count() == 1


@pytest.mark.parametrize("sms_provider", ["twilio_messaging"])
@pytest.mark.parametrize(("typed", "country", "allowed", "message"), [
    ("", "CN", (), "Enter your mobile number."),
    ("call me maybe", "CN", (), "That does not look like a phone number. Check it and try again."),
    ("12345", "CN", (), "That is not a valid number for the country you chose."),
    ("7400 123456", "CN", (), "That is not a valid number for the country you chose."),
    ("+1 900 555 0123", "CN", (), "Premium-rate and shared-cost numbers cannot receive codes."),
    ("400 123 4567", "CN", (), "Premium-rate and shared-cost numbers cannot receive codes."),
    ("010 1234 5678", "CN", (), "That number cannot receive text messages. Use your mobile number."),
    ("+44 7400 123456", "CN", ("CN", "US"), "We cannot send text messages to numbers in that country."),
    ("7400 123456", "GB", ("CN",), "We cannot send text messages to numbers in that country."),
], ids=["empty", "letters", "too-short", "wrong-country", "premium", "shared-cost", "landline", "not-allowed",
        "not-allowed-national"])
def test_numbers_we_will_not_text_are_refused_before_twilio(app, signed_in, twilio, typed, country, message):
    response = add_phone(signed_in, typed, country)
    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert twilio.requests == []
    assert sms_state(app).phones == ()
    assert sms_state(app).sends == 0
    assert [event for event, _ in audit_rows(app)] == ["signin.password"]  # the fixture's sign-in only


@pytest.mark.parametrize("sms_provider", ["twilio_verify"])
@pytest.mark.parametrize("allowed", [("CN", "GB")])
def test_an_allowed_country_and_the_plus_form_work(app, signed_in, sms_inbox, allowed):
    assert add_phone(signed_in, "+44 7400 123456", "CN").status_code == 302  # the + prefix beats the select
    assert sms_inbox.count("+447400123456") == 1
    assert [row.phone for row in sms_state(app).phones] == ["+447400123456"]


def test_a_new_number_replaces_the_old_only_once_confirmed(app, signed_in, sms_inbox, clock):
    enroll_phone(signed_in, sms_inbox)
    clock.advance(app.config["SMS_RESEND_COOLDOWN"])
    setup = signed_in.get("/account/2fa/sms")
    assert "Change your phone number" in setup.text
    assert f"Codes go to {MASKED} now. It keeps working until you confirm a new number." in setup.text

    assert add_phone(signed_in, NEW_TYPED).headers["Location"] == "/account/2fa/sms/confirm"
    assert sms_inbox.count(NEW_PHONE) == 1
    assert NEW_FULL in signed_in.get("/account/2fa/sms/confirm").text
    assert f"Codes go to {MASKED}." in signed_in.get("/account").text
    assert [(r.phone, r.confirmed) for r in sms_state(app).phones] == [(PHONE, True), (NEW_PHONE, False)]

    # Meanwhile the old number still signs in (from another browser), and the new one does not.
    other = pending(app, EMAIL)
    assert send_code(other).status_code == 303
    assert sms_inbox.count(PHONE) == 2
    assert enter_code(other, sms_inbox.last_code(PHONE)).headers["Location"] == "/account"

    done = confirm_phone(signed_in, sms_inbox.last_code(NEW_PHONE))
    assert done.status_code == 302
    assert done.headers["Location"] == "/account"
    flashed = signed_in.get("/account").text
    assert "Your new number is confirmed. Codes now go to it; the old number no longer gets them." in flashed
    assert f"Codes go to {NEW_MASKED}." in flashed
    assert [(r.phone, r.confirmed) for r in sms_state(app).phones] == [(NEW_PHONE, True)]
    assert ("sms.changed", {"phone": NEW_MASKED}) in audit_rows(app)

    clock.advance(app.config["SMS_RESEND_COOLDOWN"])
    later = pending(app, EMAIL)
    assert send_code(later).status_code == 303
    assert sms_inbox.count(PHONE) == 2 and sms_inbox.count(NEW_PHONE) == 2
    assert enter_code(later, sms_inbox.last_code(NEW_PHONE)).headers["Location"] == "/account"


def test_another_number_typed_during_the_cooldown_waits_for_it(app, signed_in, sms_inbox, clock):
    cooldown = app.config["SMS_RESEND_COOLDOWN"]
    assert add_phone(signed_in, TYPED).status_code == 302
    first_code = sms_inbox.last_code(PHONE)
    clock.advance(20)
    waiting = add_phone(signed_in, NEW_TYPED)
    assert waiting.status_code == 429
    assert waiting.headers["Retry-After"] == str(cooldown - 20)
    assert countdown(waiting.text) == cooldown - 20
    assert waiting.text.count(countdown_text(cooldown - 20)) == 1  # the countdown's text; the message has no number
    assert "It is too soon to ask for another code." in waiting.text
    assert f"Ask for a code to be sent to {NEW_FULL}, then enter it below." in waiting.text
    assert sms_inbox.count(NEW_PHONE) == 0
    [row] = sms_state(app).phones  # the number the page names is the one waiting
    assert (row.phone, row.confirmed) == (NEW_PHONE, False)
    assert confirm_phone(signed_in, first_code).status_code == 400  # the old number's code is not for this one

    clock.advance(cooldown - 20)
    resent = resend_enrollment(signed_in)
    assert resent.status_code == 302
    assert sms_inbox.count(NEW_PHONE) == 1
    confirmed = confirm_phone(signed_in, sms_inbox.last_code(NEW_PHONE))
    assert confirmed.status_code == 200
    assert [(r.phone, r.confirmed) for r in sms_state(app).phones] == [(NEW_PHONE, True)]


def test_the_confirm_page_resends_after_the_cooldown(app, signed_in, sms_inbox, clock, sms_provider):
    cooldown = app.config["SMS_RESEND_COOLDOWN"]
    add_phone(signed_in, TYPED)
    first = sms_inbox.last_code(PHONE)
    clock.advance(15)
    early = resend_enrollment(signed_in)
    assert early.status_code == 429
    assert early.headers["Retry-After"] == str(cooldown - 15)
    assert countdown(early.text) == cooldown - 15
    assert sms_inbox.count(PHONE) == 1
    clock.advance(cooldown - 15)
    assert resend_enrollment(signed_in).status_code == 302
    assert sms_inbox.count(PHONE) == 2
    page = signed_in.get("/account/2fa/sms/confirm")
    assert "Enter the code from the newest text message." in page.text  # the flash; the paragraph says "sent"
    assert f"We sent a 6-digit code to {FULL}. Enter it below." in page.text and page.text.count("We sent") == 1
    assert countdown(page.text) == cooldown
    if sms_provider != "twilio_verify":  # codes we generate: a resend kills the previous one
        assert confirm_phone(signed_in, first).status_code == 400
    assert confirm_phone(signed_in, sms_inbox.last_code(PHONE)).status_code == 200


def test_the_number_is_in_full_only_on_its_confirmation_step(app, signed_in, sms_inbox, clock, caplog, twilio,
                                                             sms_provider):
    """The person who just typed the number reads it back in full, to catch a typo; every other page, the log
    and the audit log show it masked."""
    caplog.set_level(logging.DEBUG)
    add_phone(signed_in, TYPED)
    confirming = [signed_in.get("/account/2fa/sms/confirm").text]
    codes = [sms_inbox.last_code(PHONE)]
    pages = [confirm_phone(signed_in, codes[-1]).text]
    clock.advance(60)
    assert add_phone(signed_in, NEW_TYPED).status_code == 302
    codes.append(sms_inbox.last_code(NEW_PHONE))
    pages += [signed_in.get(url).text for url in ("/account", "/account/2fa/sms")]
    confirming.append(signed_in.get("/account/2fa/sms/confirm").text)
    browser = pending(app, EMAIL)
    pages.append(browser.get("/2fa/verify?method=sms").text)
    sent = send_code(browser)
    pages.append(browser.get(sent.headers["Location"]).text)
    codes.append(sms_inbox.last_code(PHONE))
    assert f"We sent a 6-digit code to {FULL}. Enter it below." in confirming[0]
    assert f"We sent a 6-digit code to {NEW_FULL}. Enter it below." in confirming[1]
    assert_masked_only(confirming[1], PHONE)  # the confirmed number, not the one just typed, stays masked
    assert MASKED in pages[-1] and MASKED in pages[2]
    example = "like +86 138 0013 8000."  # the phone form's hint happens to show this number as its example
    for html in pages:
        assert_masked_only(html.replace(example, ""), PHONE, NEW_PHONE)
        assert FULL not in html.replace(example, "") and NEW_FULL not in html
    for _event, details in audit_rows(app):
        assert_masked_only(str(details), PHONE, NEW_PHONE)
    text = logged(caplog)
    assert_masked_only(text, PHONE, NEW_PHONE)
    assert FULL not in text and NEW_FULL not in text
    assert '"event": "sms.enrolled"' in text  # the audit line is there, with the number masked
    assert twilio.auth_token not in text
    if sms_provider != "console":  # the console provider exists to show its codes in the server log
        assert not any(code in text for code in codes)
    assert user_id(app, EMAIL) > 0


@pytest.mark.parametrize("sms_provider", ["console"])
def test_adding_and_removing_the_phone_sign_out_the_other_sessions(app, signed_in, sms_inbox, clock):
    other = app.test_client()
    assert login(other, EMAIL).headers["Location"] == "/account"  # no second factor yet
    enroll_phone(signed_in, sms_inbox)
    assert other.get("/account").status_code == 302  # its session row is gone on the server
    assert signed_in.get("/account").status_code == 200  # the one that made the change stays

    clock.advance(app.config["SMS_RESEND_COOLDOWN"])
    third = pending(app, EMAIL)
    send_code(third)
    assert enter_code(third, sms_inbox.last_code(PHONE)).headers["Location"] == "/account"
    removed = submit(signed_in, "/account/2fa/sms", {}, action="/account/2fa/sms/remove")
    assert removed.status_code == 302
    assert "Your phone was removed. Sign-in codes are no longer sent to it." in signed_in.get("/account").text
    assert third.get("/account").status_code == 302
    assert sms_state(app).phones == ()
    assert audit_rows(app)[-2:] == [("sms.removed", {"phone": MASKED}), ("recovery.deleted", {})]
    assert login(app.test_client(), EMAIL).headers["Location"] == "/account"  # no second step any more
