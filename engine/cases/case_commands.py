"""Commands on cases: start, complete a task, fire timers, retry a failed step, cancel.

Handlers of the Engine facade. Each is one unit of work on a CaseRuntime: a command on a
running case hands its action to the runtime's template (`CaseRuntime.command`); starting and
retrying build the workflow themselves and persist it through the same `persist`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import (
    MessageEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.cases.case_queries import get_case
from engine.cases.client_commands import check_client_fields
from engine.data_names import reserved_data_name
from engine.errors import CaseStateError, InvalidArgumentError, NotFoundError
from engine.model import CaseRecord, Client, Message, NewEvent, PathwayVersion
from engine.ports import UnitOfWork
from engine.text import check_json
from engine.versions.allocation import allocate
from engine.workflow import event_order, group_commit, runner
from engine.workflow.case_runtime import (
    CaseRuntime,
    CaseView,
    CommandOutcome,
    CompletionResult,
    case_id_of,
    json_safe,
)
from engine.workflow.clock import current_time, running_at
from engine.workflow.definitions import ParsedDefinition
from engine.workflow.failures import log_failure, put_in_error
from engine.workflow.forms import computed_values, saved_to_client, validate_submission
from engine.workflow.state import load_state

log = logging.getLogger("engine.services")  # the worker's log lines keep their logger's name


# -- start -------------------------------------------------------------------------------


def start_case(rt: CaseRuntime, pathway: str, client_id: int, *, version: int | None,
               actor: str | None) -> CaseView:
    now = rt.clock.now()
    with rt.uow() as uow:
        outcome = start(rt, uow, pathway, client_id, version, actor, now, message=None)
    rt.after_commit(outcome)
    return CaseView(outcome.record, outcome.task_views())


def start(rt: CaseRuntime, uow: UnitOfWork, pathway: str, client_id: int, number: int | None,
          actor: str | None, now: datetime, message: Message | None) -> CommandOutcome:
    """Start a case of the pathway (on the allocated version unless `number` is given),
    run it until it waits and commit; a message (or signal) that starts it is caught by its
    start event, a referral's payload is put in its data."""
    client = rt.client(uow, client_id)
    version, chosen = _chosen_version(uow, pathway, client_id, number)
    parsed = rt.parsed(uow, pathway, version.number)
    by_signal = message is not None and message.kind == "signal"
    referral = message is not None and not by_signal \
        and message.name.startswith(runner.START_PREFIX)
    workflow = _new_workflow(rt, parsed, client, message if referral else None)
    events = [NewEvent(type="case_started", at=now, actor=actor, data={
        "pathway": pathway, "version": version.number, "client": client.id,
        **({"signal" if by_signal else "message": message.name,
            "from_case": message.sender_case_id} if message else {})}),
        NewEvent(type="version_allocated", at=now, actor=actor, data=chosen)]
    with running_at(now):
        before = runner.snapshot(workflow)
        error = runner.run_engine(workflow)
        if message is not None and not referral and error is None:
            events.append(catch(workflow, message, now))
            error = runner.run_engine(workflow)
        events += runner.describe_changes(workflow, parsed, before, now)
        record = CaseRecord(id=None, pathway=pathway, version=version.number,
                            client_id=client_id, status="active", state={}, created_at=now,
                            updated_at=now)
        outcome = rt.persist(uow, record, workflow, parsed, events, error, now, new=True)
        if message is not None and not by_signal and message.id is not None \
                and record.id is not None:  # (a signal was marked routed before)
            uow.messages.mark_delivered(message.id, record.id, now)
    uow.commit()
    return outcome


def _chosen_version(uow: UnitOfWork, pathway: str, client_id: int, number: int | None
                    ) -> tuple[PathwayVersion, dict[str, Any]]:
    """The version a new case runs on, and the version_allocated event's data."""
    latest = uow.versions.latest(pathway)
    if latest is None:
        raise NotFoundError(f"no pathway {pathway!r} is published",
                            details={"pathway": pathway, "version": number})
    if number is not None:
        chosen: dict[str, Any] = {"policy": "override", "version": number}
    else:
        allocation = allocate(uow.allocations.current(pathway), pathway, client_id,
                              latest.number)
        number, chosen = allocation.version, allocation.event
    version = latest if number == latest.number else uow.versions.get(pathway, number)
    if version is None:
        raise NotFoundError(f"no version {number} of pathway {pathway!r} is published",
                            details={"pathway": pathway, "version": number})
    return version, chosen


def _new_workflow(rt: CaseRuntime, parsed: ParsedDefinition, client: Client,
                  referral: Message | None) -> Any:
    """A fresh workflow whose data holds the client (and the referral that started it)."""
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs,
                            script_engine=rt.script_engine)
    initial: dict[str, Any] = {"client": {"id": client.id, "name": client.name, **client.fields}}
    if referral is not None:
        initial["referral"] = {"from_case": referral.sender_case_id,
                               **(referral.payload if isinstance(referral.payload, dict)
                                  else {})}
    workflow.task_tree.data = dict(initial)
    for child in workflow.task_tree.children:
        child.data = dict(initial)
    return workflow


def catch(workflow: Any, message: Message, now: datetime) -> NewEvent:
    """Hand a message (or signal) to the workflow's event that waits for it (a start
    event, or one of a running case); its message_received (signal_received) event."""
    by_signal = message.kind == "signal"
    kind = "signal" if by_signal else "message"
    definition = SignalEventDefinition if by_signal else MessageEventDefinition
    workflow.send_event(BpmnEvent(definition(message.name), payload=message.payload))
    return NewEvent(type=f"{kind}_received", at=now, data={
        "name": message.name, kind: message.id, "from_case": message.sender_case_id})


# -- tasks and timers --------------------------------------------------------------------


def _add_answers(task: Any, answers: dict[str, Any]) -> None:
    """Put a completion's answers into the task's data: a user task through its form's own
    rule (SpiffWorkflow's variable or merge); a manual or abstract task has no form, so
    SpiffWorkflow gives it no such method, and its (empty) answers are merged the same way."""
    add = getattr(task.task_spec, "add_data_from_form", None)
    if add is not None:
        add(task, answers)
    else:
        DeepMerge.merge(task.data, answers)


# A caller's part of a completion's transaction: `TaskGuard` runs first (its checks raise to
# refuse the completion; what it writes commits with it) and returns the open task's case:
# its id, or its record as it read it (without state) in this transaction; `TaskFinish` runs
# once the case is written, before the commit, given the case.
TaskGuard = Callable[[UnitOfWork], int | CaseRecord]
TaskFinish = Callable[[UnitOfWork, CaseRecord], None]


def complete_task(rt: CaseRuntime, task_id: str, data: Mapping[str, Any], *,
                  actor: str | None, guard: TaskGuard | None = None,
                  finish: TaskFinish | None = None) -> CompletionResult:
    """Complete a ready human task with form data (validated first; invalid saves nothing).
    `guard` and `finish`: the caller's part of the same transaction (see TaskGuard)."""
    submitted = dict(data)
    now = rt.clock.now()

    def complete(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                 parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
        task = runner.find_task(workflow, task_id)
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise NotFoundError(f"no open task {task_id}",
                                details={"task": task_id, "case": record.id})
        info = parsed.user_tasks.get(task.task_spec.name)
        schema = parsed.form_schema(info.form if info else None)
        validate_submission(schema, submitted, context=task.data)
        # computed fields are worked out here, never taken from the submission
        clean = json_safe({**submitted, **computed_values(schema, submitted, task.data)})
        _add_answers(task, clean)
        done = [NewEvent(type="task_completed", at=now, actor=actor,
                         step=runner.step_name(task),
                         data={"task": task_id, "title": info.title if info else None,
                               "data": clean})]
        saved = saved_to_client(schema, clean)
        if saved:  # the client's story, told once: kept on their shared record
            uow.clients.update_fields(record.client_id, saved)
            task.data["client"] = {**task.data.get("client", {}), **saved}
            done.append(NewEvent(type="client_updated", at=now, actor=actor,
                                 step=runner.step_name(task), data={"fields": saved}))
        return done, runner.run_task(workflow, task)

    def locate(uow: UnitOfWork) -> int | CaseRecord:
        if guard is not None:
            return guard(uow)
        case_id = rt.case_of_task(task_id)
        if case_id is not None:
            return case_id
        row = uow.inbox.get(task_id)
        if row is None:
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
        return row.case_id

    then = None if finish is None else lambda uow, done: finish(uow, done.record)
    outcome = rt.command(locate, now, complete, finish=then)
    return CompletionResult(outcome.record.id or 0, outcome.record.status,
                            outcome.task_views(), outcome.record.error)


# A worker's batch of due timers shares one commit (engine.workflow.group_commit): at most
# this many cases, or this long (on SQLite the batch holds the write lock throughout).
TIMER_BATCH_CASES = 32
TIMER_BATCH_SECONDS = 0.1


def fire_due_timers(rt: CaseRuntime, now: datetime | None) -> int:
    """Fire every timer due at `now` (default: the clock). Returns how many fired.

    Each case is claimed inside the transaction that fires it (TimerRepository.claim_due):
    the longest-due case no other worker holds, so several workers on one database fire
    disjoint cases, earliest first, and a worker that dies mid-way leaves its cases to the
    others when its transaction rolls back. The cases due at once go in batches that share
    one commit (group commit), each case in a savepoint of its own. A case another command
    holds (conflict) is left for the next round rather than retried here. A case whose timer
    cannot be fired for any other reason is undone alone and put in error with the reason
    (CaseRuntime.record_failure), which withdraws its timers, and the others go on.
    """
    when = now or rt.clock.now()
    fired = 0
    passed: set[int] = set()  # cases that did not move in this call: not claimed again
    while True:
        batch = group_commit.run_batch(rt, _claim_due(when, passed), when, refresh_timers,
                                       limit=TIMER_BATCH_CASES, seconds=TIMER_BATCH_SECONDS,
                                       record=_record_failure(when, passed))
        for case_id, err in batch.passed:
            log.info("timer of case %s left for the next round: %s", case_id, err)
        passed.update(case_id for case_id, _ in [*batch.passed, *batch.failed])
        for case_id, message, put in batch.recorded:
            log_failure(case_id, message, put)
        for outcome in batch.done:
            count = sum(event.type == "timer_fired" for event in outcome.events)
            if count == 0:
                passed.add(outcome.record.id or 0)
            fired += count
        if batch.exhausted:
            return fired


def _record_failure(when: datetime, passed: set[int]) -> group_commit.Record:
    """A batch's record of a case whose timer failed: claimed again (the failed savepoint
    released it) only if no other worker holds it and its timer is still due, so a case
    another worker has fired since is never put in error for this failure."""
    def record(uow: UnitOfWork, case_id: int, err: Exception) -> tuple[str, bool] | None:
        if uow.timers.claim_due(when, passed, only=case_id) is None:
            return None
        return put_in_error(uow, case_id, err, when, during="firing its timer", due_by=when)
    return record


def _claim_due(when: datetime, passed: set[int]) -> group_commit.Claim:
    """A batch's claim: the longest-due case no other worker holds and not passed over."""
    def claim(uow: UnitOfWork, batch: Collection[int]) -> int | None:
        return uow.timers.claim_due(when, passed | set(batch))
    return claim


def refresh_timers(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                   parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
    """Let every timer that is due go off, earliest first (the command's time is the clock's
    time)."""
    return [], event_order.fire_due_timers(workflow, current_time(), runner.timer_due,
                                           runner.run_engine)


def cancel_case(rt: CaseRuntime, case_id: int, *, actor: str | None, reason: str
                ) -> CaseView:
    now = rt.clock.now()

    def cancel(uow: UnitOfWork, record: CaseRecord, workflow: Any,
               parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
        workflow.cancel()
        record.status = "cancelled"
        return [NewEvent(type="case_cancelled", at=now, actor=actor,
                         data={"reason": reason})], None

    rt.command(case_id_of(case_id), now, cancel, allow=("active", "error"))
    return get_case(rt, case_id)


# -- retry -------------------------------------------------------------------------------


def retry_case(rt: CaseRuntime, case_id: int, *, version: int | None, actor: str | None,
               data: Mapping[str, Any] | None) -> CaseView:
    """Run a case's failed step again, on a fixed version of its pathway if given, with
    `data` fixing what the step lacked (see Engine.retry_case)."""
    fixes = _retry_fixes(data)
    client_fix = fixes.get("client", {})
    now = rt.clock.now()
    with rt.uow() as uow:
        record = rt.case(uow, case_id)
        if record.status != "error":
            raise CaseStateError(f"case {case_id} is {record.status}, not in error",
                                 details={"case": case_id, "status": record.status})
        target = version or record.version
        parsed = rt.parsed(uow, record.pathway, target)
        check_steps_exist(record, parsed)
        if client_fix:
            check_client_fields(rt, uow, client_fix)
        client = rt.client(uow, record.client_id)
        workflow = load_state(record.state, parsed, rt.script_engine, case_id=case_id)
        expected = record.revision
        events = [NewEvent(type="case_retried", at=now, actor=actor, data={
            "from_version": record.version, "to_version": target,
            **({"data": json_safe(fixes)} if fixes else {})})]
        if client_fix:
            uow.clients.update_fields(record.client_id, json_safe(client_fix))
            events.append(NewEvent(type="client_updated", at=now, actor=actor,
                                   data={"fields": json_safe(client_fix)}))
        with running_at(now):
            before = runner.snapshot(workflow)
            error = runner.retry_failed_steps(workflow, json_safe(fixes),
                                              {**client.fields, **json_safe(client_fix)})
            events += runner.describe_changes(workflow, parsed, before, now)
            record.version, record.status, record.error = target, "active", None
            outcome = rt.persist(uow, record, workflow, parsed, events, error, now,
                                 expected_revision=expected)
        uow.commit()
    rt.after_commit(outcome)
    return get_case(rt, case_id)


def _retry_fixes(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The retry's data, refused when it sets what only the engine writes, or gives
    "client" as anything but an object of client fields."""
    fixes = dict(data or {})
    check_json(fixes, "data")
    for name in fixes:
        why = reserved_data_name(name) if name != "client" else None
        if why is not None:  # what the engine writes is not the retry's to set
            raise InvalidArgumentError(f"retry data may not set {why}",
                                       details={"field": f"data.{name}"})
    client_fix = fixes.get("client", {})
    if not isinstance(client_fix, dict):
        raise InvalidArgumentError('"client" in the retry data must be an object of client '
                                   "fields", details={"client": client_fix})
    return fixes


def check_steps_exist(record: CaseRecord, parsed: ParsedDefinition) -> None:
    """Refuse a version that lacks a step the case has already reached."""
    known = set(parsed.spec.task_specs)
    for sub in parsed.subprocess_specs.values():
        known |= set(sub.task_specs)
    used = {task["task_spec"] for task in record.state.get("tasks", {}).values()}
    for sub in record.state.get("subprocesses", {}).values():
        used |= {task["task_spec"] for task in sub.get("tasks", {}).values()}
    missing = sorted(used - known)
    if missing:
        raise CaseStateError(
            f"version {parsed.pathway} does not have steps this case has reached: "
            f"{', '.join(missing)}", details={"missing_steps": missing})
