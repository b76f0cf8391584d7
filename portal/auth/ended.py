"""Sessions an admin ended, remembered by their token's hash so the browser is told why on the sign-in page.

flow.revoke_sessions(reason=...) deletes the rows as ever and records them here; flow.load_session, finding no
row for a cookie's token, asks why() before it treats the browser as signed out. `flask portal prune` deletes
the records once those sessions would have expired anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert

from portal.extensions import db, rowcount
from portal.models import EndedSession

BY_ADMIN = "admin_2fa_off"  # support turned the user's two-step verification off (and so signed them out)
BECAUSE = {BY_ADMIN: _l("You were signed out because support turned off two-step verification for your account. "
                        "Sign in again with your password.")}


def record(reason: str, sessions: Sequence[tuple[str, datetime]]) -> None:
    """Remember why these sessions (token hash, expiry) ended. In the caller's transaction."""
    if sessions:
        db.session.execute(insert(EndedSession), [{"token_hash": token, "reason": reason, "expires_at": expires}
                                                  for token, expires in sessions])


def why(token_hash: str) -> str | None:
    """Why an admin ended the session of this token hash (translated), told once; None if no admin did."""
    reason = db.session.scalar(delete(EndedSession).where(EndedSession.token_hash == token_hash)
                               .returning(EndedSession.reason).execution_options(synchronize_session=False))
    return None if reason is None else str(BECAUSE.get(reason, BECAUSE[BY_ADMIN]))


def prune(before: datetime) -> int:
    """Forget the sessions that would have expired before `before`; return how many."""
    return rowcount(db.session.execute(delete(EndedSession).where(EndedSession.expires_at < before))) or 0
