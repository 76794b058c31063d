"""Casework: what caseworkers, team leads and admins do through the web, with access enforced.

`Casework` runs cases through `Engine` (start, complete) and reads the ports directly for its
views: the inbox, a task page, a client's record with its timeline, consents, and the
subject access export. Every check of engine.access happens here, on the server: a task or
client the user may not see is reported as not found (its existence is not revealed), and
ForbiddenError is raised only where the user knows the thing exists (e.g. a client record
without consent: a reason opens it, logged as a break-glass access).

Every view of a client record (the record page, a task page, an export) is written to the
access log, as are consents recorded, cases started, claims and reassignments.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args

from engine import access, privacy
from engine.definitions import ParsedDefinition
from engine.dotted import dig
from engine.errors import DefinitionError, ForbiddenError, InvalidArgumentError, NotFoundError
from engine.forms import CLIENT_PREFIX, SAVE_TO
from engine.model import (
    CONSENT_SCOPES,
    AccessEntry,
    CaseRecord,
    Client,
    Consent,
    Draft,
    Event,
    InboxTask,
    User,
)
from engine.plain import to_plain
from engine.ports import Clock, UnitOfWork, UnitOfWorkFactory
from engine.services import Engine, TaskView
from engine.task_start import record_task_started, retrying

PREFILL = "x-pathways-prefill"

InboxScope = Literal["mine", "role", "unassigned"]
INBOX_SCOPES: tuple[str, ...] = get_args(InboxScope)
InboxSort = Literal["due", "-due", "created", "-created", "client", "-client", "pathway",
                    "step", "title"]
INBOX_SORTS: tuple[str, ...] = get_args(InboxSort)


# -- what Casework returns ---------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    task: InboxTask
    client_id: int
    client_name: str
    due: datetime | None
    overdue: bool
    assignee: str | None
    # why the task's version cannot be loaded (shown to admins only; such a task is listed
    # and never opened); None for every ordinary task
    problem: str | None = None


@dataclass(frozen=True)
class InboxProblem:
    """Tasks left out of (or only marked in) the inbox because their version's definition
    cannot be loaded. For an admin: the pathway, version, how many tasks and why; for
    anyone else, nothing that tells where or how many (pathway and version None, tasks 0),
    since what they could have seen cannot be judged."""

    message: str
    pathway: str | None = None
    version: int | None = None
    tasks: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class Inbox:
    rows: list[InboxRow]
    # "mine", "role", "unassigned": tasks in each scope under the other filters (scope and
    # overdue aside); "overdue": overdue tasks in the chosen scope
    counts: dict[str, int]
    problems: list[InboxProblem] = field(default_factory=list)


@dataclass(frozen=True)
class TaskPage:
    task: InboxTask
    case: CaseRecord  # without its workflow state
    client: Client
    schema: dict[str, Any] | None
    prefill: dict[str, Any]  # form field -> value from the client record
    draft: Draft | None  # the user's own draft
    values: dict[str, Any]  # what the form shows: prefill, overlaid with the draft
    overdue: bool
    may_act: bool  # False: assigned to someone else (the user may still look)


@dataclass(frozen=True)
class Completion:
    case_id: int
    status: str
    tasks: list[TaskView]  # the case's open tasks afterwards
    next_task: InboxTask | None  # the next open task of the same client the user may do
    # status "error": why the case stopped after the answers were saved (the reason hidden
    # when it names a step the user may not see: engine.privacy)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Incident:
    """A case in error, as those who fix it see it (engine.privacy applied)."""

    case: CaseRecord  # without state; data and error with what the user may not see hidden
    client_name: str
    since: datetime | None  # when it went into error (its last `error` event)
    versions: list[int]  # the published versions of its pathway it may be retried on


@dataclass(frozen=True)
class RetryResult:
    case: CaseRecord  # without state; redacted as on the client record
    tasks: list[InboxTask]  # the case's open tasks the user may see


@dataclass(frozen=True)
class StartResult:
    case: CaseRecord
    tasks: list[TaskView]
    next_task: InboxTask | None


@dataclass(frozen=True)
class CaseSummary:
    case: CaseRecord  # without state; data with sensitive values hidden
    owner: str | None  # the organisation owning the pathway
    open_tasks: list[InboxTask]
    problem: str | None = None  # why its version cannot be loaded (admins only see such)


@dataclass(frozen=True)
class TimelineEntry:
    case_id: int
    pathway: str
    seq: int
    at: datetime
    type: str
    step: str | None
    actor: str | None
    data: dict[str, Any]  # sensitive values hidden


@dataclass(frozen=True)
class ClientRecord:
    client: Client  # fields with sensitive values hidden
    cases: list[CaseSummary]
    timeline: list[TimelineEntry]  # every event of every case, oldest first
    referrals: list[TimelineEntry]  # referral_made events
    outcomes: list[TimelineEntry]  # outcome_recorded events
    consents: list[Consent]  # in the order recorded
    basis: str  # why the user may see it: admin, organisation, consent or break_glass
    visible_categories: tuple[str, ...]  # sensitive categories shown
    hidden_fields: list[str] = field(default_factory=list)  # names whose values were hidden
    startable: list[str] = field(default_factory=list)  # pathways the user may start
    may_record_consent: bool = False  # the user's organisation works with the client
    break_glass_reason: str | None = None  # basis break_glass: the reason given
    break_glass_until: datetime | None = None  # basis break_glass: when the view ends
    # something was withheld because its version's definition cannot be loaded (never set
    # for an admin, who sees such cases marked: CaseSummary.problem)
    unloadable_withheld: bool = False


@dataclass(frozen=True)
class AccessReportRow:
    """One access log entry as `pathways access report` and /admin/access show it."""

    at: datetime
    username: str
    organisation: str
    client: int | None
    action: str
    reason: str | None  # the break-glass reason, for a break-glass access
    viewed: str  # what was seen or done, in words


# -- helpers -------------------------------------------------------------------------------


def _viewed(entry: AccessEntry) -> str:
    """What an access log entry saw or did, in words."""
    detail, action = entry.detail, entry.action
    if action.endswith("_refused"):
        return "nothing (refused)"
    if action == "view_client":
        hidden = detail.get("hidden_categories") or []
        return "client record" + (f" ({', '.join(hidden)} hidden)" if hidden else "")
    if action in ("view_task", "claim", "unclaim", "reassign"):
        return f"task {detail.get('task')}"
    if action == "record_consent":
        given = "given" if detail.get("given") else "withdrawn"
        return f"{detail.get('scope')} consent {given}"
    if action == "start_case":
        return f"case {detail.get('case')} ({detail.get('pathway')})"
    return {"export": "subject access export", "create_client": "client added"}.get(
        action, action.replace("_", " "))


def _glass_cases(cases: Sequence[CaseRecord], log: Iterable[AccessEntry]) -> set[int]:
    """Ids of the cases started under break-glass (before it became read-only), and of the
    cases they referred the client to: none of them makes an organisation involved."""
    glass = {e.detail.get("case") for e in log
             if e.action == "start_case" and (e.reason or e.detail.get("break_glass"))}
    for case in sorted(cases, key=lambda c: c.id or 0):
        referral = case.data.get("referral")
        if isinstance(referral, dict) and referral.get("from_case") in glass:
            glass.add(case.id)
    return {case_id for case_id in glass if isinstance(case_id, int)}


def _counted(consents: Sequence[Consent], log: Iterable[AccessEntry]) -> list[Consent]:
    """The consents that count: not those recorded under break-glass."""
    glass = {e.detail.get("consent") for e in log
             if e.action == "record_consent" and (e.reason or e.detail.get("break_glass"))}
    return [c for c in consents if c.id not in glass]


@dataclass(frozen=True)
class _Access:
    """What Casework._client_access found and decided."""

    client: Client
    cases: list[CaseRecord]
    consents: list[Consent]  # those that count
    decision: access.RecordAccess
    involved: bool
    reason: str | None  # the break-glass reason in force (given now, or the grant's)
    grant: AccessEntry | None  # the opening a later break-glass view comes under


_MISSING = object()


def _matches(actual: Any, wanted: str) -> bool:
    """A case-data filter: the value as text (JSON for non-strings: true, 3, null)."""
    if actual is _MISSING:
        return False
    if isinstance(actual, str):
        return actual == wanted
    return json.dumps(actual) == wanted or str(actual) == wanted


class Casework:
    """The caseworker web's use cases, each checked against engine.access."""

    def __init__(self, engine: Engine, uow: UnitOfWorkFactory, clock: Clock, *,
                 break_glass: timedelta = timedelta(minutes=30)) -> None:
        self._engine = engine
        self._uow = uow
        self._clock = clock
        self._break_glass = break_glass  # how long a break-glass opening lasts

    # -- internals ---------------------------------------------------------------------

    def _definition(self, uow: UnitOfWork, pathway: str, version: int
                    ) -> ParsedDefinition | None:
        try:
            return self._engine.definition(pathway, version, uow=uow)
        except NotFoundError:
            return None

    def _loaded(self, uow: UnitOfWork, pathway: str, version: int
                ) -> ParsedDefinition | DefinitionError | None:
        """The definition, or the error saying why its stored files cannot be loaded (which
        must never be read as "unknown, open to all": see access.may_see_unloadable)."""
        try:
            return self._definition(uow, pathway, version)
        except DefinitionError as err:
            return err

    def _may_do(self, uow: UnitOfWork, user: User, task: InboxTask) -> bool:
        definition = self._loaded(uow, task.pathway, task.version)
        if isinstance(definition, DefinitionError):
            return access.may_see_unloadable(user)
        return access.may_do_task(user, task, definition)

    def _visible_task(self, uow: UnitOfWork, user: User, task_id: str) -> InboxTask:
        """The open task, if the user may see it; else NotFoundError (as if it did not exist).

        A task of a case started under break-glass (or referred from one) is seen only by an
        admin or an organisation involved in the client's care on other grounds."""
        task = uow.inbox.get(task_id)
        if task is None or not self._may_do(uow, user, task):
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
        unloadable = self._loaded(uow, task.pathway, task.version)
        if isinstance(unloadable, DefinitionError):  # an admin: listed, never opened
            raise unloadable
        if user.role != "admin":
            case = uow.cases.get(task.case_id, with_state=False)
            if case is None:
                raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
            cases = uow.cases.list(client_id=case.client_id)
            log = uow.access_log.list(client_id=case.client_id)
            if task.case_id in _glass_cases(cases, log) and not self._involved(
                    uow, user, cases, log):
                raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
        return task

    def _acting_task(self, uow: UnitOfWork, user: User, task_id: str) -> InboxTask:
        task = self._visible_task(uow, user, task_id)
        if not access.may_act_on(user, task):
            raise ForbiddenError(f"task {task_id} is assigned to {task.assignee}; ask them or "
                                 "a team lead to reassign it",
                                 details={"task": task_id, "assignee": task.assignee})
        return task

    def _case_client(self, uow: UnitOfWork, case_id: int) -> int:
        case = uow.cases.get(case_id, with_state=False)
        if case is None:
            raise NotFoundError(f"no case {case_id}", details={"case": case_id})
        return case.client_id

    def _log(self, uow: UnitOfWork, user: User, action: str, client_id: int | None, *,
             reason: str | None = None, **detail: Any) -> None:
        uow.access_log.add(AccessEntry(
            id=None, at=self._clock.now(), username=user.username,
            organisation=user.organisation, client_id=client_id, action=action,
            reason=reason, detail=to_plain(detail)))

    def _involved(self, uow: UnitOfWork, user: User, cases: Sequence[CaseRecord],
                  log: Sequence[AccessEntry]) -> bool:
        """Whether the user's organisation takes part in the client's care: it owns or is
        named for a role of one of the client's cases' pathways, may do one of their open
        tasks, or created the client. Cases started under break-glass, and those they
        referred, do not count (log: the client's access log)."""
        glass = _glass_cases(cases, log)
        cases = [c for c in cases if c.id not in glass]
        definitions = [d for d in (self._loaded(uow, c.pathway, c.version) for c in cases)
                       if isinstance(d, ParsedDefinition)]  # unloadable: involves nobody
        if access.involves(definitions, user.organisation):
            return True
        if user.role != "admin":
            for case in cases:
                if case.status == "active" and case.id is not None and any(
                        self._may_do(uow, user, t) for t in uow.inbox.list(case_id=case.id)):
                    return True
        return any(e.action == "create_client" and e.organisation == user.organisation
                   for e in log)

    def _grant(self, user: User, log: Sequence[AccessEntry]) -> AccessEntry | None:
        """The user's break-glass opening of this record within the time box, if any: a
        view_client entry with a reason (later views under it name it in detail.grant)."""
        now = self._clock.now()
        for entry in reversed(log):
            if (entry.username == user.username and entry.action == "view_client"
                    and entry.reason and "grant" not in entry.detail
                    and now - self._break_glass <= entry.at <= now):
                return entry
        return None

    def _sensitivity(self, uow: UnitOfWork, cases: Iterable[CaseRecord]
                     ) -> privacy.Sensitivity:
        """What is sensitive in the cases' versions and every pathway's latest version (a
        referral is judged by the pathway it refers to)."""
        wanted = [(c.pathway, c.version) for c in cases]
        wanted += [(v.pathway, v.number) for v in uow.versions.latest_all()]
        loaded = {key: self._loaded(uow, *key) for key in dict.fromkeys(wanted)}
        return privacy.Sensitivity.of(
            ((pathway, number, d) for (pathway, number), d in loaded.items()
             if isinstance(d, ParsedDefinition)),
            unknown=[key for key, d in loaded.items() if isinstance(d, DefinitionError)])

    def _client_access(self, uow: UnitOfWork, user: User, client_id: int,
                       reason: str | None, action: str) -> _Access:
        """Load a client and decide the user's access; a refusal is logged (and committed)
        before ForbiddenError is raised.

        action "view_client" reads (a reason, or the user's live break-glass grant, opens a
        record otherwise closed); "record_consent" and "start_case" write, which break-glass
        never allows (engine.access.write_access)."""
        if not access.may_open_records(user):
            raise ForbiddenError("your role does not open individual client records",
                                 details={"role": user.role})
        client = uow.clients.get(client_id)
        if client is None:
            raise NotFoundError(f"no client {client_id}", details={"client": client_id})
        if reason is not None:
            reason = access.check_reason(reason)
        cases = uow.cases.list(client_id=client_id)
        log = uow.access_log.list(client_id=client_id)
        consents = _counted(uow.consents.for_client(client_id), log)
        involved = self._involved(uow, user, cases, log)
        today = self._clock.now().date()
        grant = self._grant(user, log) if reason is None else None
        if action == "view_client":
            decision = access.record_access(user, involved=involved, consents=consents,
                                            today=today, reason=reason,
                                            grant=grant is not None)
        else:
            decision = access.write_access(
                user, involved=involved, consents=consents, today=today,
                action="record_consent" if action == "record_consent" else "start_case")
        if not decision.allowed:  # an attempt under a break-glass grant is reported with it
            self._log(uow, user, f"{action}_refused", client_id,
                      reason=grant.reason if grant is not None else None,
                      break_glass=grant is not None)
            uow.commit()
            raise ForbiddenError(decision.message, details={
                "client": client_id, "reason_required": decision.reason_required})
        return _Access(client, cases, consents, decision, involved,
                       reason if reason is not None else grant.reason if grant else None,
                       grant)

    def _next_task(self, uow: UnitOfWork, user: User, client_id: int,
                   prefer_case: int | None) -> InboxTask | None:
        candidates: list[InboxTask] = []
        for case in uow.cases.list(client_id=client_id, status="active"):
            for task in uow.inbox.list(case_id=case.id):
                if task.assignee in (None, user.username) and self._may_do(
                        uow, user, task) and not isinstance(  # never one that cannot open
                        self._loaded(uow, task.pathway, task.version), DefinitionError):
                    candidates.append(task)
        if not candidates:
            return None
        far = datetime.max.replace(tzinfo=self._clock.now().tzinfo)
        return min(candidates, key=lambda t: (
            t.case_id != prefer_case, t.due is None, t.due or far,
            t.created_at or far, t.id))

    # -- inbox -------------------------------------------------------------------------

    def inbox(self, user: User, *, scope: str = "role", pathway: str | None = None,
              version: int | None = None, step: str | None = None,
              client_id: int | None = None, data: Mapping[str, str] | None = None,
              overdue: bool | None = None, sort: str = "due") -> Inbox:
        """Open tasks the user may do, across every version of every pathway.

        scope: "mine" (assigned to the user), "role" (every task the user may do, whoever it
        is assigned to) or "unassigned". data filters on case data (dotted keys such as
        client.release_date; a non-text value compares as JSON: true, 3). overdue: True for
        only overdue tasks, False for only the others. sort: due (undated last), -due,
        created, -created, client, -client (by name), pathway, step, title.
        """
        if scope not in INBOX_SCOPES:
            raise InvalidArgumentError(f"unknown inbox scope {scope!r}; use one of "
                                       f"{', '.join(INBOX_SCOPES)}", details={"scope": scope})
        if sort not in INBOX_SORTS:
            raise InvalidArgumentError(f"unknown sort {sort!r}; use one of "
                                       f"{', '.join(INBOX_SORTS)}", details={"sort": sort})
        now = self._clock.now()
        rows: list[InboxRow] = []
        unloadable: dict[tuple[str, int], tuple[DefinitionError, list[str]]] = {}
        with self._uow(read_only=True) as uow:
            if user.active and user.role in access.TASK_ROLES:
                tasks = []
                for t in uow.inbox.list(pathway=pathway, version=version, step=step):
                    loaded = self._loaded(uow, t.pathway, t.version)
                    if isinstance(loaded, DefinitionError):
                        unloadable.setdefault((t.pathway, t.version), (loaded, []))[1].append(
                            t.id)
                        if access.may_see_unloadable(user):
                            tasks.append(t)
                    elif access.may_do_task(user, t, loaded):
                        tasks.append(t)
                cases = {c.id: c for c in uow.cases.list(status="active", client_id=client_id)}
                names: dict[int, str] = {}
                redactors: dict[int, privacy.Redactor] = {}
                for task in tasks:
                    case = cases.get(task.case_id)
                    if case is None:
                        continue
                    if data and not all(_matches(dig(case.data, key, _MISSING), wanted)
                                        for key, wanted in data.items()):
                        continue
                    if data and not all(  # a filter must not tell what the record hides
                            self._redactor(uow, user, case, redactors).field_visible(case, key)
                            for key in data):
                        continue
                    if case.client_id not in names:
                        client = uow.clients.get(case.client_id)
                        names[case.client_id] = client.name if client else ""
                    broken = unloadable.get((task.pathway, task.version))
                    rows.append(InboxRow(task, case.client_id, names[case.client_id], task.due,
                                         task.due is not None and task.due < now,
                                         task.assignee,
                                         problem=broken[0].message if broken else None))
        in_scope = {
            "mine": [r for r in rows if r.assignee == user.username],
            "role": rows,
            "unassigned": [r for r in rows if r.assignee is None],
        }
        chosen = in_scope[scope]
        counts = {name: len(found) for name, found in in_scope.items()}
        counts["overdue"] = sum(r.overdue for r in chosen)
        if overdue is not None:
            chosen = [r for r in chosen if r.overdue == overdue]
        return Inbox(self._sorted(chosen, sort, now), counts,
                     self._inbox_problems(user, unloadable))

    @staticmethod
    def _inbox_problems(user: User, unloadable: Mapping[tuple[str, int], tuple[
            DefinitionError, list[str]]]) -> list[InboxProblem]:
        """What the inbox could not show: per version for an admin (listed and marked), one
        vague notice for anyone else (where and how many would tell what they may not see).
        Counted before the case filters: a filter on case data cannot be judged for them."""
        if not unloadable:
            return []
        if not access.may_see_unloadable(user):
            return [InboxProblem("Some tasks cannot be shown: the definition of a pathway "
                                 "version cannot be loaded. An admin can see which.")]
        found = []
        for (pathway, version), (err, task_ids) in sorted(unloadable.items()):
            count = len(task_ids)
            found.append(InboxProblem(
                f"{count} task{'s' if count != 1 else ''} of {pathway} v{version} cannot be "
                f"opened: its definition cannot be loaded ({err.message})",
                pathway=pathway, version=version, tasks=count, reason=err.message))
        return found

    def _redactor(self, uow: UnitOfWork, user: User, case: CaseRecord,
                  cache: dict[int, privacy.Redactor]) -> privacy.Redactor:
        """What the user may see of the case's client (cached per client)."""
        if case.client_id not in cache:
            cases = uow.cases.list(client_id=case.client_id)
            log = uow.access_log.list(client_id=case.client_id)
            visible = access.visible_categories(
                user, involved=self._involved(uow, user, cases, log),
                consents=_counted(uow.consents.for_client(case.client_id), log),
                today=self._clock.now().date())
            cache[case.client_id] = privacy.Redactor(
                self._sensitivity(uow, cases), visible,
                sees_unknown=access.may_see_unloadable(user))
        return cache[case.client_id]

    @staticmethod
    def _sorted(rows: list[InboxRow], sort: str, now: datetime) -> list[InboxRow]:
        far = datetime.max.replace(tzinfo=now.tzinfo)
        key = sort.removeprefix("-")
        reverse = sort.startswith("-")
        rows = sorted(rows, key=lambda r: (r.task.created_at or far, r.task.id))
        if key == "due":
            dated = sorted((r for r in rows if r.due is not None),
                           key=lambda r: r.due or far, reverse=reverse)
            return dated + [r for r in rows if r.due is None]
        if key == "created":
            return sorted(rows, key=lambda r: r.task.created_at or far, reverse=reverse)
        if key == "client":
            return sorted(rows, key=lambda r: (r.client_name.casefold(), r.client_id),
                          reverse=reverse)
        attribute = {"pathway": lambda r: (r.task.pathway, r.task.version),
                     "step": lambda r: (r.task.step,), "title": lambda r: (r.task.title,)}
        return sorted(rows, key=attribute[key])

    # -- a task ------------------------------------------------------------------------

    def task(self, user: User, task_id: str) -> TaskPage:
        """The task page: its form, prefilled from the client record, and the user's draft.
        The view is written to the access log."""
        with self._uow() as uow:
            task = self._visible_task(uow, user, task_id)
            case = uow.cases.get(task.case_id, with_state=False)
            if case is None:
                raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
            client = uow.clients.get(case.client_id)
            if client is None:
                raise NotFoundError(f"no client {case.client_id}")
            definition = self._definition(uow, task.pathway, task.version)
            schema = definition.form_schema(task.form) if definition else None
            prefill: dict[str, Any] = {}
            for name, prop in ((schema or {}).get("properties") or {}).items():
                if not isinstance(prop, dict):
                    continue
                source = prop.get(PREFILL) or prop.get(SAVE_TO)
                if isinstance(source, str) and source.startswith(CLIENT_PREFIX):
                    client_field = source.removeprefix(CLIENT_PREFIX)
                    if client_field in client.fields:
                        prefill[name] = client.fields[client_field]
            draft = uow.drafts.get(task_id, user.username)
            self._log(uow, user, "view_task", case.client_id, task=task_id, case=case.id)
            uow.commit()
        values = {**prefill, **(draft.data if draft else {})}
        return TaskPage(task=task, case=case, client=client, schema=schema, prefill=prefill,
                        draft=draft, values=values,
                        overdue=task.due is not None and task.due < self._clock.now(),
                        may_act=access.may_act_on(user, task))

    def claim(self, user: User, task_id: str) -> InboxTask:
        """Assign the task to the user. A task assigned to someone else can be taken over
        only by a team lead or an admin. The task's first claim records `task_started`."""
        return retrying(lambda: self._claim(user, task_id))

    def _claim(self, user: User, task_id: str) -> InboxTask:
        with self._uow() as uow:
            task = self._acting_task(uow, user, task_id)
            record_task_started(uow, task, user.username, "claim", self._clock.now)
            if task.assignee != user.username:
                uow.inbox.assign(task_id, user.username)
                self._log(uow, user, "claim", self._case_client(uow, task.case_id),
                          task=task_id, previous=task.assignee)
            uow.commit()
        return dataclasses.replace(task, assignee=user.username)

    def unclaim(self, user: User, task_id: str) -> InboxTask:
        """Make the task unassigned again (the assignee, a team lead or an admin)."""
        with self._uow() as uow:
            task = self._acting_task(uow, user, task_id)
            if task.assignee is not None:
                uow.inbox.assign(task_id, None)
                self._log(uow, user, "unclaim", self._case_client(uow, task.case_id),
                          task=task_id, previous=task.assignee)
                uow.commit()
        return dataclasses.replace(task, assignee=None)

    def reassign(self, lead: User, task_ids: Sequence[str], to_username: str | None
                 ) -> list[InboxTask]:
        """Assign tasks (all or none) to a user, or with None make them unassigned.

        Only team leads and admins. A team lead reassigns to users of their own organisation;
        the new assignee must be active and allowed to do every one of the tasks.
        """
        if not access.is_lead(lead):
            raise ForbiddenError("only a team lead or an admin can reassign tasks",
                                 details={"role": lead.role})
        done: list[InboxTask] = []
        with self._uow() as uow:
            target: User | None = None
            if to_username is not None:
                target = uow.users.by_username(to_username)
                if target is None or not target.active or (
                        lead.role != "admin" and target.organisation != lead.organisation):
                    raise NotFoundError(f"no active user {to_username!r} in your organisation",
                                        details={"user": to_username})
            tasks = [self._visible_task(uow, lead, task_id) for task_id in task_ids]
            if target is not None:
                refused = [t.id for t in tasks if not self._may_do(uow, target, t)]
                if refused:
                    raise InvalidArgumentError(
                        f"{to_username} may not do task(s) {', '.join(refused)}",
                        details={"user": to_username, "tasks": refused})
            for task in tasks:
                uow.inbox.assign(task.id, to_username)
                self._log(uow, lead, "reassign", self._case_client(uow, task.case_id),
                          task=task.id, previous=task.assignee, to=to_username)
                done.append(dataclasses.replace(task, assignee=to_username))
            uow.commit()
        return done

    def save_draft(self, user: User, task_id: str, data: Mapping[str, Any]) -> Draft:
        """Keep part-filled form data for later (not validated); replaces the user's draft.
        The task's first draft (unless it was claimed before) records `task_started`."""
        if not isinstance(data, Mapping):
            raise InvalidArgumentError("a draft must be a JSON object")
        plain = to_plain(dict(data))
        return retrying(lambda: self._save_draft(user, task_id, plain))

    def _save_draft(self, user: User, task_id: str, data: dict[str, Any]) -> Draft:
        with self._uow() as uow:
            task = self._acting_task(uow, user, task_id)
            record_task_started(uow, task, user.username, "draft", self._clock.now)
            draft = Draft(task_id=task_id, case_id=task.case_id, username=user.username,
                          data=data, saved_at=self._clock.now())
            uow.drafts.save(draft)
            uow.commit()
        return draft

    def complete(self, user: User, task_id: str, data: Mapping[str, Any]) -> Completion:
        """Complete the task (the form is validated; invalid data saves nothing), drop its
        drafts, and offer the next open task of the same client the user may do."""
        with self._uow() as uow:
            task = self._acting_task(uow, user, task_id)
            client_id = self._case_client(uow, task.case_id)
        result = self._engine.complete_task(task_id, data, actor=user.username)
        with self._uow() as uow:
            uow.drafts.delete(task_id)
            uow.commit()
            following = self._next_task(uow, user, client_id, result.case_id)
            error = None
            if result.error is not None:
                case = uow.cases.get(result.case_id, with_state=False)
                shown = self._redactor(uow, user, case, {}).case(case) if case else None
                error = shown.error if shown is not None else {"message": access.HIDDEN}
        return Completion(result.case_id, result.status, result.tasks, following, error)

    # -- incidents -----------------------------------------------------------------------

    def _retriable_case(self, uow: UnitOfWork, user: User, case_id: int) -> CaseRecord:
        """The case, if the user may retry it: a team lead of an organisation the pathway
        involves (owner or named for a role), or an admin. Another organisation's case is
        not found (its existence is not revealed), as its tasks are."""
        if not access.is_lead(user):
            raise ForbiddenError("only a team lead or an admin retries a case in error",
                                 details={"role": user.role})
        case = uow.cases.get(case_id, with_state=False)
        definition = self._loaded(uow, case.pathway, case.version) if case else None
        if case is None or not access.may_retry(  # unloadable: unknown, so only an admin
                user, definition if isinstance(definition, ParsedDefinition) else None):
            raise NotFoundError(f"no case {case_id}", details={"case": case_id})
        return case

    def incidents(self, user: User) -> list[Incident]:
        """Cases in error the user may retry, oldest incident first: each with its pathway,
        version, failed step and reason (engine.privacy: what the user may not see of the
        client is hidden) and the versions it may be retried on."""
        if not access.is_lead(user):
            raise ForbiddenError("only a team lead or an admin sees incidents",
                                 details={"role": user.role})
        found: list[Incident] = []
        with self._uow(read_only=True) as uow:
            redactors: dict[int, privacy.Redactor] = {}
            for case in uow.cases.list(status="error"):
                definition = self._loaded(uow, case.pathway, case.version)
                if case.id is None or not access.may_retry(  # unloadable: only an admin
                        user, definition if isinstance(definition, ParsedDefinition) else None):
                    continue
                shown = self._redactor(uow, user, case, redactors).case(case)
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

    def retry(self, user: User, case_id: int, *, version: int | None = None,
              data: Mapping[str, Any] | None = None) -> RetryResult:
        """Run the case's failed step again (Engine.retry_case), on a published version of
        its pathway if given, with `data` fixing what the step lacked. Team leads of an
        organisation the pathway involves, and admins; logged in the access log."""
        with self._uow() as uow:
            case = self._retriable_case(uow, user, case_id)
            if version is not None and uow.versions.get(case.pathway, version) is None:
                raise InvalidArgumentError(
                    f"{case.pathway} has no published version {version}",
                    details={"fields": {"version": ["is not a published version"]}})
        view = self._engine.retry_case(case_id, version=version, actor=user.username,
                                       data=data)
        with self._uow() as uow:
            self._log(uow, user, "retry_case", case.client_id, case=case_id,
                      version=view.case.version, status=view.case.status)
            uow.commit()
            stored = uow.cases.get(case_id, with_state=False)
            assert stored is not None
            redactor = self._redactor(uow, user, stored, {})
            redactor.may_do = lambda t: self._may_do(uow, user, t)
            shown = redactor.case(stored)
            if shown is None:
                shown = dataclasses.replace(stored, data={}, error=None if stored.error is None
                                            else {"message": access.HIDDEN})
            tasks = [t for t in uow.inbox.list(case_id=case_id) if redactor.task(t)]
        return RetryResult(dataclasses.replace(shown, state={}), tasks)

    # -- clients -------------------------------------------------------------------------

    def clients(self, user: User, query: str = "", *, limit: int = 200) -> list[Client]:
        """Clients whose record the user may open without giving a reason (admins: all),
        whose name contains the query or whose number it is; by name. Names only: opening
        a record is what is logged."""
        if not access.may_open_records(user):
            raise ForbiddenError("your role does not open individual client records",
                                 details={"role": user.role})
        wanted = query.strip().lower()
        today = self._clock.now().date()
        found: list[Client] = []
        with self._uow(read_only=True) as uow:
            for client in uow.clients.list():
                if client.id is None or (wanted and wanted not in client.name.lower()
                                         and wanted != str(client.id)):
                    continue
                cases = uow.cases.list(client_id=client.id)
                log = uow.access_log.list(client_id=client.id)
                decision = access.record_access(
                    user, involved=self._involved(uow, user, cases, log),
                    consents=_counted(uow.consents.for_client(client.id), log), today=today)
                if decision.allowed:
                    found.append(Client(client.id, client.name, {}, client.created_at))
                if len(found) >= limit:
                    break
        return sorted(found, key=lambda c: (c.name.lower(), c.id or 0))

    def add_client(self, user: User, name: str, fields: Mapping[str, Any] | None = None
                   ) -> Client:
        """Register a client; the user's organisation counts as taking part in their care."""
        if not access.may_open_records(user):
            raise ForbiddenError("your role does not add clients", details={"role": user.role})
        client = self._engine.add_client(name, fields)
        with self._uow() as uow:
            self._log(uow, user, "create_client", client.id)
            uow.commit()
        return client

    def client_record(self, user: User, client_id: int, reason: str | None = None
                      ) -> ClientRecord:
        """One client's record: profile, cases, timeline, referrals, outcomes, consents.

        Sensitive values the user may not see are replaced by "[hidden]"; cases, steps,
        referrals and fields whose mere presence would tell are left out (engine.privacy),
        except open tasks the user may do. Every view is
        logged ('view_client', with the reason for a break-glass access); a refusal is logged
        too ('view_client_refused') and raises ForbiddenError (details.reason_required).
        A reason (engine.access.check_reason: InvalidArgumentError when it says nothing)
        opens a record otherwise closed for the break-glass time box: later views by the
        same user within it need none, and are logged with the opening's reason.
        """
        today = self._clock.now().date()
        with self._uow() as uow:
            found = self._client_access(uow, user, client_id, reason, "view_client")
            client, cases, consents = found.client, found.cases, found.consents
            decision, involved = found.decision, found.involved
            visible = access.visible_categories(user, involved=involved, consents=consents,
                                                today=today)
            redactor = privacy.Redactor(self._sensitivity(uow, cases), visible,
                                        may_do=lambda t: self._may_do(uow, user, t),
                                        sees_unknown=access.may_see_unloadable(user))
            profile = redactor.client(client)
            summaries: list[CaseSummary] = []
            timeline: list[TimelineEntry] = []
            for case in cases:
                assert case.id is not None
                shown = redactor.case(case)
                if shown is None:  # a case on a pathway that is itself sensitive
                    continue
                definition = self._loaded(uow, case.pathway, case.version)
                broken = definition if isinstance(definition, DefinitionError) else None
                summaries.append(CaseSummary(
                    case=shown, owner=definition.owner if isinstance(
                        definition, ParsedDefinition) else None,
                    open_tasks=[t for t in uow.inbox.list(case_id=case.id)
                                if redactor.task(t)],
                    problem=broken.message if broken else None))
                timeline += [self._entry(case, event)
                             for event in redactor.events(case, uow.events.list(case.id))]
            timeline.sort(key=lambda e: (e.at, e.case_id, e.seq))
            startable = [] if decision.break_glass else [
                v.pathway for v in uow.versions.latest_all()
                if isinstance(d := self._loaded(uow, v.pathway, v.number), ParsedDefinition)
                and access.may_start(user, d)]
            grant = found.grant if decision.break_glass else None
            opened_at = grant.at if grant is not None else self._clock.now()
            self._log(uow, user, "view_client", client_id,
                      reason=found.reason if decision.break_glass else None,
                      basis=decision.basis, break_glass=decision.break_glass,
                      hidden_categories=redactor.hidden_categories,
                      hidden_entries=redactor.hidden_entries,
                      **({"grant": grant.id} if grant is not None else {}))
            uow.commit()
        return ClientRecord(
            client=profile, cases=summaries, timeline=timeline,
            referrals=[e for e in timeline if e.type == "referral_made"],
            outcomes=[e for e in timeline if e.type == "outcome_recorded"],
            consents=consents, basis=decision.basis or "", visible_categories=tuple(
                sorted(visible)), hidden_fields=sorted(redactor.hidden), startable=startable,
            may_record_consent=decision.basis in ("admin", "organisation"),
            break_glass_reason=found.reason if decision.break_glass else None,
            break_glass_until=(opened_at + self._break_glass) if decision.break_glass
            else None,
            unloadable_withheld=any(redactor.withholds(c.pathway, c.version) for c in cases))

    @staticmethod
    def _entry(case: CaseRecord, event: Event) -> TimelineEntry:
        """A timeline entry of an event already redacted (engine.privacy)."""
        return TimelineEntry(case_id=event.case_id, pathway=case.pathway, seq=event.seq,
                             at=event.at, type=event.type, step=event.step, actor=event.actor,
                             data=event.data)

    def record_consent(self, user: User, client_id: int, given: bool, scope: str,
                       purpose: str, effective_on: date | None = None) -> Consent:
        """Record a consent given (or withdrawn) for a scope: programme, health or offence.

        Only an organisation involved in the client's care (or an admin) records consents:
        never under break-glass, nor under the programme consent alone.
        effective_on defaults to today.
        """
        if scope not in CONSENT_SCOPES:
            raise InvalidArgumentError(f"unknown consent scope {scope!r}; use one of "
                                       f"{', '.join(CONSENT_SCOPES)}", details={"scope": scope})
        if not purpose.strip():
            raise InvalidArgumentError("say what the consent is for (its purpose)",
                                       details={"fields": {"purpose": ["is required"]}})
        now = self._clock.now()
        with self._uow() as uow:
            found = self._client_access(uow, user, client_id, None, "record_consent")
            consent = uow.consents.add(Consent(
                id=None, client_id=client_id, given=given, scope=scope, purpose=purpose,
                recorded_by=user.username, recorded_at=now,
                effective_on=effective_on or now.date()))
            self._log(uow, user, "record_consent", client_id, consent=consent.id,
                      given=given, scope=scope, basis=found.decision.basis, break_glass=False)
            uow.commit()
        return consent

    def start_case(self, user: User, pathway: str, client_id: int) -> StartResult:
        """Start a case of the pathway for the client: the user must be allowed to start the
        pathway (engine.access.may_start) and their organisation must work with the client,
        or the client's programme consent be in effect; never under break-glass."""
        with self._uow() as uow:
            found = self._client_access(uow, user, client_id, None, "start_case")
            latest = uow.versions.latest(pathway)
            definition = self._definition(uow, pathway, latest.number) if latest else None
            if definition is None:
                raise NotFoundError(f"no pathway {pathway!r} is published",
                                    details={"pathway": pathway})
            if not access.may_start(user, definition):
                raise ForbiddenError(f"your organisation does not work pathway {pathway!r}",
                                     details={"pathway": pathway})
        view = self._engine.start_case(pathway, client_id, actor=user.username)
        with self._uow() as uow:
            self._log(uow, user, "start_case", client_id, case=view.case.id,
                      pathway=pathway, basis=found.decision.basis, break_glass=False)
            uow.commit()
            following = self._next_task(uow, user, client_id, view.case.id)
        return StartResult(dataclasses.replace(view.case, state={}), view.tasks, following)

    # -- the access report -----------------------------------------------------------------

    def access_report(self, viewer: User | None, *, break_glass: bool = False,
                      since: date | None = None) -> list[AccessReportRow]:
        """The access log, oldest first: with break_glass, only break-glass accesses (the
        openings with their reasons and every view under them); since: from that day (UTC).
        viewer None is the operator at the command line; a user must be an admin."""
        if viewer is not None and not (viewer.active and viewer.role == "admin"):
            raise ForbiddenError("only an admin reads the access log",
                                 details={"role": viewer.role})
        start = datetime.combine(since, time.min, tzinfo=UTC) if since is not None else None
        with self._uow(read_only=True) as uow:
            entries = uow.access_log.list(since=start, break_glass=break_glass)
        return [AccessReportRow(at=e.at, username=e.username, organisation=e.organisation,
                                client=e.client_id, action=e.action, reason=e.reason,
                                viewed=_viewed(e)) for e in entries]

    # -- subject access --------------------------------------------------------------------

    def export_client(self, admin: User, client_id: int) -> dict[str, Any]:
        """Everything held on one client, as one JSON-ready document (a subject access
        request): profile, cases with their data, events and open tasks, consents, drafts,
        undelivered messages and the access log (this export included). Admins only."""
        if not (admin.active and admin.role == "admin"):
            raise ForbiddenError("only an admin can export a client's record",
                                 details={"role": admin.role})
        now = self._clock.now()
        with self._uow() as uow:
            client = uow.clients.get(client_id)
            if client is None:
                raise NotFoundError(f"no client {client_id}", details={"client": client_id})
            self._log(uow, admin, "export", client_id)
            cases = []
            drafts: list[Draft] = []
            for case in uow.cases.list(client_id=client_id):
                assert case.id is not None
                cases.append({
                    **to_plain(dataclasses.replace(case, state={})),
                    "tasks": to_plain(uow.inbox.list(case_id=case.id)),
                    "events": to_plain(uow.events.list(case.id)),
                })
                drafts += uow.drafts.for_case(case.id)
            document = {
                "exported_at": now.isoformat(),
                "exported_by": admin.username,
                "client": to_plain(client),
                "cases": [{k: v for k, v in c.items() if k != "state"} for c in cases],
                "consents": to_plain(uow.consents.for_client(client_id)),
                "drafts": to_plain(drafts),
                # the client's own (pending() adds programme-wide signals, nobody's record)
                "messages": to_plain([m for m in uow.messages.pending(client_id)
                                      if m.client_id == client_id]),
                "access_log": to_plain(uow.access_log.list(client_id=client_id)),
            }
            uow.commit()
        return document
