"""An admin's form posted after the step-up lapsed: kept server-side until the confirmation, then shown again.

The admin guard calls hold() for a POST that needs the step-up first (after CSRFProtect has checked its token,
so a forged cross-site POST is refused before anything is kept). The fields go into the session's own row, never
into a URL, a GET, a log line or the (signed, not encrypted) cookie. After the confirmation the admin returns to
the page of the form, whose GET takes the fields back (take) and fills the form with them: nothing is replayed,
the admin sends the form again, with a fresh CSRF token, now confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import request
from werkzeug.datastructures import ImmutableMultiDict

from portal.auth import flow
from portal.clock import as_utc, now
from portal.extensions import db

HELD_FOR = timedelta(minutes=30)  # time enough to find the phone; the row holds them no longer than the session
NOT_KEPT = frozenset({"csrf_token"})  # a new page gets a new token


@dataclass(frozen=True)
class Held:
    """A form's fields as typed, the path it was posted to and the page it returns to."""

    action: str
    page: str
    fields: dict[str, str]

    def formdata_for(self, action: str) -> ImmutableMultiDict[str, str] | None:
        """The fields as form data for the form that posts to action, None for another form."""
        return ImmutableMultiDict(self.fields) if action == self.action else None


def hold(page: str) -> None:
    """Keep this POST's fields (all but its CSRF token) in the session row, to return to page after the step-up."""
    row = flow.current_row()
    if row is None:
        return
    fields = {name: value for name, value in request.form.items() if name not in NOT_KEPT}
    row.held_form = {"action": request.path, "page": page, "at": now().isoformat(), "fields": fields}
    db.session.commit()


def _read(row_form: dict[str, object] | None, at: datetime) -> Held | None:
    if not row_form:
        return None
    try:
        held_at = as_utc(datetime.fromisoformat(str(row_form["at"])))
        fields = row_form["fields"]
        held = Held(str(row_form["action"]), str(row_form["page"]),
                    {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {})
    except (KeyError, ValueError):
        return None
    return held if at - held_at <= HELD_FOR else None


def peek() -> Held | None:
    """The form waiting for the confirmation in this session, if any (and not too old)."""
    row = flow.current_row()
    return _read(row.held_form, now()) if row is not None else None


def take(page: str) -> Held | None:
    """The form held for page (forgotten from then on), or None. Another page leaves it where it is."""
    row = flow.current_row()
    if row is None or not row.held_form:
        return None
    held = _read(row.held_form, now())
    if held is not None and held.page != page:
        return None
    row.held_form = None  # taken, or too old to keep
    db.session.commit()
    return held
