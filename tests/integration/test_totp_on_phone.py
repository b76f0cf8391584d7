"""Setting up the authenticator on the phone itself (issue 17 point 10): the setup page links the otpauth:// URI.

The link holds the secret, as the QR code does: it is on the setup page only, which is never cached
(Cache-Control: no-store), it is the QR code's own URI, and neither it nor the secret is ever logged.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

from tests.integration.totp_helpers import csrf_token_from
from tests.otp import decode_qr, parse_otpauth, qr_png_from_page, totp

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LINK = re.compile(r'<a class="button" id="totp-open" href="([^"]+)">Open in authenticator app</a>')


def test_the_setup_page_links_the_qr_codes_own_uri_and_nothing_logs_it(signed_in, clock, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    page = signed_in.get("/account/2fa/totp")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    uri = decode_qr(qr_png_from_page(page.text), tmp_path)
    links = LINK.findall(page.text)
    assert [html.unescape(link) for link in links] == [uri]
    secret = parse_otpauth(uri)["secret"]
    # The key for typing, and the Copy button that only the page's script shows.
    assert re.search(r'<code class="key" id="totp-key">([A-Z2-7]{4} ){7}[A-Z2-7]{4}</code>', page.text)
    assert re.search(r'<button type="button" class="secondary" id="totp-key-copy"[^>]* hidden>Copy</button>',
                     page.text)
    assert 'src="/static/js/totp-setup.js"' in page.text

    # Confirming leads to the recovery codes, then the account and the management page: none holds the link.
    done = signed_in.post("/account/2fa/totp", data={"csrf_token": csrf_token_from(page.text),
                                                     "code": totp(secret, clock())})
    assert done.status_code == 200
    later = [done.text, signed_in.get("/account").text, signed_in.get("/account/2fa/totp").text,
             signed_in.get("/account/2fa/recovery-codes").text]
    assert [p for p in later if "otpauth" in p or secret in p] == []

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "nothing was logged at all: the check would prove nothing"
    assert "otpauth" not in logged and secret not in logged


def test_only_the_setup_template_holds_an_otpauth_link():
    holders = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html") if "otpauth" in p.read_text())
    assert holders == ["account/totp_setup.html"]
