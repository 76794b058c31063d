"""Incidents (/admin/incidents): cases in `error` for the people who fix them, and a Retry.

Team leads see the cases of pathways their organisation takes part in; admins see every
case. Retry runs the failed step again (engine.casework.Casework.retry), on a published
version chosen from a list and with optional JSON data fixing what the step lacked; the
data is checked here (JSON, an object) and by the engine, and problems are shown beside the
field with what was typed kept.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.casework import RetryResult
from engine.errors import EngineError, FormValidationError, InvalidArgumentError
from engine.model import User
from engine.text import parse_json
from web.security import application, current_user, roles_required

bp = Blueprint("incidents", __name__)


def _user() -> User:
    user = current_user()
    assert user is not None  # roles_required ran
    return user


def _page(problems: dict[str, list[str]] | None = None, *, case_id: int | None = None,
          form: dict[str, str] | None = None, status: int = 200) -> Any:
    found = application().casework.incidents(_user())
    return render_template("incidents.html", incidents=found, problems=problems or {},
                           failed_case=case_id, form=form or {}), status


@bp.get("/admin/incidents")
@roles_required("team_lead", "admin")
def incidents() -> Any:
    return _page()


def _read_data(text: str, problems: dict[str, list[str]]) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:  # as strict as the CLI's --data and the API's bodies (no NaN, bounded numbers)
        data = parse_json(text, field="data")
    except InvalidArgumentError as err:
        fields = err.details.get("fields") or {}
        problems["data"] = [f"{name}: {', '.join(msgs)}" if name != "data" else ", ".join(msgs)
                            for name, msgs in fields.items()] or [err.message]
        return None
    if not isinstance(data, dict):
        problems["data"] = ['must be a JSON object, e.g. {"client": {"release_date": '
                            '"2026-02-01"}}']
        return None
    return data


@bp.post("/admin/incidents/<int:case_id>/retry")
@roles_required("team_lead", "admin")
def retry(case_id: int) -> Any:
    form = {"version": request.form.get("version", ""), "data": request.form.get("data", "")}
    problems: dict[str, list[str]] = {}
    version = _read_version(form["version"], problems)
    data = _read_data(form["data"], problems)
    if not problems:
        result = _retry(case_id, version, data, problems)
        if result is not None:
            _flash_retried(case_id, result)
            return redirect(url_for("incidents.incidents"))
    return _page(problems, case_id=case_id, form=form, status=422)


@bp.post("/admin/incidents/<int:case_id>/cancel")
@roles_required("team_lead", "admin")
def cancel(case_id: int) -> Any:
    """Cancel a case in error for good, with a reason; refused beside the field (what was
    typed kept) when the reason is missing or too long."""
    form = {"reason": request.form.get("reason", "")}
    try:
        application().casework.cancel_incident(_user(), case_id, form["reason"])
    except InvalidArgumentError as err:
        fields = err.details.get("fields") or {}
        problems = {"reason": list(fields.get("reason") or [err.message])}
        return _page(problems, case_id=case_id, form=form, status=422)
    flash(f"Case {case_id} was cancelled: {form['reason'].strip()}")
    return redirect(url_for("incidents.incidents"))


def _read_version(text: str, problems: dict[str, list[str]]) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        problems["version"] = ["choose a published version"]
        return None


def _retry(case_id: int, version: int | None, data: dict[str, Any] | None,
           problems: dict[str, list[str]]) -> RetryResult | None:
    """The engine's retry; None with the problems beside their fields when it refuses
    (a case the user may not see, or none, stays an error page)."""
    try:
        return application().casework.retry(_user(), case_id, version=version, data=data)
    except FormValidationError as err:
        problems["data"] = [f"{name}: {', '.join(msgs)}"
                            for name, msgs in err.fields.items()] or [err.message]
    except InvalidArgumentError as err:
        fields = err.details.get("fields") or {}
        if fields:
            for name, msgs in fields.items():
                problems.setdefault("version" if name == "version" else "data",
                                    []).extend(msgs)
        else:
            problems["data"] = [err.message]
    except EngineError as err:
        if err.code in ("not_found", "forbidden"):
            raise
        problems["data"] = [err.message]
    return None


def _flash_retried(case_id: int, result: RetryResult) -> None:
    case = result.case
    if case.status == "error":
        reason = (case.error or {}).get("message") or "no reason given"
        flash(f"Case {case_id} was retried on version {case.version} but failed "
              f"again: {reason}", "error")
    else:
        waits = ", ".join(t.title for t in result.tasks)
        flash(f"Case {case_id} was retried on version {case.version}: it is now "
              f"{case.status}" + (f" (open: {waits})" if waits else "") + ".")
