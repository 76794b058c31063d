"""Caseworkers' pages: the inbox, a task with its form, a client's record, a case.

Every check of who may see or do what is in engine.casework / engine.access, on the server;
these views only translate requests and render. A task or client the user may not see is
"not found" here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import BadRequest

from engine.casework import (
    ALLOWED_WORDS,
    CLIENT_PAGE_OFFSET,
    COUNT_CAP,
    INBOX_SCOPES,
    INBOX_SORTS,
    NOTE_KINDS,
    PER_PAGE_MAX,
    Inbox,
    day,
    megabytes,
    moment,
)
from engine.errors import (
    DuplicateCaseError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
)
from engine.model import CONSENT_SCOPES
from engine.numbers import MAX_ID
from web import task_submit
from web.boundary import query_id, query_number
from web.notices import parse_since
from web.people import person, remember
from web.security import application, current_user, login_required, roles_required, safe_next

bp = Blueprint("casework", __name__)
bp.add_app_template_filter(day, "day")  # dates one way on every page: 7 Oct 2026
bp.add_app_template_filter(moment, "moment")  # and times: 7 Oct 2026, 14:05


@bp.app_template_filter("pathway_title")
def pathway_title(pathway: str, version: int | None = None) -> str:
    """A pathway by its title (Gate reception (Peterborough One Service)), not its id, from
    the definitions already cached: no statement on any page (issue 18, item 7)."""
    return application().engine.cached_title(pathway, version)


PER_PAGE = 50  # inbox rows a page lists unless per_page says otherwise

SORT_LABELS = {"due": "Due soonest", "-due": "Due latest", "created": "Oldest first",
               "-created": "Newest first", "client": "Client A to Z", "-client": "Client Z to A",
               "pathway": "Pathway", "step": "Step", "title": "Task"}
CLIENTS_PER_PAGE = 50


def _user() -> Any:
    user = current_user()
    assert user is not None  # login_required ran
    return user


def _data_filter(text: str, problems: dict[str, list[str]]) -> dict[str, str]:
    """`key=value, key2=value2` from the inbox's case-data filter box; a part that is not
    field=value is a problem recorded under "data"."""
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            problems.setdefault("data", []).append(f"{part!r}: write it as field=value")
            continue
        found[key.strip()] = value.strip()
    return found


@bp.get("/inbox")
@roles_required("caseworker", "team_lead", "admin")
def inbox() -> Any:
    args = request.args
    scope = args.get("scope") or "role"
    sort = args.get("sort") or "due"
    if scope not in INBOX_SCOPES or sort not in INBOX_SORTS:
        raise BadRequest("unknown scope or sort")
    problems: dict[str, list[str]] = {}
    version, client = query_id("version", problems), query_id("client", problems)
    page = query_number("page", problems, default=1, minimum=1, maximum=MAX_ID)
    per_page = query_number("per_page", problems, default=PER_PAGE, minimum=1,
                            maximum=PER_PAGE_MAX)
    data = _data_filter(args.get("data", ""), problems)
    if args.get("drafts") not in (None, "", "mine"):
        problems["drafts"] = ["drafts=mine lists the tasks with your draft; leave it out "
                              "for all"]
    since = _since(args.get("since", ""), problems)
    if problems:
        return _inbox_page(None, scope, sort, problems), 400
    try:
        result = application().casework.inbox(
            _user(), scope=scope, pathway=args.get("pathway") or None, version=version,
            step=args.get("step") or None, client_id=client, data=data or None,
            overdue={"yes": True, "no": False}.get(args.get("overdue", "")), sort=sort,
            limit=per_page, offset=(page - 1) * per_page, count_cap=COUNT_CAP,
            with_saved=True, drafts=args.get("drafts") == "mine", since=since)
    except InvalidArgumentError as err:
        if not err.details.get("fields"):
            raise
        return _inbox_page(None, scope, sort, err.details["fields"]), 400
    application().casework.mark_inbox_seen(_user())  # the nav's "new" starts anew
    return _inbox_page(result, scope, sort, {},
                       _paging(result.total, page, per_page, result.total_over))


def _since(text: str, problems: dict[str, list[str]]) -> datetime | None:
    """The inbox's since= (the nav's links to new tasks): a moment with its time zone."""
    if not text:
        return None
    try:
        return parse_since(text)
    except ValueError:
        problems["since"] = ["since must be a date and time with its zone, such as "
                             "2026-10-07T14:05:00Z"]
        return None


def _inbox_page(result: Inbox | None, scope: str, sort: str,
                problems: Mapping[str, list[str]], paging: dict[str, Any] | None = None,
                saving: Mapping[str, Any] | None = None) -> str:
    """The inbox page; result None when the filters could not be used: no rows, the form
    as sent with each problem at its field. saving: a filter that could not be saved (its
    name, query and problems), offered again."""
    casework = application().casework
    if result is None:
        result = Inbox([], {name: 0 for name in (*INBOX_SCOPES, "overdue")},
                       choices=casework.inbox_choices(_user()),
                       saved=casework.saved_filters(_user()))
    colleagues = []
    if _user().role in ("team_lead", "admin"):
        colleagues = [u for u in application().accounts.users(
            None if _user().role == "admin" else _user().organisation) if u.active]
        remember(colleagues)  # their names on the rows cost no statement
    since = None if "since" in problems else _since(request.args.get("since", ""), {})
    return render_template("inbox.html", inbox=result, scope=scope, sort=sort, since=since,
                           sorts=SORT_LABELS, args=request.args,
                           data_text=request.args.get("data", ""), colleagues=colleagues,
                           problems=problems, choices=result.choices,
                           paging=paging or _paging(0, 1, PER_PAGE),
                           saved=result.saved, saving=saving or {},
                           this_query=urlencode([(k, v) for k, v in
                                                 request.args.items(multi=True)
                                                 if k != "page"]))


@bp.post("/inbox/filters")
@roles_required("caseworker", "team_lead", "admin")
def save_filter() -> Any:
    """Keep the inbox's filters under a name, then show them."""
    name, query = request.form.get("name", ""), request.form.get("query", "")
    try:
        saved = application().casework.save_filter(_user(), name, query)
    except InvalidArgumentError as err:
        saving = {"name": name, "query": query, "problems": err.details.get("fields", {})}
        return _inbox_page(None, "role", "due", {}, saving=saving), 400
    flash(f"Filters saved as {saved.name!r}.")
    return redirect(url_for("casework.inbox") + ("?" + saved.query if saved.query else ""))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@roles_required("caseworker", "team_lead", "admin")
def delete_filter(filter_id: int) -> Any:
    application().casework.delete_filter(_user(), filter_id)
    flash("Saved filter deleted.")
    return redirect(url_for("casework.inbox"))


def _paging(total: int, page: int, per_page: int, over: bool = False) -> dict[str, Any]:
    """The inbox's page links: the page, the last page, and the query of any page. over:
    total is a lower bound (the count stopped at its cap): no last page is known, the next
    page is linked."""
    last = max(1, -(-total // per_page))
    if over:
        last = max(last, page + 1)
    kept = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    if per_page != PER_PAGE:
        kept["per_page"] = str(per_page)
    return {"page": page, "last": last, "total": total, "per_page": per_page, "over": over,
            "first_row": min(total, (page - 1) * per_page + 1),
            "last_row": min(total, page * per_page),
            "url": lambda n: url_for("casework.inbox", **kept, page=n)}


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    application().casework.claim(_user(), task_id)
    flash("The task is yours.")
    back = request.form.get("back") or url_for("casework.task", task_id=task_id)
    return redirect(safe_next(back))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    application().casework.unclaim(_user(), task_id)
    flash("The task is back in the team's list.")
    return redirect(safe_next(request.form.get("back") or url_for("casework.inbox")))


@bp.post("/inbox/reassign")
@roles_required("team_lead", "admin")
def reassign() -> Any:
    """Reassign every ticked task that can be, then back to the inbox as it was filtered,
    told what was done and each task that was not, with why."""
    back = request.form.get("back") or url_for("casework.inbox", scope="role")
    task_ids = request.form.getlist("task")
    if not task_ids:
        flash("Tick the tasks to reassign first.")
        return redirect(safe_next(back))
    to = request.form.get("to") or None
    try:
        result = application().casework.reassign_each(_user(), task_ids, to)
    except NotFoundError as err:
        flash(f"Nothing was reassigned: {err.message}.", "error")
        return redirect(safe_next(back))
    if result.done or not result.refused:
        flash(f"{len(result.done)} task(s) "
              f"{'assigned to ' + person(to) if to else 'made unassigned'}.")
    if result.refused:
        flash("Not reassigned: " + "; ".join(f"task {task_id}: {why}"
                                             for task_id, why in result.refused) + ".",
              "error")
    return redirect(safe_next(back))


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: str) -> Any:
    if request.method == "POST":  # answers that cannot be applied are shown again, kept
        return task_submit.submit(task_id)
    return task_submit.show(application().casework.task(_user(), task_id))


@bp.get("/clients")
@roles_required("caseworker", "team_lead", "admin")
def clients() -> Any:
    query = request.args.get("q", "")
    problems: dict[str, list[str]] = {}
    page = query_number("page", problems, default=1, minimum=1,
                        maximum=1 + CLIENT_PAGE_OFFSET // CLIENTS_PER_PAGE)
    if problems:
        raise InvalidArgumentError(f"page: {problems['page'][0]}",
                                   details={"fields": problems})
    found = application().casework.client_page(
        _user(), query, limit=CLIENTS_PER_PAGE, offset=(page - 1) * CLIENTS_PER_PAGE)
    return render_template("clients.html", clients=found.clients, query=query, page=page,
                           more=found.more)


@bp.post("/clients")
@roles_required("caseworker", "team_lead", "admin")
def add_client() -> Any:
    name = (request.form.get("name") or "").strip()
    release = (request.form.get("release_date") or "").strip()
    problems: dict[str, list[str]] = {}
    if not name:
        problems["name"] = ["enter the client's name"]
    fields: dict[str, Any] = {}
    if release:
        try:
            fields["release_date"] = date.fromisoformat(release).isoformat()
        except ValueError:
            problems["release_date"] = ["enter a date as YYYY-MM-DD"]
    if problems:
        found = application().casework.client_page(_user(), "", limit=CLIENTS_PER_PAGE)
        return render_template("clients.html", clients=found.clients, query="", page=1,
                               more=found.more, problems=problems, name=name,
                               release_date=release), 422
    created = application().casework.add_client(_user(), name, fields)
    flash(f"Added {created.name}.")
    return redirect(url_for("casework.client", client_id=created.id))


def _refuse_a_reason_in_the_address() -> None:
    """A reason never goes in an address (logs, history, referrers keep it): refused before
    signing in too, so it is never redirected with it."""
    if "reason" in request.args:
        raise BadRequest("A reason never goes in the address: open the record and give the "
                         "reason in the form.")


@bp.get("/clients/<int:client_id>")
def client(client_id: int) -> Any:
    _refuse_a_reason_in_the_address()
    return _client_page(client_id)


@login_required
def _client_page(client_id: int, consent: Mapping[str, str] | None = None,
                 consent_problems: Mapping[str, list[str]] | None = None,
                 duplicate: Mapping[str, Any] | None = None, *,
                 attachment: Mapping[str, str] | None = None,
                 attachment_problems: Mapping[str, list[str]] | None = None,
                 **forms: Any) -> Any:
    """The client record; with consent (the consent form as sent) and its problems when
    recording it was refused, so that what was typed stays on the page; with duplicate
    when a second open case of a pathway waits to be confirmed; with attachment (the
    upload form as sent) and its problems when a document was refused; forms: another
    form as sent with its problems (web.case_notes: note, note_problems)."""
    session.pop("break_glass", None)  # what older versions kept in the cookie
    try:
        record = application().casework.client_record(_user(), client_id)
    except ForbiddenError as err:
        if err.details.get("reason_required"):
            return _reason_needed(client_id, err.message)
        raise
    pathways = sorted(record.startable)
    documents = application().attachments.of_record(record)
    timeline = sorted([*record.timeline, *documents.events], key=lambda e: e.at)
    return render_template("client.html", record=record, scopes=CONSENT_SCOPES,
                           pathways=pathways, consent=consent or {},
                           consent_problems=consent_problems or {}, duplicate=duplicate,
                           documents=documents, timeline=timeline,
                           attachment=attachment or {},
                           attachment_problems=attachment_problems or {},
                           max_upload=megabytes(application().attachments.max_bytes),
                           allowed_files=ALLOWED_WORDS, **_note_forms(forms))


client_page_with = _client_page  # for web.attachment_pages: a refused upload's page


def _reason_needed(client_id: int, message: str, case_id: int | None = None,
                   problem: bool = False) -> Any:
    """The break-glass page: give a reason to open the client's record (and then the case
    page, when it was a case that was asked for)."""
    return render_template(
        "break_glass.html", client_id=client_id, case_id=case_id, message=message,
        problem=problem,
        break_glass_minutes=application().settings.break_glass_minutes), 400 if problem else 403


@bp.post("/clients/<int:client_id>/open")
@login_required
def open_with_reason(client_id: int) -> Any:
    """Open a record with a reason (break glass): a read-only view for the time box. The
    reason is kept on the server, in the access log; neither the address nor the session
    cookie carries it. With a case (of the client) the case page follows."""
    reason = request.form.get("reason") or ""
    case_id = request.form.get("case", "")
    case = int(case_id) if case_id.isdigit() and len(case_id) <= 18 else None
    try:
        application().casework.client_record(_user(), client_id, reason)  # checked and logged
    except InvalidArgumentError as err:
        problems = err.details.get("fields", {}).get("reason") or [err.message]
        return _reason_needed(client_id, "; ".join(problems), case, problem=True)
    if case is not None:
        return redirect(url_for("casework.case", case_id=case))
    return redirect(url_for("casework.client", client_id=client_id))


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> Any:
    _refuse_a_reason_in_the_address()
    return _case_page(case_id)


@login_required
def _case_page(case_id: int, **forms: Any) -> Any:
    """A case: steps done with their answers, what it waits for, its diagram, referrals and
    outcomes; refused as its client's record is (the break-glass page when a reason would
    open it). forms: a note or closing form as sent with its problems (web.case_notes)."""
    try:
        page = application().casework.case(_user(), case_id)
    except ForbiddenError as err:
        client_id = err.details.get("client")
        if err.details.get("reason_required") and isinstance(client_id, int):
            return _reason_needed(client_id, err.message, case_id)
        raise
    return render_template("case.html", page=page,
                           documents=application().attachments.of_case(page),
                           **_note_forms(forms))


def _note_forms(forms: Mapping[str, Any]) -> dict[str, Any]:
    """The note and closing forms' values and problems (empty unless sent back)."""
    return {"note": {}, "note_problems": {}, "closing": {}, "close_problems": {},
            "note_kinds": NOTE_KINDS, "today": application().casework.clock.now().date(), **forms}


@bp.get("/cases/<int:case_id>/diagram.bpmn")
@login_required
def case_diagram(case_id: int) -> Any:
    """The case's version's BPMN for its page's diagram, without what the user may not
    see (the same checks as the page)."""
    return Response(application().casework.case_diagram(_user(), case_id),
                    mimetype="application/xml")


@bp.post("/clients/<int:client_id>/consents")
@login_required
def record_consent(client_id: int) -> Any:
    sent = {name: request.form.get(name, "") for name in ("scope", "given", "purpose")}
    if sent["given"] not in ("yes", "no"):
        return _consent_refused(client_id, sent,
                                {"given": ["say whether consent is given or withdrawn"]})
    try:
        application().casework.record_consent(
            _user(), client_id, sent["given"] == "yes", sent["scope"], sent["purpose"])
    except InvalidArgumentError as err:
        fields = err.details.get("fields") or {}
        if "purpose" in fields:
            return _consent_refused(client_id, sent, {"purpose": [err.message]})
        return _consent_refused(client_id, sent, {"scope": [err.message]})
    flash("Consent recorded.")
    return redirect(url_for("casework.client", client_id=client_id))


def _consent_refused(client_id: int, sent: Mapping[str, str],
                     problems: Mapping[str, list[str]]) -> Any:
    """The client page again, the consent form as sent and each problem at its field."""
    page = _client_page(client_id, sent, problems)
    return (page, 400) if isinstance(page, str) else page


@bp.post("/clients/<int:client_id>/cases")
@login_required
def start_case(client_id: int) -> Any:
    pathway = request.form.get("pathway", "")
    try:
        started = application().casework.start_case(
            _user(), pathway, client_id,
            another=request.form.get("duplicate") == "start_another")
    except DuplicateCaseError as err:  # asked again, with the open cases named
        page = _client_page(client_id, duplicate={"pathway": pathway, "message": err.message,
                                                  "cases": err.details.get("cases", [])})
        return (page, 409) if isinstance(page, str) else page
    flash(f"Started {started.case.pathway.replace('_', ' ')} (case {started.case.id}).")
    if started.next_task is not None:
        return redirect(url_for("casework.task", task_id=started.next_task.id))
    return redirect(url_for("casework.client", client_id=client_id))


@bp.get("/clients/<int:client_id>/export")
@roles_required("admin")
def export(client_id: int) -> Any:
    document = application().casework.export_client(_user(), client_id)
    response: Response = jsonify(document)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="client-{client_id}-subject-access.json"')
    return response
