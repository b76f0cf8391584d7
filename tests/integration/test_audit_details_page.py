"""The audit page shows each row's details as labels and values in the page's language (issue 17 point 3).

A real disable through the admin pages writes its row (removed, identity check, sessions …); rows with every
other coded value (each method, refusal reason, SMS purpose, identity check) are added beside it. The page, in
English and in Chinese, shows none of the stored keys or codes and nothing of Python's dict syntax.
"""

from __future__ import annotations

import html
import re

import pytest

from portal.extensions import db
from portal.models import User
from tests.integration.test_admin import TARGET, confirm, disable, enrolled_admin
from tests.unit.test_events import CATALOGUES, catalogue

CHINESE = catalogue(CATALOGUES / "zh_Hans" / "LC_MESSAGES" / "messages.po")
LANGUAGES = {"en": "en", "zh": "zh-CN,zh;q=0.9"}
# Every key and coded value the portal stores: none may reach the page as it is stored.
RAW = ("method", "reason", "recovery_codes_left", "failures_cleared", "sessions_revoked", "identity_check",
       "case_reference", "request_id", "requested_by", "email_key", "os_user", "purpose", "recovery_codes",
       "video_call", "id_document", "call_back", "in_person", "clock_skew", "malformed", "replayed", "throttled",
       "cooldown", "sign_in", "enroll", "cli", "totp", "sms", "recovery")
PYTHON_SYNTAX = re.compile(r"[{}\[\]]|'\w+': |\bNone\b|\bTrue\b|\bFalse\b")


def words(language: str, english: str) -> str:
    if language == "en":
        return english
    entry = CHINESE[english]
    assert entry.string, english  # type: ignore[attr-defined]
    return entry.string  # type: ignore[attr-defined]


def visible(fragment: str) -> str:
    """What a reader sees of an HTML fragment: its text, without tags or attributes."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def details_text(page: str) -> str:
    """The text of every row's Details cell."""
    cells = re.findall(r'<td [^>]*class="details"[^>]*>(.*?)</td>', page, flags=re.DOTALL)
    assert cells, "no details cell on the page"
    return " | ".join(visible(cell) for cell in cells)


def add_rows(app, user_id: int) -> None:
    """A row for each coded value the portal writes, as the code writes it."""
    from portal import audit

    rows = [("signin.second_factor_failed", {"method": method, "reason": reason})
            for method in ("totp", "sms", "recovery")
            for reason in ("invalid", "malformed", "expired", "replayed", "throttled", "cooldown", "wait",
                           "locked", "clock_skew")]
    rows += [("sms.sent", {"purpose": purpose, "phone": "+86•••••8000"}) for purpose in ("sign_in", "enroll")]
    rows += [("admin.disable_requested", {"request_id": 1, "identity_check": check, "case_reference": "C-9",
                                          "notes": "Checked the passport."})
             for check in ("id_document", "video_call", "call_back", "in_person", "other")]
    rows += [("signin.locked", {"failures": 50}), ("recovery.generated", {"count": 10}),
             ("signin.password_failed", {"email_key": "0f3a9c2b7d5e1f48"}),
             ("recovery.used", {"method": "recovery", "recovery_codes_left": 9})]
    with app.app_context():
        user = db.session.get(User, user_id)
        for event, details in rows:
            audit.record(event, actor=None, subject=user, ip="203.0.113.9", **details)
        db.session.commit()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_audit_page_shows_details_in_words(app, make_user, clock, tmp_path, target, language):
    user, _ = target
    browser, secret = enrolled_admin(app, make_user, clock, tmp_path)
    confirm(browser, secret, clock)
    assert disable(browser, user.id).status_code == 302  # the real row: removed, identity check, sessions …
    add_rows(app, user.id)
    page = browser.get(f"/admin/audit?user={TARGET}", headers={"Accept-Language": LANGUAGES[language]})
    assert page.status_code == 200
    table = visible(page.text[page.text.index("<table"):page.text.index("</table>")])
    assert not PYTHON_SYNTAX.search(table), PYTHON_SYNTAX.search(table)
    text = details_text(page.text)
    assert [raw for raw in RAW if re.search(rf"(?<![\w.@-]){raw}(?![\w@-])", text)] == [], text
    t = lambda english: words(language, english)  # noqa: E731
    for label in ("Method", "Reason", "Identity check", "Case reference", "Notes", "Removed", "Sessions signed out",
                  "Wrong codes cleared", "Purpose", "Phone number", "Wrong codes in a row", "Codes made",
                  "Email address key (hashed)", "Approval request", "Recovery codes left"):
        assert t(label) in text, label
    for value in ("Authenticator app", "Text message (SMS)", "Recovery code", "Wrong code", "Not a code",
                  "Code expired", "Code already used", "Too many codes sent", "New code asked for too soon",
                  "Tried again too soon after wrong codes", "Locked after too many wrong codes",
                  "The phone's clock is off", "Signing in", "Setting up the phone", "ID document checked",
                  "Video call", "Call-back to the phone number on file", "In person", "Other"):
        assert t(value) in text, value
    # The real disable's row: what it removed, counted in words.
    removed = t("%(what)s: %(value)s") % {"what": t("Recovery codes"), "value": 10}
    assert removed in text, text
    assert text.count(t("Authenticator app")) >= 2
