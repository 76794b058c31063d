"""Closing a case from casework (issue 18, item 3): a caseworker of the organisation that
holds the case, or an admin, cancels it with a reason (Engine.cancel_case: a
`case_cancelled` event with the reason, its tasks and timers withdrawn). Anyone else who may
see the case is refused (ForbiddenError); a case already closed is refused as such
(CaseStateError); break-glass, being read-only, never closes one."""

from __future__ import annotations

import dataclasses

from engine import access
from engine.casework.case_page import seen
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_incidents import REASON_LIMIT
from engine.errors import CaseStateError, ForbiddenError, InvalidArgumentError
from engine.model import CaseRecord, User

OPEN = ("active", "error")  # the statuses a case can be closed from
CLOSE_REASON_MAX = REASON_LIMIT  # characters of a closing reason (as of a cancellation)

NOT_YOURS = ("only caseworkers of the organisation that holds this case (or an admin) close "
             "it")


def close_case(cw: CaseworkContext, user: User, case_id: int, reason: str) -> CaseRecord:
    """Cancel the case for good with the reason (see the module); logged as close_case. The
    case afterwards, without its state."""
    said = reason.strip()
    if not said or len(said) > CLOSE_REASON_MAX:
        raise InvalidArgumentError(
            "a case is closed with its reason", details={"fields": {"reason": [
                "say why the case is closed" if not said
                else f"at most {CLOSE_REASON_MAX} characters"]}})
    with cw.uow() as uow:
        record, found, _ = seen(cw, uow, user, case_id, None)
        if found.decision.break_glass:
            raise ForbiddenError(access.READ_ONLY, details={"case": case_id})
        if not access.may_close_case(user, cw.holder(uow, record)):
            raise ForbiddenError(NOT_YOURS, details={"case": case_id})
        if record.status not in OPEN:
            raise CaseStateError(f"case {case_id} is already closed ({record.status})",
                                 details={"case": case_id, "status": record.status})
    view = cw.engine.cancel_case(case_id, actor=user.username, reason=said)
    with cw.uow() as uow:
        cw.log_access(uow, user, "close_case", record.client_id, case=case_id,
                      why=said)  # detail, not `reason`: that column is break-glass reasons
        uow.commit()
    return dataclasses.replace(view.case, state={})
