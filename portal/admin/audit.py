"""/admin/audit: the audit log, filtered, paged, and as CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from flask import render_template, request
from werkzeug.wrappers import Response

from portal.admin import bp, queries
from portal.admin.common import page_number, query_text
from portal.admin.details import describe, user_ids
from portal.admin.operations import REFERENCE_MAX
from portal.events import label_of
from portal.extensions import db
from portal.models import AuditEvent


def _date(name: str) -> date | None:
    """A YYYY-MM-DD parameter; anything else (or the last day a date can hold) means no bound."""
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return day if day < date.max else None


def _audit_filter() -> queries.AuditFilter:
    return queries.AuditFilter(user=query_text("user", 320), event=query_text("event", 64),
                               since=_date("since"), until=_date("until"), case=query_text("case", REFERENCE_MAX))


@bp.route("/audit")
def audit() -> str:
    f = _audit_filter()
    page = page_number()
    stmt = queries.audit_query(f)
    rows = [] if stmt is None else list(db.session.scalars(
        stmt.offset((page - 1) * queries.PAGE_SIZE).limit(queries.PAGE_SIZE + 1)))
    shown = rows[:queries.PAGE_SIZE]
    emails = queries.emails_of({r.actor_id for r in shown} | {r.subject_id for r in shown}
                               | {i for r in shown for i in user_ids(r.details)})
    return render_template("admin/audit.html", f=f, rows=shown, more=len(rows) > queries.PAGE_SIZE, page=page,
                           emails=emails, label_of=label_of, describe=describe, unknown_user=stmt is None)


def _csv_cell(value: object) -> str:
    """Security: a cell a spreadsheet would run as a formula (=, +, -, @) is prefixed with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/audit.csv")
def audit_csv() -> Response:
    stmt = queries.audit_query(_audit_filter())
    rows: list[AuditEvent] = [] if stmt is None else list(db.session.scalars(stmt.limit(100_000)))
    emails = queries.emails_of({r.actor_id for r in rows} | {r.subject_id for r in rows})
    out = io.StringIO()
    out.write("\ufeff")  # a UTF-8 byte order mark, so spreadsheet programs read Chinese notes as UTF-8
    writer = csv.writer(out)
    writer.writerow(["id", "at_utc", "event", "actor", "subject", "ip", "details"])
    for r in rows:
        writer.writerow([_csv_cell(v) for v in (
            r.id, r.at.isoformat(), r.event, emails.get(r.actor_id or 0, ""), emails.get(r.subject_id or 0, ""),
            r.ip, json.dumps(r.details, ensure_ascii=False, sort_keys=True, default=str))])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})
