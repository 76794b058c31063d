"""One case as the next worker reads it: who did which step when and what they answered, what
the case waits for now, where it stands on its pathway's diagram, its referrals in and out and
its outcomes.

The same rules as the client record (engine.casework.casework_clients.client_record): the
client's record must open to the user (organisation, consent, an admin, or a break-glass
reason, logged), and engine.access.privacy hides what the user may not see: a case on a
sensitive pathway is "not found"; a sensitive step's events (so its answers and its name),
tasks, timers and referrals are left out; a sensitive field's value shows HIDDEN; the diagram
loses the names and ids of what is hidden (engine.casework.case_diagram). Every view is
logged as `view_case`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from engine import access
from engine.access import privacy
from engine.casework import case_notes
from engine.casework.case_answers import Answer, answers
from engine.casework.case_diagram import Diagram, redact
from engine.casework.casework_access import CaseworkContext, ClientAccess
from engine.casework.casework_views import (
    CaseLink,
    CaseOutcome,
    CasePage,
    NoteView,
    TimelineEntry,
    Waiting,
)
from engine.errors import DefinitionError, NotFoundError
from engine.model import CaseRecord, Event, InboxTask, User
from engine.ports import UnitOfWork
from engine.workflow.definition_model import ParsedDefinition

STEP_TYPES = ("task_completed", "decision", "adhoc_finished")  # the steps done it lists
# events that say a step is under way rather than done (the diagram marks the rest done)
_UNDER_WAY = frozenset({"task_ready", "task_started", "timer_scheduled", "error",
                        "case_started", "version_allocated", "client_updated"})
_CLOSING = ("case_completed", "case_cancelled")


def seen(cw: CaseworkContext, uow: UnitOfWork, user: User, case_id: int,
          reason: str | None) -> tuple[CaseRecord, ClientAccess, privacy.Redactor]:
    """The case, the access its client's record gives the user (else ForbiddenError, with
    reason_required when a reason would open it) and what they may see of it; a case the
    user may not know of is not found."""
    record = uow.cases.get(case_id, with_state=False)
    if record is None:
        raise NotFoundError(f"no case {case_id}", details={"case": case_id})
    found = cw.client_access(uow, user, record.client_id, reason, "view_client")
    visible = access.visible_categories(user, involved=found.involved,
                                        consents=found.consents, today=cw.clock.now().date())
    redactor = privacy.Redactor(cw.sensitivity(uow, found.cases), visible,
                                may_do=lambda t: cw.may_do(uow, user, t),
                                sees_unknown=access.may_see_unloadable(user))
    if redactor.case(record) is None:
        raise NotFoundError(f"no case {case_id}", details={"case": case_id})
    return record, found, redactor


def _diagram(record: CaseRecord, definition: ParsedDefinition, redactor: privacy.Redactor,
             shown_steps: Sequence[str]) -> Diagram:
    """The version's diagram without what the viewer may not see (a step of an open task
    they may see stays)."""
    sensitivity = redactor.sensitivity

    def hides_id(ident: str) -> bool:
        return ident not in shown_steps and redactor.hides(
            sensitivity.step(record.pathway, record.version, ident))

    def hides_name(name: str) -> bool:
        return redactor.hides(sensitivity.message(record, name))

    return redact(definition.files[definition.main_file], definition.main_file, hides_id,
                  hides_name, record.pathway)


def case_diagram(cw: CaseworkContext, user: User, case_id: int) -> str:
    """The BPMN of the case's version as the case page draws it for the user (the same
    checks as case_page, a refusal logged as there; a view is not: the pathway's drawing
    tells nothing of the client, and the page that draws it is logged)."""
    with cw.uow() as uow:
        record, _, redactor = seen(cw, uow, user, case_id, None)
        definition = cw.loaded(uow, record.pathway, record.version)
        if not isinstance(definition, ParsedDefinition):
            raise NotFoundError(f"case {case_id} has no diagram: its version cannot be "
                                "loaded", details={"case": case_id})
        tasks = [t.step for t in uow.inbox.list(case_id=case_id) if redactor.task(t)]
        return _diagram(record, definition, redactor, tasks).text


def case_page(cw: CaseworkContext, user: User, case_id: int, reason: str | None) -> CasePage:
    """The case page (see the module): refused as the client record is (ForbiddenError,
    reason_required), not found for a case the user may not know of; logged as view_case."""
    now = cw.clock.now()
    with cw.uow() as uow:
        record, found, redactor = seen(cw, uow, user, case_id, reason)
        shown = redactor.case(record)
        assert shown is not None  # seen checked
        loaded = cw.loaded(uow, record.pathway, record.version)
        definition = loaded if isinstance(loaded, ParsedDefinition) else None
        tasks = [t for t in uow.inbox.list(case_id=case_id) if redactor.task(t)]
        drawn = Diagram("") if definition is None else _diagram(
            record, definition, redactor, [t.step for t in tasks])
        events = [entry(record, e, definition, drawn.names)
                  for e in redactor.events(record, uow.events.list(case_id))]
        waiting = _waiting(record, shown, tasks, uow, redactor, definition, drawn, now)
        client = redactor.client(found.client)
        notes, writes, may_close = _notes(cw, uow, user, shown, found, redactor)
        opened_at = cw.log_view(uow, user, record.client_id, found, redactor,
                                action="view_case", case=case_id)
        uow.commit()
    marks = _marks(events, waiting, shown)
    glass_reason, glass_until = _glass(cw, found, opened_at)
    return CasePage(
        case=shown, client=client, title=drawn.title or record.pathway.replace("_", " "),
        started_at=record.created_at, closed_at=_closed(record, events),
        waiting=waiting, steps=[e for e in events if e.type in STEP_TYPES], events=events,
        referrals_in=_referred_in(shown, found.cases, redactor),
        referrals_out=_referred_out(record, events, found.cases, redactor),
        outcomes=_outcomes(events), marks={k: marks[k] for k in marks if k in drawn.ids},
        basis=found.decision.basis or "", visible_categories=tuple(sorted(redactor.visible)),
        hidden_fields=sorted(redactor.hidden),
        break_glass_reason=glass_reason, break_glass_until=glass_until,
        problem=loaded.message if isinstance(loaded, DefinitionError) else None,
        notes=notes, may_note=writes, may_close=may_close)


def _notes(cw: CaseworkContext, uow: UnitOfWork, user: User, shown: CaseRecord,
           found: ClientAccess, redactor: privacy.Redactor
           ) -> tuple[list[NoteView], bool, bool]:
    """The case's notes the user may read; whether they may record one, and close it."""
    notes = case_notes.shown_notes(
        user, (n for n in uow.notes.for_client(shown.client_id) if n.case_id == shown.id),
        {shown.id or 0: shown}, redactor)
    writes = found.decision.basis in case_notes.WRITES
    may_close = writes and shown.status in ("active", "error") and \
        access.may_close_case(user, cw.holder(uow, shown))
    return notes, writes, may_close


def _glass(cw: CaseworkContext, found: ClientAccess, opened_at: datetime
           ) -> tuple[str | None, datetime | None]:
    """Under break-glass: the reason, and when the view ends."""
    if not found.decision.break_glass:
        return None, None
    return found.reason, opened_at + cw.break_glass


def _outcomes(events: Sequence[TimelineEntry]) -> list[CaseOutcome]:
    return [CaseOutcome(str(e.data.get("outcome") or e.step), e.data.get("value"), e.at,
                        e.data.get("problem"))
            for e in events if e.type == "outcome_recorded"]


def _answers(event: Event, definition: ParsedDefinition | None,
             names: dict[str, str] | None) -> list[Answer]:
    """A completed task's answers labelled from its form; the branches a decision took
    (only with names, the names on the viewer's diagram: a branch is named by its flow or
    the step it leads to, and only those left on the diagram may be shown)."""
    data = event.data
    if event.type == "task_completed" and isinstance(data.get("data"), dict):
        info = definition.user_tasks.get(event.step or "") if definition else None
        schema = definition.form_schema(info.form) if definition and info else None
        return answers(schema, data["data"])
    if event.type == "decision" and names and isinstance(data.get("branches"), list):
        shown = set(names.values())
        went = [str(b) for b in data["branches"] if str(b) in shown]
        return [Answer("branches", "Went", ", ".join(went))] if went else []
    return []


def decision_title(gateway: str) -> str:
    """An unnamed decision in words: its id without the DSL's gw_ prefix, "Refer substance
    misuse" for gw_refer_substance_misuse (the timeline says it is a decision)."""
    return gateway.removeprefix("gw_").replace("_", " ").capitalize()


def entry(case: CaseRecord, event: Event, definition: ParsedDefinition | None,
          names: dict[str, str] | None = None) -> TimelineEntry:
    """A timeline entry of an event already redacted: a completed task with its answers
    labelled from its form, a decision with the branch it took; titled from the task, the
    diagram's names (names: element id -> name, what the viewer may see) or a decision's
    gateway."""
    data = event.data
    title = data.get("title") if isinstance(data.get("title"), str) else None
    if title is None and event.step is not None and names:
        title = names.get(event.step)
    if title is None and event.type == "decision" and data.get("gateway"):
        title = decision_title(str(data["gateway"]))
    return TimelineEntry(case_id=event.case_id, pathway=case.pathway, seq=event.seq,
                         at=event.at, type=event.type, step=event.step, actor=event.actor,
                         data=data, answers=_answers(event, definition, names), title=title)


def _waiting(record: CaseRecord, shown: CaseRecord, tasks: Sequence[InboxTask],
             uow: UnitOfWork, redactor: privacy.Redactor,
             definition: ParsedDefinition | None, drawn: Diagram, now: datetime
             ) -> list[Waiting]:
    """The open tasks, timers and messages the case waits for that the viewer may see."""
    if record.status != "active" or record.id is None:
        return []
    lanes = definition.role_titles if definition is not None else {}
    found = [Waiting("task", t.title, t.step, t.id, lanes.get(t.role or "", t.role),
                     t.assignee, t.due, t.due is not None and t.due < now) for t in tasks]
    sensitivity = redactor.sensitivity
    for timer in uow.timers.for_case(record.id):
        if not redactor.hides(sensitivity.step(record.pathway, record.version, timer.step)):
            found.append(Waiting("timer", drawn.names.get(timer.step)
                                 or timer.step.replace("_", " "), timer.step,
                                 due=timer.due_at))
    found += [Waiting("message", name.replace("_", " ").replace(":", ": "))
              for name in shown.waiting_for]
    return found


def _closed(record: CaseRecord, events: Sequence[TimelineEntry]) -> datetime | None:
    if record.status not in ("completed", "cancelled"):
        return None
    ends = [e.at for e in events if e.type in _CLOSING]
    return ends[-1] if ends else record.updated_at


def _visible_case(cases: Sequence[CaseRecord], redactor: privacy.Redactor,
                  wanted: Callable[[CaseRecord], bool]) -> CaseRecord | None:
    for case in cases:
        if wanted(case):
            return redactor.case(case)
    return None


def _referral(case: CaseRecord) -> dict[str, Any]:
    referral = case.data.get("referral")
    return referral if isinstance(referral, dict) else {}


def _referred_in(shown: CaseRecord, cases: Sequence[CaseRecord],
                 redactor: privacy.Redactor) -> list[CaseLink]:
    """The case that referred this one, if the viewer may see it (else nothing: a
    placeholder would tell as much)."""
    source = _referral(shown).get("from_case")
    if not isinstance(source, int):
        return []
    found = _visible_case(cases, redactor, lambda c: c.id == source)
    return [] if found is None else [CaseLink(found.pathway, shown.created_at, found.id,
                                              found.status)]


def _referred_out(record: CaseRecord, events: Sequence[TimelineEntry],
                  cases: Sequence[CaseRecord], redactor: privacy.Redactor
                  ) -> list[CaseLink]:
    """The referrals the case made that the viewer may see, each with the case it started
    (the first of that pathway referred from this case) when they may see that too."""
    found: list[CaseLink] = []
    taken: set[int] = set()
    for event in events:
        if event.type != "referral_made":
            continue
        pathway = str(event.data.get("pathway") or "")

        def referred(case: CaseRecord, pathway: str = pathway) -> bool:
            return (case.pathway == pathway and case.id not in taken
                    and _referral(case).get("from_case") == record.id)

        target = _visible_case(cases, redactor, referred)
        if target is not None and target.id is not None:
            taken.add(target.id)
        found.append(CaseLink(pathway, event.at, target.id if target else None,
                              target.status if target else None))
    return found


def _marks(events: Sequence[TimelineEntry], waiting: Sequence[Waiting],
           shown: CaseRecord) -> dict[str, str]:
    """Diagram element id -> "done" (a step the case has been through) or "current" (one it
    waits at, or stopped at in error)."""
    marks = {e.step: "done" for e in events if e.step and e.type not in _UNDER_WAY}
    for item in waiting:
        if item.step:
            marks[item.step] = "current"
    error_step = (shown.error or {}).get("step") if shown.status == "error" else None
    if isinstance(error_step, str) and error_step != access.HIDDEN:
        marks[error_step] = "current"
    return marks
