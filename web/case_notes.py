"""Notes and closing a case from the client record and the case page (issue 18, items 2 and
3). The forms post here; what is typed comes back with each problem at its field when it
cannot be recorded. Who may do what is decided in engine.casework (case_notes, case_closing).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for

from engine.casework import note_problems
from engine.errors import InvalidArgumentError
from engine.model import User
from web import casework
from web.security import application, current_user, login_required

bp = Blueprint("notes", __name__)

NOTE_FIELDS = ("kind", "contact_on", "minutes", "text", "case")


def _sent() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in NOTE_FIELDS}


def _parsed(sent: Mapping[str, str], problems: dict[str, list[str]]
            ) -> tuple[date | None, int | None, int | None]:
    """The day, minutes and case of a note form (problems for what does not parse)."""
    day = minutes = case = None
    try:
        day = date.fromisoformat(sent["contact_on"].strip()) if sent["contact_on"].strip() \
            else None
    except ValueError:
        problems["contact_on"] = ["enter a date as YYYY-MM-DD"]
    text = sent["minutes"].strip()
    if text:
        if text.isdigit() and len(text) <= 6:
            minutes = int(text)
        else:
            problems["minutes"] = ["enter a whole number of minutes (0 to 1440)"]
    if sent["case"].strip():
        case = int(sent["case"]) if sent["case"].isdigit() and len(sent["case"]) <= 18 else -1
    return day, minutes, case


def _record(client_id: int, sent: Mapping[str, str], case_id: int | None
            ) -> dict[str, list[str]]:
    """Record the note; its problems (field -> messages) when it cannot be, else {}. A
    field that does not parse records nothing, and every other field is checked too."""
    problems: dict[str, list[str]] = {}
    day, minutes, case = _parsed(sent, problems)
    casework_ = application().casework
    if problems:
        return {**note_problems(sent["kind"], day, minutes, sent["text"],
                                casework_.clock.now().date()), **problems}
    try:
        casework_.record_note(_user(), client_id, kind=sent["kind"], contact_on=day,
                              minutes=minutes, text=sent["text"],
                              case_id=case_id if case_id is not None else case)
    except InvalidArgumentError as err:
        fields = err.details.get("fields")
        if not isinstance(fields, dict):
            raise
        return fields
    return {}


def _user() -> User:
    user = current_user()
    assert user is not None  # login_required ran
    return user


@bp.post("/clients/<int:client_id>/notes")
@login_required
def client_note(client_id: int) -> Any:
    """A note from the client record (about one of their cases, if chosen)."""
    sent = _sent()
    problems = _record(client_id, sent, None)
    if problems:
        page = casework._client_page(client_id, note=sent, note_problems=problems)
        return (page, 422) if isinstance(page, str) else page
    flash("Note recorded.")
    return redirect(url_for("casework.client", client_id=client_id) + "#notes")


@bp.post("/cases/<int:case_id>/notes")
@login_required
def case_note(case_id: int) -> Any:
    """A note from the case page: about that case."""
    sent = {**_sent(), "case": str(case_id)}
    client_id = application().casework.client_of_case(case_id)
    problems = _record(client_id, sent, case_id)
    if problems:
        page = casework._case_page(case_id, note=sent, note_problems=problems)
        return (page, 422) if isinstance(page, str) else page
    flash("Note recorded.")
    return redirect(url_for("casework.case", case_id=case_id) + "#notes")


@bp.post("/cases/<int:case_id>/close")
@login_required
def close_case(case_id: int) -> Any:
    """Close (cancel) the case with a reason; without one, the page again, told so."""
    reason = request.form.get("reason", "")
    try:
        application().casework.close_case(_user(), case_id, reason)
    except InvalidArgumentError as err:
        fields = err.details.get("fields")
        if not isinstance(fields, dict):
            raise
        page = casework._case_page(case_id, closing={"reason": reason},
                                   close_problems=fields)
        return (page, 422) if isinstance(page, str) else page
    flash("Case closed.")
    return redirect(url_for("casework.case", case_id=case_id))
