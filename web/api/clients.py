"""Clients: adding one, reading a record (break-glass reasons), consents, cases and the
subject access export."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue

from engine import access
from engine.casework import CLIENT_PAGE_LIMIT, CLIENT_PAGE_OFFSET
from engine.errors import InvalidArgumentError
from engine.plain import to_plain
from web.api.common import api_user, bp
from web.api.openapi import operation
from web.api.schemas import TEXT, request_body
from web.api.shapes import case_brief_json, client_json, consent_json, maybe_task_json, task_json
from web.boundary import query_number
from web.security import application


def _created(payload: Mapping[str, Any], location: str) -> ResponseReturnValue:
    return jsonify(payload), 201, {"Location": location}


_LIST_QUERY = (
    {"name": "q", "schema": TEXT, "description": "part of the name (case aside) or the "
     "client's number"},
    {"name": "limit", "schema": {"type": "integer", "minimum": 1,
                                 "maximum": CLIENT_PAGE_LIMIT, "default": 50}},
    {"name": "offset", "schema": {"type": "integer", "minimum": 0,
                                  "maximum": CLIENT_PAGE_OFFSET, "default": 0}},
)


@bp.get("/clients")
@operation("Find clients", tag="clients", result="ClientList", query=_LIST_QUERY,
           errors=(400, 403), description="The clients whose record you may open without "
           "giving a reason (admins: all), by name, a page at a time: names only (fields "
           "empty), nothing logged. next_offset is the offset of the next page, or null. "
           "Designers and commissioners may not (403).")
def list_clients() -> ResponseReturnValue:
    problems: dict[str, list[str]] = {}
    limit = query_number("limit", problems, default=50, minimum=1, maximum=CLIENT_PAGE_LIMIT)
    offset = query_number("offset", problems, default=0, minimum=0,
                          maximum=CLIENT_PAGE_OFFSET)
    if problems:
        raise InvalidArgumentError("invalid query parameters", details={"fields": problems})
    page = application().casework.client_page(api_user(), request.args.get("q", ""),
                                              limit=limit, offset=offset)
    return jsonify({"clients": [client_json(c) for c in page.clients], "limit": page.limit,
                    "offset": page.offset,
                    "next_offset": page.offset + page.limit if page.more else None})


@bp.post("/clients")
@operation("Add a client", tag="clients", ok=201, result="ClientResult", body="NewClient",
           errors=(400, 403, 422), description="Register a client; your organisation counts "
           "as taking part in their care. Designers and commissioners may not (403). Fields "
           "of a type the pathways declare are checked against it (422 with details.fields).")
def add_client() -> ResponseReturnValue:
    body = request_body("NewClient")
    client = application().casework.add_client(api_user(), body["name"], body.get("fields"))
    assert client.id is not None
    return _created({"client": client_json(client)},
                    url_for("api.client_record", client_id=client.id))


REASON_HEADER = "X-Pathways-Reason"
REASON_PARAMETERS = ({"in": "header", "name": REASON_HEADER, "schema": {
    "type": "string", "maxLength": access.REASON_MAX_CHARS}, "description": (
        "why you open a record that needs one (UTF-8): a break-glass access, logged, that "
        "opens the record to you, read-only, for a while; at least 10 letters or digits. "
        "Never in the URL: a `reason` query parameter is refused (400)")},)


def reason() -> str | None:
    """The break-glass reason of the request: the X-Pathways-Reason header (its bytes read
    as UTF-8), never the URL."""
    if "reason" in request.args:
        raise InvalidArgumentError(
            f"a reason never goes in the URL: send it in the {REASON_HEADER} header",
            details={"fields": {"reason": [f"send it in the {REASON_HEADER} header"]}})
    value = request.headers.get(REASON_HEADER)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


@bp.get("/clients/<int:client_id>")
@operation("A client's record", tag="clients", result="ClientRecord",
           query=REASON_PARAMETERS, errors=(400, 403, 404),
           description="Profile, cases, timeline, referrals, outcomes and consents. Without "
           "involvement or consent: 403 with details.reason_required; give a reason in the "
           f"{REASON_HEADER} header to open it (a break-glass access, logged): read-only, "
           "and for a while later calls need no reason.")
def client_record(client_id: int) -> ResponseReturnValue:
    record = application().casework.client_record(api_user(), client_id, reason())
    cases = [{**case_brief_json(summary.case), "data": to_plain(summary.case.data),
              "exit_reason": summary.case.exit_reason,
              "waiting_for": list(summary.case.waiting_for),
              "error": to_plain(summary.case.error), "owner": summary.owner,
              "open_tasks": [task_json(t) for t in summary.open_tasks],
              "problem": summary.problem}
             for summary in record.cases]
    return jsonify({
        "client": client_json(record.client), "cases": cases,
        "timeline": to_plain(record.timeline), "referrals": to_plain(record.referrals),
        "outcomes": to_plain(record.outcomes),
        "consents": [consent_json(c) for c in record.consents], "basis": record.basis,
        "visible_categories": list(record.visible_categories),
        "hidden_fields": record.hidden_fields, "startable": sorted(record.startable),
        "break_glass_until": to_plain(record.break_glass_until),
        "unloadable_withheld": record.unloadable_withheld,
        "notes": to_plain(record.notes), "may_note": record.may_note,
    })


@bp.post("/clients/<int:client_id>/consents")
@operation("Record a consent", tag="clients", ok=201, result="ConsentResult",
           body="NewConsent", errors=(400, 403, 404),
           description="A consent given or withdrawn for a scope. Only an organisation "
           "working with the client (or an admin) records consents; never under break-glass.")
def record_consent(client_id: int) -> ResponseReturnValue:
    body = request_body("NewConsent")
    effective = body.get("effective_on")
    consent = application().casework.record_consent(
        api_user(), client_id, body["given"], body["scope"], body["purpose"],
        date.fromisoformat(effective) if effective else None)
    return _created({"consent": consent_json(consent)},
                    url_for("api.client_record", client_id=client_id))


@bp.post("/clients/<int:client_id>/cases")
@operation("Start a case", tag="clients", ok=201, result="StartResult", body="NewCase",
           errors=(400, 403, 404, 422), description="Start a case of the latest version of "
           "the pathway for the client: your organisation works with the client, or the "
           "client's programme consent is in effect; never under break-glass. next_task is "
           "the case's first task you may do.")
def start_case(client_id: int) -> ResponseReturnValue:
    body = request_body("NewCase")
    started = application().casework.start_case(api_user(), body["pathway"], client_id)
    return _created({"case": case_brief_json(started.case),
                     "next_task": maybe_task_json(started.next_task)},
                    url_for("api.client_record", client_id=client_id))


@bp.get("/clients/<int:client_id>/export")
@operation("Export a client's record", tag="clients", result="ClientExport", errors=(403, 404),
           description="Everything held on the client (a subject access request). Admins "
           "only; the export is written to the access log.")
def export(client_id: int) -> ResponseReturnValue:
    return jsonify(to_plain(application().casework.export_client(api_user(), client_id)))


@bp.route("/clients/<int:client_id>/notes", methods=["GET", "POST"])
def client_notes(client_id: int) -> ResponseReturnValue:
    """GET lists, POST records: one rule, so an id out of range is 404 for both."""
    return record_note(client_id) if request.method == "POST" else list_notes(client_id)


@operation("Record a contact or note", tag="clients", ok=201, result="NoteResult",
           body="NewNote", errors=(400, 403, 404), route=("client_notes", "post"),
           description="A phone call, visit, prison visit, missed appointment, meeting or "
           "other contact, optionally about one of the client's cases. Your organisation "
           "works with the client, or the client's programme consent is in effect; never "
           "under break-glass. Problems with the fields: 400 with details.fields.")
def record_note(client_id: int) -> ResponseReturnValue:
    body = request_body("NewNote")
    note = application().casework.record_note(
        api_user(), client_id, kind=body["kind"],
        contact_on=date.fromisoformat(body["contact_on"]), minutes=body.get("minutes"),
        text=body["text"], case_id=body.get("case_id"))
    return _created({"note": to_plain(note)},
                    url_for("api.client_notes", client_id=client_id))


@operation("A client's contacts and notes", tag="clients", result="NoteList",
           query=REASON_PARAMETERS, errors=(400, 403, 404), route=("client_notes", "get"),
           description="The notes you may read, oldest first: refused as the client's "
           "record is (403 with details.reason_required; a reason in the "
           f"{REASON_HEADER} header opens it, logged). Logged as a view of the record.")
def list_notes(client_id: int) -> ResponseReturnValue:
    notes = application().casework.client_notes(api_user(), client_id, reason())
    return jsonify({"notes": to_plain(notes)})
