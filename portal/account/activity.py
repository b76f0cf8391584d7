"""Recent security activity on the account page, read from the audit log."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User

LABELS = {
    "totp.enrolled": _l("Authenticator app set up"),
    "totp.replaced": _l("Authenticator app replaced"),
    "totp.removed": _l("Authenticator app removed"),
    "signin.second_factor": _l("Signed in with two-step verification"),
    "recovery.used": _l("Recovery code used"),
    "recovery.generated": _l("New recovery codes generated"),
    "recovery.deleted": _l("Recovery codes deleted"),
    "sms.enrolled": _l("Phone added for text message codes"),
    "sms.changed": _l("Phone number for text message codes changed"),
    "sms.removed": _l("Phone for text message codes removed"),
    "admin.two_factor_disabled": _l("Two-step verification turned off by support"),
    "admin.disable_requested": _l("Support asked for approval to turn off two-step verification"),
    "admin.disable_rejected": _l("Support's request to turn off two-step verification was rejected"),
    "admin.disable_withdrawn": _l("Support's request to turn off two-step verification was withdrawn"),
    "admin.disable_request_closed": _l("Support closed a request to turn off two-step verification: it was "
                                       "already off"),
    "signin.password": _l("Signed in with the password (no second step set up)"),
    "signin.password_failed": _l("Wrong password entered"),
    "signin.second_factor_failed": _l("Wrong code entered at sign-in"),
    "signin.locked": _l("Sign-in codes locked after too many wrong codes"),
    "sms.sent": _l("Text message with a code sent"),
}


def recent(user: User, limit: int = 10) -> list[tuple[AuditEvent, str]]:
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == user.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    )
    return [(row, str(LABELS.get(row.event, row.event))) for row in rows]
