"""The admin's access report (/admin/access): who opened which client record, when, why and
what they saw, from the access log. With break_glass=1 only break-glass accesses: each
opening with its reason and every view under it. The same rows as `pathways access report`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from werkzeug.exceptions import BadRequest

from web.security import application, current_user, roles_required

bp = Blueprint("access", __name__)

SHOWN = 1000  # rows on the page, newest first; the CLI lists them all


@bp.get("/admin/access")
@roles_required("admin")
def report() -> Any:
    since_text = (request.args.get("since") or "").strip()
    try:
        since = date.fromisoformat(since_text) if since_text else None
    except ValueError:
        raise BadRequest("since: enter a date as YYYY-MM-DD") from None
    break_glass = request.args.get("break_glass") in ("1", "yes", "true", "on")
    rows = application().casework.access_report(current_user(), break_glass=break_glass,
                                                since=since)
    newest = list(reversed(rows))
    return render_template("access_report.html", rows=newest[:SHOWN], total=len(rows),
                           shown=SHOWN, since=since_text, break_glass=break_glass)
