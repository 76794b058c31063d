"""Cases in error, and retrying them."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.model import (
    CaseRecord,
)
from engine.plain import to_plain
from web.api.common import api_user, bp
from web.api.openapi import operation
from web.api.schemas import request_body
from web.api.shapes import case_brief_json, task_json
from web.security import application


def _case_with_error(case: CaseRecord) -> dict[str, Any]:
    return {**case_brief_json(case), "error": to_plain(case.error)}


@bp.get("/incidents")
@operation("Cases in error", tag="cases", result="IncidentList", errors=(403,),
           description="Cases in `error` you may retry, oldest incident first: a team lead "
           "sees those of pathways their organisation takes part in, an admin all. What "
           "names what you may not see of the client reads '[hidden]'.")
def incidents() -> ResponseReturnValue:
    found = application().casework.incidents(api_user())
    return jsonify({"incidents": [
        {**_case_with_error(i.case), "client_name": i.client_name,
         "since": to_plain(i.since), "versions": i.versions} for i in found]})


@bp.post("/cases/<int:case_id>/retry")
@operation("Retry a case in error", tag="cases", result="RetryResult", body="RetryRequest",
           errors=(400, 403, 404, 409, 422),
           description="Run the failed step again, on a published version if given, with "
           "data fixing what it lacked. Team leads of an organisation the pathway involves, "
           "and admins (others: 403; another organisation's case: 404). A case not in error "
           "is 409 invalid_state; client fields of the wrong type are 422 invalid_data. A "
           "step that fails again leaves the case in error with the new reason (200).")
def retry_case(case_id: int) -> ResponseReturnValue:
    body = request_body("RetryRequest")
    result = application().casework.retry(api_user(), case_id, version=body.get("version"),
                                          data=body.get("data"))
    return jsonify({"case": _case_with_error(result.case),
                    "tasks": [task_json(t) for t in result.tasks]})
