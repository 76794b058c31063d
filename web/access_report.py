"""The admin's access report (/admin/access): who opened which client record, when, why and
what they saw, from the access log, and every account change admins made. With break_glass=1
only break-glass accesses: each opening with its reason and every view under it. Filtered by
organisation, user and days; /admin/access.csv is the same choice as a file. The same rows
as `pathways access report`.

Clients are shown by number, not name: the report is about who looked, and a client's name
is case data an admin of another organisation has no recorded reason to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import BadRequest

from engine.casework import AccessReportRow
from engine.csvout import csv_text
from web.security import application, current_user, roles_required

bp = Blueprint("access", __name__)

SHOWN = 1000  # rows on the page, newest first; the CLI and the CSV list them all
CSV_COLUMNS = ("at", "username", "user_name", "organisation", "organisation_name", "client",
               "action", "viewed", "reason")


@dataclass(frozen=True)
class Choice:
    """What the report is asked for, as typed (kept on the page), and what was wrong."""

    text: dict[str, str]
    since: date | None
    until: date | None
    problems: dict[str, list[str]]

    @property
    def break_glass(self) -> bool:
        return self.text["break_glass"] in ("1", "yes", "true", "on")


def _day(text: str, field: str, problems: dict[str, list[str]]) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        problems[field] = ["enter a date as YYYY-MM-DD"]
        return None


def _choice() -> Choice:
    text = {k: (request.args.get(k) or "").strip()
            for k in ("break_glass", "since", "until", "org", "user")}
    problems: dict[str, list[str]] = {}
    since = _day(text["since"], "since", problems)
    until = _day(text["until"], "until", problems)
    if since and until and until < since:
        problems["until"] = ["must be on or after the “since” day"]
    return Choice(text, since, until, problems)


def _rows(choice: Choice) -> list[AccessReportRow]:
    return application().casework.access_report(
        current_user(), break_glass=choice.break_glass, since=choice.since,
        until=choice.until, organisation=choice.text["org"] or None,
        username=choice.text["user"] or None)


@bp.get("/admin/access")
@roles_required("admin")
def report() -> Any:
    choice = _choice()
    rows = [] if choice.problems else _rows(choice)
    newest = list(reversed(rows))
    accounts = application().accounts
    names = {u.username: u.name for u in accounts.users()}
    return render_template("access_report.html", rows=newest[:SHOWN], total=len(rows),
                           shown=SHOWN, choice=choice, problems=choice.problems,
                           user_names=names, users=accounts.users(),
                           organisations=accounts.organisations(),
                           ), 400 if choice.problems else 200


@bp.get("/admin/access.csv")
@roles_required("admin")
def report_csv() -> Any:
    choice = _choice()
    if choice.problems:
        field, messages = next(iter(choice.problems.items()))
        raise BadRequest(f"{field}: {messages[0]}")
    accounts = application().accounts
    names = {u.username: u.name for u in accounts.users()}
    orgs = {o.id: o.name for o in accounts.organisations()}
    text = csv_text(CSV_COLUMNS, ((
        r.at, r.username, names.get(r.username, ""), r.organisation,
        orgs.get(r.organisation, ""), r.client, r.action, r.viewed, r.reason)
        for r in _rows(choice)))
    filename = "break-glass.csv" if choice.break_glass else "access-log.csv"
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})
