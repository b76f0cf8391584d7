"""/dev/sms: the texts the console provider "sent", newest first. Registered only for SMS_PROVIDER=console,
which production refuses to start with."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from portal.sms import provider
from portal.sms.console import ConsoleProvider

bp = Blueprint("dev_outbox", __name__, url_prefix="/dev")


@bp.route("/sms", methods=["GET"])
def outbox() -> str:
    sender = provider()
    if current_app.config["PORTAL_ENV"] == "production" or not isinstance(sender, ConsoleProvider):
        abort(404)
    return render_template("dev/sms_outbox.html", texts=sender.recent())
