"""The JSON Schemas of the API: published in the OpenAPI document, and what request
bodies are checked with (problems listed in details.fields, field path -> messages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine import access
from engine.casework import CLOSE_REASON_MAX, NOTE_KINDS, NOTE_MINUTES_MAX, NOTE_TEXT_MAX
from engine.errors import InvalidArgumentError
from engine.model import (
    CASE_STATUSES,
    CONSENT_SCOPES,
)
from engine.schema_errors import MISSING, UNKNOWN, schema_errors
from web.api.common import BODY
from web.jsonbody import load_body


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"] if isinstance(kind, str) else [*kind, "null"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_object(properties: dict[str, Any], required: Iterable[str] | None = None,
            **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(properties if required is None else required), **extra}


TEXT = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
WHEN = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
ANY_OBJECT = {"type": "object", "additionalProperties": True}

TASK_PROPERTIES: dict[str, Any] = {
    "id": TEXT,
    "case_id": INT,
    "pathway": TEXT,
    "version": INT,
    "step": TEXT,
    "title": TEXT,
    "role": nullable(TEXT),
    "form": nullable(TEXT),
    "due": nullable(WHEN),
    "created_at": nullable(WHEN),
    "assignee": nullable(TEXT),
}
CASE_BRIEF_PROPERTIES: dict[str, Any] = {
    "id": INT, "pathway": TEXT, "version": INT, "client_id": INT,
    "status": {"type": "string", "enum": list(CASE_STATUSES)},
    "created_at": nullable(WHEN), "updated_at": nullable(WHEN),
}
_ANSWER = json_object({
    "name": {**TEXT, "description": "the form field"},
    "label": {**TEXT, "description": "its label on the form"},
    "text": {**TEXT, "description": "the answer in words (Yes/No, a choice's words, a date "
             f"as 7 Oct 2026); {access.HIDDEN!r} when hidden"},
    "hidden": {**BOOL, "description": "the value is sensitive and you may not see it"},
})
_TIMELINE_ENTRY = json_object({
    "case_id": INT, "pathway": TEXT, "seq": INT, "at": WHEN, "type": TEXT,
    "step": nullable(TEXT), "actor": nullable(TEXT), "data": ANY_OBJECT,
    "answers": {"type": "array", "items": _ANSWER, "description": "a completed task's "
                "answers, labelled from its form (on a case, a decision's branches)"},
    "title": {**nullable(TEXT), "description": "the step's title"}})
_WAITING = json_object({
    "kind": {"type": "string", "enum": ["task", "timer", "message"]},
    "title": TEXT, "step": nullable(TEXT), "task_id": nullable(TEXT),
    "lane": {**nullable(TEXT), "description": "a task's lane (its role's title)"},
    "assignee": nullable(TEXT), "due": nullable(WHEN), "overdue": BOOL})
_CASE_LINK = json_object({
    "pathway": TEXT, "at": nullable(WHEN),
    "case_id": {**nullable(INT), "description": "the other case, if you may see it"},
    "status": nullable(TEXT)})
_CASE_PAGE = json_object({
    "case": json_object({
        **CASE_BRIEF_PROPERTIES, "data": ANY_OBJECT, "exit_reason": nullable(TEXT),
        "waiting_for": {"type": "array", "items": TEXT}, "error": nullable(ANY_OBJECT)}),
    "client": ref("Client"),
    "title": {**TEXT, "description": "the pathway version's title"},
    "started_at": nullable(WHEN), "closed_at": nullable(WHEN),
    "waiting": {"type": "array", "items": _WAITING,
                "description": "open tasks, timers and messages the case waits for"},
    "steps": {"type": "array", "items": ref("TimelineEntry"), "description": "tasks done "
              "(who, when, their answers) and decisions, oldest first"},
    "events": {"type": "array", "items": ref("TimelineEntry")},
    "referrals_in": {"type": "array", "items": _CASE_LINK},
    "referrals_out": {"type": "array", "items": _CASE_LINK},
    "outcomes": {"type": "array", "items": json_object({
        "name": TEXT, "value": {}, "at": WHEN, "problem": nullable(TEXT)})},
    "marks": {"type": "object", "additionalProperties": {"enum": ["done", "current"]},
              "description": "diagram element id -> done or current"},
    "basis": {"type": "string", "enum": ["admin", "organisation", "consent", "break_glass"]},
    "visible_categories": {"type": "array", "items": TEXT},
    "hidden_fields": {"type": "array", "items": TEXT},
    "break_glass_until": nullable(WHEN),
    "problem": {**nullable(TEXT), "description": "admins only: why the case's version "
                "cannot be loaded"},
    "notes": {"type": "array", "items": ref("Note"), "description": "the case's contacts "
              "and notes you may read, oldest first"},
    "may_note": BOOL,
    "may_close": {**BOOL, "description": "you may close the case (POST .../close)"},
}, description=f"sensitive values the user may not see read {access.HIDDEN!r}; steps, "
   "tasks and referrals that would reveal them are left out")

_NOTE = json_object({
    "id": INT, "client_id": INT,
    "case_id": {**nullable(INT), "description": "the case it is about, if any"},
    "pathway": {**nullable(TEXT), "description": "its case's pathway"},
    "contact_on": {**DAY, "description": "the day of the contact"},
    "kind": {"type": "string", "enum": list(NOTE_KINDS)},
    "kind_title": TEXT, "minutes": nullable(INT), "text": TEXT,
    "author": {**TEXT, "description": "who recorded it"},
    "organisation": {**TEXT, "description": "the author's organisation"},
    "at": {**WHEN, "description": "when it was recorded"},
    "type": {"const": "note_recorded"},
}, description="a contact or note recorded outside tasks; a note's free text is shown only "
   "to those who see every sensitive category of the client (or its author's organisation)")

RESPONSE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Note": _NOTE,
    "NoteResult": json_object({"note": ref("Note")}),
    "NoteList": json_object({"notes": {"type": "array", "items": ref("Note"),
                                       "description": "oldest first"}}),
    "CloseResult": json_object({"case": ref("CaseBrief")}),
    "Error": json_object({"error": json_object({
        "code": {"type": "string", "description": "stable and machine-readable: "
                 "unauthorized, forbidden, not_found, invalid_argument, invalid_data, "
                 "conflict, invalid_state, script_error, ..."},
        "message": {"type": "string", "description": "for people"},
        "details": {"type": "object", "additionalProperties": True, "properties": {
            "fields": {"type": "object", "description": "field path -> problems; '(body)' "
                       "for the request body as a whole",
                       "additionalProperties": {"type": "array", "items": TEXT}}}},
    })}),
    "Task": json_object(TASK_PROPERTIES, description="an open task (a user task of a case)"),
    "InboxTask": json_object({**TASK_PROPERTIES, "client_id": INT, "client_name": TEXT,
                          "overdue": BOOL, "problem": {
                              **nullable(TEXT), "description": "admins only: why the "
                              "task's version cannot be loaded (listed, never opened)"}}),
    "Inbox": json_object({
        "tasks": {"type": "array", "items": ref("InboxTask")},
        "counts": json_object({"mine": INT, "role": INT, "unassigned": INT, "overdue": INT},
                          description="tasks in each scope under the other filters (scope "
                          "and overdue aside); overdue: in the chosen scope"),
        "problems": {"type": "array", "items": json_object({
            "code": TEXT, "message": TEXT, "details": ANY_OBJECT}),
                     "description": "what could not be shown: invalid_definition per version "
                     "whose definition cannot be loaded (details pathway, version, tasks for "
                     "an admin; empty for anyone else, whose such tasks are withheld)"},
        "over": {"type": "array", "items": TEXT,
                 "description": "the counts that stopped at the cap (500 past offset): "
                 "there are more tasks than their figure"},
        "total": {**INT, "description": "tasks on every page (of the chosen scope, under "
                  "every filter); with total_over, at least that many"},
        "total_over": {**BOOL, "description": "the count stopped at its cap (500 past "
                       "offset): there may be more tasks than total"},
        "limit": {**INT, "description": "the most tasks one page lists"},
        "offset": {**INT, "description": "tasks before this page"},
        "next_offset": {"type": ["integer", "null"],
                        "description": "the offset of the next page; null on the last"},
    }),
    "CaseBrief": json_object(CASE_BRIEF_PROPERTIES),
    "Draft": json_object({"task_id": TEXT, "case_id": INT, "data": ANY_OBJECT,
                      "saved_at": WHEN}),
    "TaskDetail": json_object({
        "task": json_object({**TASK_PROPERTIES, "overdue": BOOL, "may_act": {
            "type": "boolean", "description": "false: assigned to someone else"}}),
        "case": ref("CaseBrief"),
        "client": json_object({"id": INT, "name": TEXT}),
        "schema": nullable({"type": "object", "description": "the form's JSON Schema"}),
        "prefill": {**ANY_OBJECT, "description": "form field -> value from the client record"},
        "draft": {"oneOf": [ref("Draft"), {"type": "null"}],
                  "description": "the user's own draft"},
        "values": {**ANY_OBJECT, "description": "what the form shows: prefill, overlaid "
                   "with the draft"},
    }),
    "TaskResult": json_object({"task": ref("Task")}),
    "TaskList": json_object({"tasks": {"type": "array", "items": ref("Task")}}),
    "DraftResult": json_object({"draft": ref("Draft")}),
    "Completion": json_object({
        "case_id": INT, "status": TEXT,
        "next_task": {"oneOf": [ref("Task"), {"type": "null"}],
                      "description": "the next open task of the same client the user may do"},
        "error": {**nullable(ANY_OBJECT), "description": "status error: the answers were "
                  "saved, then the case stopped; why (message, step, ...), '[hidden]' "
                  "parts where it names what you may not see. Team leads and admins see it "
                  "in GET /incidents and retry it"},
    }),
    "Incident": json_object({
        **CASE_BRIEF_PROPERTIES, "client_name": TEXT,
        "error": {**nullable(ANY_OBJECT), "description": "why the case stopped: message, "
                  "step, kind, ..."},
        "since": {**nullable(WHEN), "description": "when the case went into error"},
        "versions": {"type": "array", "items": INT,
                     "description": "published versions it may be retried on"},
    }),
    "IncidentList": json_object({"incidents": {"type": "array", "items": ref("Incident")}}),
    "RetryResult": json_object({
        "case": json_object({**CASE_BRIEF_PROPERTIES, "error": nullable(ANY_OBJECT)}),
        "tasks": {"type": "array", "items": ref("Task"),
                  "description": "the case's open tasks afterwards"},
    }),
    "Client": json_object({"id": INT, "name": TEXT, "fields": ANY_OBJECT,
                       "created_at": nullable(WHEN)}),
    "ClientResult": json_object({"client": ref("Client")}),
    "ClientList": json_object({"clients": {"type": "array", "items": ref("Client")},
                               "limit": INT, "offset": INT, "next_offset": nullable(INT)}),
    "Consent": json_object({"id": INT, "client_id": INT, "given": BOOL, "scope": TEXT,
                        "purpose": TEXT, "recorded_by": TEXT, "recorded_at": WHEN,
                        "effective_on": DAY}),
    "ConsentResult": json_object({"consent": ref("Consent")}),
    "TimelineEntry": _TIMELINE_ENTRY,
    "CasePage": _CASE_PAGE,
    "CaseSummary": json_object({
        **CASE_BRIEF_PROPERTIES, "data": ANY_OBJECT,
        "exit_reason": {**nullable(TEXT), "description": "the reason of the end the case "
                        "reached (a form answer of that name stays in data)"},
        "waiting_for": {"type": "array", "items": TEXT},
        "error": nullable(ANY_OBJECT), "owner": nullable(TEXT),
        "open_tasks": {"type": "array", "items": ref("Task")},
        "problem": {**nullable(TEXT), "description": "admins only: why the case's version "
                    "cannot be loaded (its tasks cannot be opened); such a case is left out "
                    "for anyone else (unloadable_withheld)"},
    }),
    "ClientRecord": json_object({
        "client": ref("Client"),
        "cases": {"type": "array", "items": ref("CaseSummary")},
        "timeline": {"type": "array", "items": ref("TimelineEntry")},
        "referrals": {"type": "array", "items": ref("TimelineEntry")},
        "outcomes": {"type": "array", "items": ref("TimelineEntry")},
        "consents": {"type": "array", "items": ref("Consent")},
        "basis": {"type": "string", "enum": ["admin", "organisation", "consent",
                                             "break_glass"]},
        "visible_categories": {"type": "array", "items": TEXT},
        "hidden_fields": {"type": "array", "items": TEXT},
        "startable": {"type": "array", "items": TEXT},
        "break_glass_until": {**nullable(WHEN), "description": "basis break_glass: when "
                              "the read-only view ends"},
        "unloadable_withheld": {**BOOL, "description": "something was left out because "
                                "its version's definition cannot be loaded (never for an "
                                "admin, who sees such cases with their problem)"},
        "notes": {"type": "array", "items": ref("Note"), "description": "contacts and "
                  "notes you may read, oldest first"},
        "may_note": {**BOOL, "description": "you may record a note (POST .../notes)"},
    }, description=f"sensitive values the user may not see read {access.HIDDEN!r}"),
    "StartResult": json_object({
        "case": ref("CaseBrief"),
        "next_task": {"oneOf": [ref("Task"), {"type": "null"}]},
    }),
    "OpenApiDocument": {"type": "object", "required": ["openapi", "info", "paths"],
                        "description": "this document (OpenAPI 3.1)"},
    "Attachment": json_object({
        "id": INT, "client_id": INT, "case_id": nullable(INT),
        "filename": {**TEXT, "description": "the name sent, made safe (no folders), with "
                     "the extension of its type"},
        "content_type": {**TEXT, "description": "found from the content, not the name"},
        "size": INT, "sha256": TEXT, "uploaded_by": TEXT, "organisation": TEXT,
        "uploaded_at": WHEN, "download": {**TEXT, "description": "where to download it"}}),
    "AttachmentResult": json_object({"attachment": ref("Attachment")}),
    "AttachmentList": json_object({
        "attachments": {"type": "array", "items": ref("Attachment")},
        "may_add": {**BOOL, "description": "you may add documents to this record"}}),
    "ClientExport": {**ANY_OBJECT, "description": "everything held on the client: "
                     "exported_at, exported_by, client, cases (with tasks and events), "
                     "consents, notes, drafts, messages, access_log",
                     "required": ["exported_at", "exported_by", "client", "cases", "consents",
                                  "notes", "drafts", "messages", "access_log"]},
}

_REASON = {**nullable(TEXT), "description": "not used: a break-glass access is read-only "
           "and never records a consent or starts a case (accepted so older bodies stay "
           "valid)"}

REQUEST_SCHEMAS: dict[str, dict[str, Any]] = {
    "ReassignRequest": json_object({
        "tasks": {"type": "array", "items": TEXT, "minItems": 1, "uniqueItems": True},
        "to": {**nullable({"type": "string", "minLength": 1}),
               "description": "a username, or null to make the tasks unassigned"},
    }, additionalProperties=False),
    "FormData": json_object({"data": {**ANY_OBJECT, "description": "form field -> value"}},
                        additionalProperties=False),
    "NewClient": json_object({"name": {"type": "string", "minLength": 1, "maxLength": 200},
                          "fields": {**ANY_OBJECT, "description": "client profile fields"}},
                         required=["name"], additionalProperties=False),
    "NewConsent": json_object({
        "given": {**BOOL, "description": "true: given; false: withdrawn"},
        "scope": {"type": "string", "enum": list(CONSENT_SCOPES)},
        "purpose": {"type": "string", "minLength": 1},
        "effective_on": {**DAY, "description": "defaults to today"},
        "reason": _REASON,
    }, required=["given", "scope", "purpose"], additionalProperties=False),
    "RetryRequest": json_object({
        "version": {"type": "integer", "minimum": 1, "description": "a published version of "
                    "the case's pathway (default: the case's own)"},
        "data": {**ANY_OBJECT, "description": "values for the failed step; under \"client\" "
                 "the client's fields (checked against their declared types)"},
    }, required=[], additionalProperties=False),
    "NewNote": json_object({
        "kind": {"type": "string", "enum": list(NOTE_KINDS), "description": ", ".join(
            f"{k}: {title}" for k, title in NOTE_KINDS.items())},
        "contact_on": {**DAY, "description": "the day of the contact, not later than today"},
        "minutes": {"type": ["integer", "null"], "minimum": 0, "maximum": NOTE_MINUTES_MAX,
                    "description": "how long it took (optional)"},
        "text": {"type": "string", "minLength": 1, "maxLength": NOTE_TEXT_MAX},
        "case_id": {"type": ["integer", "null"], "minimum": 1,
                    "description": "one of the client's cases it is about (optional)"},
    }, required=["kind", "contact_on", "text"], additionalProperties=False),
    "CloseRequest": json_object({
        "reason": {"type": "string", "minLength": 1, "maxLength": CLOSE_REASON_MAX,
                   "description": "why the case is closed (kept on its case_cancelled event)"},
    }, additionalProperties=False),
    "NewAttachment": json_object({
        "file": {"type": "string", "contentMediaType": "application/octet-stream",
                 "description": "the document: PDF, PNG, JPEG, plain text, DOCX or ODT, "
                 "its type found from its content"},
        "case": {"type": "integer", "minimum": 1,
                 "description": "one of the client's cases the document is about"},
    }, required=["file"]),
    "NewCase": json_object({"pathway": {"type": "string", "minLength": 1}, "reason": _REASON},
                       required=["pathway"], additionalProperties=False),
}

_VALIDATORS = {name: Draft202012Validator(schema,
                                          format_checker=Draft202012Validator.FORMAT_CHECKER)
               for name, schema in REQUEST_SCHEMAS.items()}

_KIND = {"object": "a JSON object", "array": "a list", "string": "text", "integer":
         "a whole number", "number": "a number", "boolean": "true or false", "null": "null"}


def _problem(error: ValidationError) -> str:
    value: Any = error.validator_value
    if error.validator == "type":
        kinds = [value] if isinstance(value, str) else list(value)
        return "must be " + " or ".join(_KIND.get(k, k) for k in kinds)
    if error.validator == "enum":
        return "must be one of " + ", ".join(map(str, value))
    if error.validator == "minLength":
        return "must not be empty"
    if error.validator == "maxLength":
        return f"must be at most {value} characters"
    if error.validator == "minItems":
        return f"must list at least {value}"
    if error.validator == "uniqueItems":
        return "must not repeat itself"
    if error.validator == "minimum":
        return f"must be at least {value}"
    if error.validator == "maximum":
        return f"must be at most {value}"
    if error.validator == "format" and value == "date":
        return "must be a date (YYYY-MM-DD)"
    return error.message


def _field_problems(name: str, body: Any) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}

    def add(path: Iterable[Any], message: str) -> None:
        found = fields.setdefault(".".join(map(str, path)) or BODY, [])
        if message not in found:  # jsonschema reports each missing property in full
            found.append(message)

    words = {MISSING: "is required", UNKNOWN: "is not a known field"}
    for problem in schema_errors(_VALIDATORS[name].iter_errors(body)):
        add(problem.path, words.get(problem.kind) or _problem(problem.error))
    return fields


def request_body(name: str) -> dict[str, Any]:
    """The request's JSON body, checked against REQUEST_SCHEMAS[name]; InvalidArgumentError
    (details.fields) when it is missing, not JSON or does not match."""
    body = load_body()  # strict: NaN, huge numbers, NUL, surrogates, deep nesting refused
    problems = _field_problems(name, body)
    if problems:
        raise InvalidArgumentError("the request body is not valid",
                                   details={"fields": problems})
    assert isinstance(body, dict)
    return body
