"""Who may see and do what of a client's record, decided on the server against storage.

`CaseworkContext` is what every casework handler runs on (engine.casework.casework_inbox,
engine.casework.casework_tasks, engine.casework.casework_clients, ...): the engine, storage, the
clock, and the checks of engine.access applied to what is stored. A task or client the user may not
see is reported as not found (its existence is not revealed); ForbiddenError is raised only where
the user knows the thing exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine import access
from engine.access import privacy
from engine.cases.services import Engine
from engine.errors import DefinitionError, ForbiddenError, NotFoundError
from engine.model import (
    AccessEntry,
    CaseRecord,
    Client,
    ClientScope,
    Consent,
    InboxTask,
    User,
)
from engine.plain import to_plain
from engine.ports import Clock, UnitOfWork, UnitOfWorkFactory
from engine.workflow.definition_model import ParsedDefinition

# the access log entries glass_cases and involved read (a client's log grows with every view
# of their record: a task's access check reads only these)
CARE_ACTIONS = ("start_case", "create_client")
# the views of a record a break-glass opening may be (the client record, a case page)
VIEWS = ("view_client", "view_case")


def glass_cases(cases: Sequence[CaseRecord], log: Iterable[AccessEntry]) -> set[int]:
    """Ids of the cases started under break-glass (before it became read-only), and of the
    cases they referred the client to: none of them makes an organisation involved."""
    glass = {e.detail.get("case") for e in log
             if e.action == "start_case" and (e.reason or e.detail.get("break_glass"))}
    for case in sorted(cases, key=lambda c: c.id or 0):
        referral = case.data.get("referral")
        if isinstance(referral, dict) and referral.get("from_case") in glass:
            glass.add(case.id)
    return {case_id for case_id in glass if isinstance(case_id, int)}


def counted(consents: Sequence[Consent], log: Iterable[AccessEntry]) -> list[Consent]:
    """The consents that count: not those recorded under break-glass."""
    glass = {e.detail.get("consent") for e in log
             if e.action == "record_consent" and (e.reason or e.detail.get("break_glass"))}
    return [c for c in consents if c.id not in glass]


@dataclass(frozen=True)
class ClientAccess:
    """What CaseworkContext.client_access found and decided."""

    client: Client
    cases: list[CaseRecord]
    consents: list[Consent]  # those that count
    decision: access.RecordAccess
    involved: bool
    reason: str | None  # the break-glass reason in force (given now, or the grant's)
    grant: AccessEntry | None  # the opening a later break-glass view comes under


class CaseworkContext:
    """The engine, storage and clock the casework handlers use, with the access checks
    they share."""

    def __init__(self, engine: Engine, uow: UnitOfWorkFactory, clock: Clock, *,
                 break_glass: timedelta = timedelta(minutes=30)) -> None:
        self.engine = engine
        self.uow = uow
        self.clock = clock
        self.break_glass = break_glass  # how long a break-glass opening lasts

    def definition(self, uow: UnitOfWork, pathway: str, version: int
                    ) -> ParsedDefinition | None:
        try:
            return self.engine.definition(pathway, version, uow=uow)
        except NotFoundError:
            return None

    def loaded(self, uow: UnitOfWork, pathway: str, version: int
                ) -> ParsedDefinition | DefinitionError | None:
        """The definition, or the error saying why its stored files cannot be loaded (which
        must never be read as "unknown, open to all": see access.may_see_unloadable)."""
        try:
            return self.definition(uow, pathway, version)
        except DefinitionError as err:
            return err

    def may_do(self, uow: UnitOfWork, user: User, task: InboxTask) -> bool:
        definition = self.loaded(uow, task.pathway, task.version)
        if isinstance(definition, DefinitionError):
            return access.may_see_unloadable(user)
        return access.may_do_task(user, task, definition)

    def visible_task(self, uow: UnitOfWork, user: User, task_id: str) -> InboxTask:
        """The open task, if the user may see it; else NotFoundError (as if it did not exist).

        A task of a case started under break-glass (or referred from one) is seen only by an
        admin or an organisation involved in the client's care on other grounds."""
        return self.visible(uow, user, task_id)[0]

    def visible(self, uow: UnitOfWork, user: User, task_id: str
                ) -> tuple[InboxTask, CaseRecord | None]:
        """visible_task, with the task's case (without its state) when the check read it:
        for anyone but an admin."""
        task = uow.inbox.get(task_id)
        if task is None or not self.may_do(uow, user, task):
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
        unloadable = self.loaded(uow, task.pathway, task.version)
        if isinstance(unloadable, DefinitionError):  # an admin: listed, never opened
            raise unloadable
        if user.role == "admin":
            return task, None
        cases = uow.cases.of_same_client(task.case_id)
        case = next((c for c in cases if c.id == task.case_id), None)
        if case is None:
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
        log = uow.access_log.list(client_id=case.client_id, actions=CARE_ACTIONS)
        if task.case_id in glass_cases(cases, log) and not self.involved(
                uow, user, cases, log):
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
        return task, case

    def acting_task(self, uow: UnitOfWork, user: User, task_id: str) -> InboxTask:
        return self.acting(uow, user, task_id)[0]

    def acting(self, uow: UnitOfWork, user: User, task_id: str
               ) -> tuple[InboxTask, CaseRecord | None]:
        """visible(), and the user may act on the task (else ForbiddenError)."""
        task, case = self.visible(uow, user, task_id)
        if not access.may_act_on(user, task):
            raise ForbiddenError(f"task {task_id} is assigned to {task.assignee}; ask them or "
                                 "a team lead to reassign it",
                                 details={"task": task_id, "assignee": task.assignee})
        return task, case

    def case_client(self, uow: UnitOfWork, case_id: int) -> int:
        case = uow.cases.get(case_id, with_state=False)
        if case is None:
            raise NotFoundError(f"no case {case_id}", details={"case": case_id})
        return case.client_id

    def holder(self, uow: UnitOfWork, case: CaseRecord) -> str | None:
        """The organisation that holds the case: its pathway's owner, else the one that
        started it (the access log's start_case); None when neither is known."""
        definition = self.loaded(uow, case.pathway, case.version)
        if isinstance(definition, ParsedDefinition) and definition.owner:
            return definition.owner
        started = [e.organisation for e in uow.access_log.list(
            client_id=case.client_id, actions=("start_case",))
            if e.detail.get("case") == case.id and not e.reason
            and not e.detail.get("break_glass")]
        return started[0] if started else None

    def log_access(self, uow: UnitOfWork, user: User, action: str, client_id: int | None, *,
                   reason: str | None = None, **detail: Any) -> None:
        uow.access_log.add(AccessEntry(
            id=None, at=self.clock.now(), username=user.username,
            organisation=user.organisation, client_id=client_id, action=action,
            reason=reason, detail=to_plain(detail)))

    def involved(self, uow: UnitOfWork, user: User, cases: Sequence[CaseRecord],
                 log: Sequence[AccessEntry]) -> bool:
        """Whether the user's organisation takes part in the client's care: it owns or is
        named for a role of one of the client's cases' pathways, may do one of their open
        tasks, or created the client. Cases started under break-glass, and those they
        referred, do not count (log: the client's access log)."""
        glass = glass_cases(cases, log)
        cases = [c for c in cases if c.id not in glass]
        definitions = [d for d in (self.loaded(uow, c.pathway, c.version) for c in cases)
                       if isinstance(d, ParsedDefinition)]  # unloadable: involves nobody
        if access.involves(definitions, user.organisation):
            return True
        if user.role != "admin":
            for case in cases:
                if case.status == "active" and case.id is not None and any(
                        self.may_do(uow, user, t) for t in uow.inbox.list(case_id=case.id)):
                    return True
        return any(e.action == "create_client" and e.organisation == user.organisation
                   for e in log)

    def client_scope(self, uow: UnitOfWork, user: User) -> ClientScope:
        """The clients the user may open without giving a reason, as ClientScope: the rule
        of involved() and access.record_access put as facts about every stored version
        (which involve the user's organisation, which cannot be loaded, which lane roles are
        closed to it), so a repository finds the clients in one query whatever their
        number. The user's role opens records (access.may_open_records)."""
        today = self.clock.now().date()
        if user.role == "admin":
            return ClientScope(None, today)
        involving: set[tuple[str, int]] = set()
        unloadable: set[tuple[str, int]] = set()
        closed: set[tuple[str, int, str]] = set()
        for version in uow.versions.list():
            key = (version.pathway, version.number)
            definition = self.loaded(uow, *key)
            if isinstance(definition, DefinitionError):
                unloadable.add(key)
            elif definition is not None:
                if access.involves([definition], user.organisation):
                    involving.add(key)
                closed.update((*key, role) for role in definition.role_organisations
                              if not definition.role_open_to(role, user.organisation))
        return ClientScope(user.organisation, today, frozenset(involving),
                           tuple(user.pathway_roles), frozenset(unloadable), frozenset(closed))

    def grant(self, user: User, log: Sequence[AccessEntry]) -> AccessEntry | None:
        """The user's break-glass opening of this record within the time box, if any: a
        view (VIEWS) with a reason (later views under it name it in detail.grant)."""
        now = self.clock.now()
        for entry in reversed(log):
            if (entry.username == user.username and entry.action in VIEWS
                    and entry.reason and "grant" not in entry.detail
                    and now - self.break_glass <= entry.at <= now):
                return entry
        return None

    def log_view(self, uow: UnitOfWork, user: User, client_id: int, found: ClientAccess,
                 redactor: privacy.Redactor, action: str = "view_client", **detail: Any
                 ) -> datetime:
        """Log a view of the record (action: view_client, or view_case with the case in
        detail) under the break-glass opening it comes under, if any; when the opening
        began."""
        decision = found.decision
        grant = found.grant if decision.break_glass else None
        opened_at = grant.at if grant is not None else self.clock.now()
        self.log_access(uow, user, action, client_id,
                        reason=found.reason if decision.break_glass else None,
                        basis=decision.basis, break_glass=decision.break_glass,
                        hidden_categories=redactor.hidden_categories,
                        hidden_entries=redactor.hidden_entries,
                        **({"grant": grant.id} if grant is not None else {}), **detail)
        return opened_at

    def sensitivity(self, uow: UnitOfWork, cases: Iterable[CaseRecord]
                     ) -> privacy.Sensitivity:
        """What is sensitive in the cases' versions and every pathway's latest version (a
        referral is judged by the pathway it refers to)."""
        wanted = [(c.pathway, c.version) for c in cases]
        wanted += [(v.pathway, v.number) for v in uow.versions.latest_all()]
        loaded = {key: self.loaded(uow, *key) for key in dict.fromkeys(wanted)}
        return privacy.Sensitivity.of(
            ((pathway, number, d) for (pathway, number), d in loaded.items()
             if isinstance(d, ParsedDefinition)),
            unknown=[key for key, d in loaded.items() if isinstance(d, DefinitionError)])

    def client_access(self, uow: UnitOfWork, user: User, client_id: int,
                      reason: str | None, action: str, *, refused_as: str | None = None
                      ) -> ClientAccess:
        """Load a client and decide the user's access; a refusal is logged (and committed)
        before ForbiddenError is raised.

        action "view_client" reads (a reason, or the user's live break-glass grant, opens a
        record otherwise closed); "record_consent", "start_case" and "record_note" write, which
        break-glass never allows (engine.access.write_access); "add_attachment" writes as
        "record_consent" does. refused_as names a refusal in the log (default: action's)."""
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
        consents = counted(uow.consents.for_client(client_id), log)
        involved = self.involved(uow, user, cases, log)
        today = self.clock.now().date()
        grant = self.grant(user, log) if reason is None else None
        if action == "view_client":
            decision = access.record_access(user, involved=involved, consents=consents,
                                            today=today, reason=reason,
                                            grant=grant is not None)
        else:
            decision = access.write_access(
                user, involved=involved, consents=consents, today=today,
                action="record_consent" if action == "record_consent"
                else "record_note" if action == "record_note"
                else "add_attachment" if action == "add_attachment" else "start_case")
        if not decision.allowed:  # an attempt under a break-glass grant is reported with it
            self.log_access(uow, user, f"{refused_as or action}_refused", client_id,
                            reason=grant.reason if grant is not None else None,
                            break_glass=grant is not None)
            uow.commit()
            raise ForbiddenError(decision.message, details={
                "client": client_id, "reason_required": decision.reason_required})
        return ClientAccess(client, cases, consents, decision, involved,
                            reason if reason is not None else grant.reason if grant else None,
                            grant)

    def next_task(self, uow: UnitOfWork, user: User, client_id: int,
                  prefer_case: int | None) -> InboxTask | None:
        candidates = [
            task for task in uow.inbox.of_client(client_id)
            if task.assignee in (None, user.username) and self.may_do(uow, user, task)
            and not isinstance(  # never one that cannot open
                self.loaded(uow, task.pathway, task.version), DefinitionError)]
        if not candidates:
            return None
        far = datetime.max.replace(tzinfo=self.clock.now().tzinfo)
        return min(candidates, key=lambda t: (
            t.case_id != prefer_case, t.due is None, t.due or far,
            t.created_at or far, t.id))

    def redactor(self, uow: UnitOfWork, user: User, case: CaseRecord,
                 cache: dict[int, privacy.Redactor]) -> privacy.Redactor:
        """What the user may see of the case's client (cached per client)."""
        if case.client_id not in cache:
            cases = uow.cases.list(client_id=case.client_id)
            log = uow.access_log.list(client_id=case.client_id)
            visible = access.visible_categories(
                user, involved=self.involved(uow, user, cases, log),
                consents=counted(uow.consents.for_client(case.client_id), log),
                today=self.clock.now().date())
            cache[case.client_id] = privacy.Redactor(
                self.sensitivity(uow, cases), visible,
                sees_unknown=access.may_see_unloadable(user))
        return cache[case.client_id]
