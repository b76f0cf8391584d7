"""Security notices by email: an SMTP backend and a console backend for development.

A notice is queued on the database session when the change is recorded and sent only after that
transaction commits (a rolled-back change sends nothing). Sending never blocks or undoes the change: any
failure (refused connection, timeout, authentication, a bad address) is logged with its class and the
event, never with the message text or credentials.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import Flask, current_app, has_request_context, request
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from portal.clock import now
from portal.events import Event
from portal.extensions import db

log = logging.getLogger("portal.mail")
SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)
QUEUE = "portal.mail.queue"

@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def notify(to: str, event: Event | str, *, ip: str | None, language: str | None = None) -> None:
    """Queue the notice of event to `to`; it is sent after the current transaction commits.

    An Event without a notice (Event.notice is None, as its table says) sends nothing. A name is converted
    with Event(name): one that is not an Event raises ValueError rather than send nothing unseen.
    """
    sentence = Event(event).notice
    if sentence is None:
        return
    if language is None and has_request_context():
        from portal.i18n import current_language

        language = current_language()
    with force_locale(language or "en"):
        when = format_datetime(now()) + " UTC"
        body = "\n\n".join([
            str(sentence),
            _("When: %(when)s. From IP address: %(ip)s.", when=when, ip=ip or "-"),
            _("If this was you, there is nothing to do. If it was not, sign in, check your sign-in methods "
              "and contact support."),
            _("Security page: %(url)s", url=_account_url()),
        ])
        mail = Mail(to=to, subject=_("Security notice: %(what)s", what=str(sentence).rstrip(".。")), body=body)
    db.session.info.setdefault(QUEUE, []).append(mail)


def site_url() -> str:
    """The portal's public address, no trailing slash: MAIL_SITE_URL (production requires it), else the request's
    (development only: the Host header is the client's to choose, so a link built on it can point anywhere)."""
    base = current_app.config["MAIL_SITE_URL"] or (request.host_url if has_request_context() else "")
    return base.rstrip("/")


def _account_url() -> str:
    return site_url() + "/account"


def message_of(mail: Mail, cfg: Mapping[str, Any]) -> EmailMessage:
    # Lines up to RFC 5322's 998 characters: a long subject stays on one line (Python would otherwise fold
    # it onto the next line, and some readers keep the leading space).
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=cfg["MAIL_FROM"].rpartition("@")[2] or None)
    message.set_content(mail.body)
    return message


def deliver(mail: Mail, cfg: Mapping[str, Any]) -> None:
    """Send one mail now through the configured backend. Raises on failure (the caller logs)."""
    if cfg["MAIL_BACKEND"] == "console":
        log.info("MAIL to %s: %s\n%s", mail.to, mail.subject, mail.body)
        return
    timeout = cfg["MAIL_TIMEOUT"]
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(message_of(mail, cfg))


def _send_queued(session: Session) -> None:
    queued: list[Mail] = session.info.pop(QUEUE, [])
    for mail in queued:
        try:
            deliver(mail, current_app.config)
        except (OSError, smtplib.SMTPException) as error:
            # Security: the change stands; the failure is logged without the text or credentials.
            log.warning("security notice not sent: %s (%s)", error.__class__.__name__, mail.subject)


def _drop_queued(session: Session) -> None:
    session.info.pop(QUEUE, None)


def init_app(app: Flask) -> None:
    if not getattr(init_app, "listening", False):
        # One listener for every app: Flask-SQLAlchemy's sessions are all of one class.
        orm_event.listen(Session, "after_commit", _send_queued)
        orm_event.listen(Session, "after_soft_rollback", lambda session, _tx: _drop_queued(session))
        init_app.listening = True  # type: ignore[attr-defined]  # a flag on the function: mypy knows no such attribute
