"""A task's form sent: completed, kept as a draft, or, when it cannot be applied, shown again
with every answer as typed, what happened and what to do next. Nothing typed is lost:

- a problem in the answers: the form again (422), each problem at its field;
- the task assigned to a colleague meanwhile: the form's answers (409), with whom to ask;
- the task no longer open (a colleague completed it, its case was cancelled, moved to another
  step of another version, or ended): the answers (409) with what became of it
  (engine.casework.task_fate);
- the form's security token missing or stale (the session ended, e.g. signed out elsewhere):
  the form again with a fresh token when the user is still signed in (400), else the
  answers with a link to sign in again.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from engine.casework import TaskFate, TaskPage, moment
from engine.errors import EngineError, ForbiddenError, FormValidationError, NotFoundError
from engine.numbers import MAX_ID
from engine.workflow import validate_submission
from web.forms import form_fields, read_submission
from web.people import person
from web.security import application, current_user, load_user

NOT_ANSWERS = ("csrf_token", "action", "case")  # the form's own fields, not answers


def _instructions(page: TaskPage) -> str | None:
    info = application().engine.definition(page.task.pathway, page.task.version) \
        .user_tasks.get(page.task.step)
    return info.instructions if info else None


def show(page: TaskPage, *, status: int = 200, typed: Any = None,
         problems: dict[str, list[str]] | None = None, notice: str | None = None,
         kept: bool = False) -> Any:
    """The task page; typed (the answers as sent) instead of the stored ones, problems at
    their fields, notice (what happened) above, kept: the answers shown though the form may
    not be sent (the task is someone else's)."""
    fields = form_fields(page.schema, page.values if typed is None else typed, problems)
    return render_template("task.html", page=page, instructions=_instructions(page),
                           fields=fields, problems=problems, notice=notice,
                           kept=kept), status


def submit(task_id: str) -> Any:
    """POST /tasks/<id>: complete the task, or keep a draft of it."""
    user = current_user()
    casework = application().casework
    try:
        page = casework.task(user, task_id)
    except NotFoundError:
        return gone(task_id)
    data, problems, typed = read_submission(page.schema, request.form)
    if not page.may_act:
        return taken(page, typed)
    try:
        if request.form.get("action") == "draft":
            casework.save_draft(user, task_id, {**typed, **data})
            flash("Draft saved. You can come back to it later.")
            return redirect(url_for("casework.task", task_id=task_id))
        if problems:  # also name what else is wrong, so one round of corrections is enough
            try:
                validate_submission(page.schema, data, context=page.case.data)
            except FormValidationError as err:
                problems = {**{k: v for k, v in err.fields.items() if k not in problems},
                            **problems}
            return show(page, status=422, typed=typed, problems=problems)
        done = casework.complete(user, task_id, data)
    except FormValidationError as err:
        return show(page, status=422, typed=typed, problems=err.fields)
    except NotFoundError:  # completed (or closed) between the page and the completion
        return gone(task_id)
    except ForbiddenError:  # assigned to a colleague between the page and the completion
        return taken(casework.task(user, task_id), typed)
    return _completed(done, page)


def _completed(done: Any, page: TaskPage) -> Any:
    if done.error is not None:
        flash(_stopped(done.case_id, done.error), "error")
        if done.next_task is not None:
            return redirect(url_for("casework.task", task_id=done.next_task.id))
        return redirect(url_for("casework.client", client_id=page.client.id))
    if done.next_task is not None:
        flash(f"Done. Next for this client: {done.next_task.title}.")
        return redirect(url_for("casework.task", task_id=done.next_task.id))
    flash("Done. Nothing more for this client right now.")
    return redirect(url_for("casework.inbox"))


def _stopped(case_id: int, error: dict[str, Any]) -> str:
    """What a caseworker is told when their answers were saved but the case then failed."""
    step = error.get("step")
    where = f" at step {str(step).replace('_', ' ')}" if step else ""
    reason = error.get("message") or "an error nobody described"
    return (f"Your answers were saved, but case {case_id} then stopped{where}: {reason}. "
            "The programme office (team leads and admins) has been told: the case is listed "
            "on their incidents page to fix and retry.")


def taken(page: TaskPage, typed: Any) -> Any:
    """The task is someone else's: assigned to them while the form was filled in (409, when
    the form says it showed another assignee), else a refusal (403); the answers kept."""
    who = person(page.task.assignee) or "someone else"
    seen = request.form.get("assignee_seen")
    if seen is None or seen == (page.task.assignee or ""):
        return show(page, status=403, typed=typed, kept=True, notice=(
            f"This task is assigned to {who}: only they can complete it, unless a team lead "
            f"gives it to you. Your answers were not saved. They are below: copy them to "
            f"{who}, or ask a team lead."))
    return show(page, status=409, typed=typed, kept=True, notice=(
        f"While you were filling this in, the task was assigned to {who}, so your answers "
        f"were not saved. They are below: copy them to {who}, or ask a team lead to give "
        f"the task back to you."))


def _case_sent() -> int | None:
    raw = request.form.get("case", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _raw_answers() -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.form.items(multi=True)
            if name not in NOT_ANSWERS and value != ""]


def gone(task_id: str) -> Any:
    """The task is not open (any more): the answers, and what became of it if the user may
    be told (409), else that it is not open to them (404)."""
    user = current_user()
    case_id = _case_sent()
    fate = application().casework.task_fate(user, task_id, case_id) \
        if case_id is not None and user is not None else None
    if fate is None:
        return render_template(
            "task_gone.html", fate=None, fields=[], raw=_raw_answers(), notice=(
                "This task is not open to you: it may have been completed, cancelled or "
                "moved, or it is not one you may do. Your answers were not saved; they are "
                "below. Look for the task in your inbox or on the client's record.")), 404
    _, _, typed = read_submission(fate.schema, request.form)
    return render_template("task_gone.html", fate=fate, notice=_what_became(fate),
                           fields=form_fields(fate.schema, typed), raw=[]), 409


def _what_became(fate: TaskFate) -> str:
    when = f" on {moment(fate.at)}" if fate.at else ""
    case = f"case {fate.task.case_id}"
    user = current_user()
    by = person(fate.by)
    if fate.kind == "completed":
        who = "You" if user is not None and fate.by == user.username else \
            (by or "A colleague")
        return (f"{who} completed this task{when}, before your answers were sent, so they "
                f"were not saved. They are below: compare them with what {fate.client.name}'s "
                f"record shows, and add anything missing there or tell {by or 'them'}.")
    if fate.kind == "cancelled":
        return (f"{case.capitalize()} was cancelled{when} by {by or 'the system'} while "
                f"you were filling this in, so your answers were not saved. They are below "
                f"for your notes; the client's record says why it was cancelled.")
    if fate.kind == "moved":
        where = f" to version {fate.version}" if fate.version else ""
        return (f"{case.capitalize()} was moved{where}{when}, to another step, while you were "
                f"filling this in, so your answers were not saved. They are below: look for "
                f"the case's open task on the client's record or in your inbox.")
    return (f"This task is no longer open ({case} "
            f"{'has ended' if fate.kind == 'ended' else 'moved on'}), so your answers were "
            f"not saved. They are below; the client's record shows where the case stands.")


def session_lost(task_id: str, reason: str) -> Any:
    """The form's security token was refused (400): the form again with a fresh token if
    the user is still signed in and may see the task, else the answers as sent."""
    load_user()  # the token is checked before the user is loaded
    user = current_user()
    if user is not None:
        try:
            page = application().casework.task(user, task_id)
        except EngineError:
            page = None
        if page is not None:
            _, _, typed = read_submission(page.schema, request.form)
            return show(page, status=400, typed=typed, kept=not page.may_act, notice=(
                f"Your answers could not be accepted: the form's security token was "
                f"refused ({reason}), for example because you signed out and in again "
                f"meanwhile. Nothing was saved. Your answers are below: check them and send "
                f"the form again."))
    return render_template(
        "task_gone.html", fate=None, fields=[], raw=_raw_answers(), signed_out=user is None,
        task_id=task_id, notice=(
            f"Your answers could not be accepted: your session had ended ({reason}; you "
            f"were signed out, or the server restarted without its secret key), so nothing "
            f"was saved. Your answers are below: sign in again in a new tab, open the task, "
            f"and enter them there.")), 400
