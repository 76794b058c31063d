"""Cases in error, as team leads see them, and retrying their failed step."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine import access
from engine.access import privacy
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_views import Incident, RetryResult, StepRetry
from engine.errors import CaseStateError, ForbiddenError, InvalidArgumentError, NotFoundError
from engine.model import CaseRecord, User
from engine.ports import UnitOfWork
from engine.workflow.definition_model import ParsedDefinition


def _retriable_case(cw: CaseworkContext, uow: UnitOfWork, user: User, case_id: int) -> CaseRecord:
    """The case, if the user may retry it: a team lead of an organisation the pathway
    involves (owner or named for a role), or an admin. Another organisation's case is
    not found (its existence is not revealed), as its tasks are."""
    if not access.is_lead(user):
        raise ForbiddenError("only a team lead or an admin retries a case in error",
                             details={"role": user.role})
    case = uow.cases.get(case_id, with_state=False)
    definition = cw.loaded(uow, case.pathway, case.version) if case else None
    if case is None or not access.may_retry(  # unloadable: unknown, so only an admin
            user, definition if isinstance(definition, ParsedDefinition) else None):
        raise NotFoundError(f"no case {case_id}", details={"case": case_id})
    return case


def incidents(cw: CaseworkContext, user: User) -> list[Incident]:
    """Cases in error the user may retry, oldest incident first: each with its pathway,
    version, failed step and reason (engine.access.privacy: what the user may not see of the
    client is hidden) and the versions it may be retried on."""
    if not access.is_lead(user):
        raise ForbiddenError("only a team lead or an admin sees incidents",
                             details={"role": user.role})
    found: list[Incident] = []
    with cw.uow(read_only=True) as uow:
        redactors: dict[int, privacy.Redactor] = {}
        for case in uow.cases.list(status="error"):
            definition = cw.loaded(uow, case.pathway, case.version)
            if case.id is None or not access.may_retry(  # unloadable: only an admin
                    user, definition if isinstance(definition, ParsedDefinition) else None):
                continue
            shown = cw.redactor(uow, user, case, redactors).case(case)
            if shown is None:  # its pathway itself is sensitive: named, nothing else
                shown = dataclasses.replace(case, data={}, error={
                    "message": access.HIDDEN}, waiting_for=[], exit_reason=None)
            errors = [e for e in uow.events.list(case.id) if e.type == "error"]
            client = uow.clients.get(case.client_id)
            found.append(Incident(
                case=dataclasses.replace(shown, state={}),
                client_name=client.name if client else "",
                since=errors[-1].at if errors else case.updated_at,
                versions=sorted(v.number for v in uow.versions.list(case.pathway))))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda i: (i.since or far, i.case.id or 0))


def retry(cw: CaseworkContext, user: User, case_id: int, *, version: int | None,
          data: Mapping[str, Any] | None) -> RetryResult:
    """Run the case's failed step again (Engine.retry_case), on a published version of
    its pathway if given, with `data` fixing what the step lacked. Team leads of an
    organisation the pathway involves, and admins; logged in the access log."""
    with cw.uow() as uow:
        case = _retriable_case(cw, uow, user, case_id)
        if version is not None and uow.versions.get(case.pathway, version) is None:
            raise InvalidArgumentError(
                f"{case.pathway} has no published version {version}",
                details={"fields": {"version": ["is not a published version"]}})
    view = cw.engine.retry_case(case_id, version=version, actor=user.username,
                                data=data)
    with cw.uow() as uow:
        cw.log_access(uow, user, "retry_case", case.client_id, case=case_id,
                      version=view.case.version, status=view.case.status)
        uow.commit()
        stored = uow.cases.get(case_id, with_state=False)
        assert stored is not None
        redactor = cw.redactor(uow, user, stored, {})
        redactor.may_do = lambda t: cw.may_do(uow, user, t)
        shown = redactor.case(stored)
        if shown is None:
            shown = dataclasses.replace(stored, data={}, error=None if stored.error is None
                                        else {"message": access.HIDDEN})
        tasks = [t for t in uow.inbox.list(case_id=case_id) if redactor.task(t)]
    return RetryResult(dataclasses.replace(shown, state={}), tasks)



def retry_at_step(cw: CaseworkContext, user: User, pathway: str, version: int, step: str, *,
                  to_version: int | None) -> StepRetry:
    """Run the failed step again for every case of the version stopped with an error at
    `step`, on `to_version` if given (a designer who fixed the definition): designers and
    admins, who see these cases only as a count, so not at a step (or on a pathway) that
    reveals health or offence data unless they may open records. Each retry is in the
    access log; the result is counts only."""
    if not access.is_designer(user):
        raise ForbiddenError("only a designer or an admin retries the cases at a step",
                             details={"role": user.role})
    with cw.uow(read_only=True) as uow:
        definition = cw.loaded(uow, pathway, version)
        if not isinstance(definition, ParsedDefinition):
            raise NotFoundError(f"{pathway!r} has no version {version}",
                                details={"pathway": pathway, "version": version})
        hidden = step in definition.sensitive_steps or definition.sensitive_pathway
        if hidden and not access.may_open_records(user):
            raise NotFoundError(f"no step {step!r} shown in {pathway} v{version}",
                                details={"step": step})
        if to_version is not None and uow.versions.get(pathway, to_version) is None:
            raise InvalidArgumentError(
                f"{pathway} has no published version {to_version}",
                details={"fields": {"version": ["is not a published version"]}})
        stopped = [c for c in uow.cases.list(pathway=pathway, status="error", version=version)
                   if str((c.error or {}).get("step") or "") == step and c.id is not None]
    running = 0
    for case in stopped:
        view = cw.engine.retry_case(case.id or 0, version=to_version, actor=user.username)
        running += view.case.status != "error"
        with cw.uow() as uow:
            cw.log_access(uow, user, "retry_case", case.client_id, case=case.id,
                          version=view.case.version, status=view.case.status)
            uow.commit()
    return StepRetry(len(stopped), running, len(stopped) - running)


REASON_LIMIT = 500  # characters of a cancellation's reason


def cancel(cw: CaseworkContext, user: User, case_id: int, reason: str) -> None:
    """Cancel a case in error for good, with the reason (kept on its case_cancelled event):
    the same people as retry, and logged in the access log. A case no longer in error (it
    was retried, or cancelled, meanwhile) is refused, not cancelled."""
    said = reason.strip()
    if not said or len(said) > REASON_LIMIT:
        raise InvalidArgumentError(
            "a cancellation needs its reason", details={"fields": {"reason": [
                "say why the case is cancelled" if not said
                else f"at most {REASON_LIMIT} characters"]}})
    with cw.uow() as uow:
        case = _retriable_case(cw, uow, user, case_id)
        if case.status != "error":
            raise CaseStateError(f"case {case_id} is {case.status}, not in error",
                                 details={"case": case_id, "status": case.status})
    cw.engine.cancel_case(case_id, actor=user.username, reason=said)
    with cw.uow() as uow:
        cw.log_access(uow, user, "cancel_case", case.client_id, case=case_id, reason=said)
        uow.commit()
