"""A case: the case page's content (engine.casework.case_page) as JSON, under the same rules:
the client's record must open to you (a break-glass reason in the X-Pathways-Reason header
opens it, logged), and what is sensitive is hidden or left out."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.plain import to_plain
from web.api.clients import REASON_PARAMETERS, reason
from web.api.common import api_user, bp
from web.api.openapi import operation
from web.api.schemas import request_body
from web.api.shapes import case_brief_json, client_json
from web.security import application


@bp.get("/cases/<int:case_id>")
@operation("A case", tag="clients", result="CasePage", query=REASON_PARAMETERS,
           errors=(400, 403, 404), description="Steps done with who, when and their "
           "answers (labelled from the form, in words), what the case waits for, the "
           "diagram's marks, referrals in and out, outcomes. Refused as the client's record "
           "is (403 with details.reason_required: give a reason in the X-Pathways-Reason "
           "header); a case you may not know of is not found (404). Logged (view_case).")
def case(case_id: int) -> ResponseReturnValue:
    page = application().casework.case(api_user(), case_id, reason())
    shown = page.case
    return jsonify({
        "case": {**case_brief_json(shown), "data": to_plain(shown.data),
                 "exit_reason": shown.exit_reason, "waiting_for": list(shown.waiting_for),
                 "error": to_plain(shown.error)},
        "client": client_json(page.client), "title": page.title,
        "started_at": to_plain(page.started_at), "closed_at": to_plain(page.closed_at),
        "waiting": to_plain(page.waiting), "steps": to_plain(page.steps),
        "events": to_plain(page.events), "referrals_in": to_plain(page.referrals_in),
        "referrals_out": to_plain(page.referrals_out), "outcomes": to_plain(page.outcomes),
        "marks": page.marks, "basis": page.basis,
        "visible_categories": list(page.visible_categories),
        "hidden_fields": page.hidden_fields,
        "break_glass_until": to_plain(page.break_glass_until), "problem": page.problem,
        "notes": to_plain(page.notes), "may_note": page.may_note, "may_close": page.may_close,
    })


@bp.post("/cases/<int:case_id>/close")
@operation("Close a case", tag="clients", result="CloseResult", body="CloseRequest",
           errors=(400, 403, 404, 409), description="Cancel the case for good with the "
           "reason (kept on its case_cancelled event; its open tasks and timers are "
           "withdrawn). Caseworkers and team leads of the organisation that holds the case "
           "(its pathway's owner, else the organisation that started it) and admins; "
           "anyone else who may see the case: 403. A case already closed: 409 "
           "(invalid_state). Never under break-glass.")
def close_case(case_id: int) -> ResponseReturnValue:
    body = request_body("CloseRequest")
    closed = application().casework.close_case(api_user(), case_id, body.get("reason", ""))
    return jsonify({"case": case_brief_json(closed)})
