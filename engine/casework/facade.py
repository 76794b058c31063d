"""Casework: what caseworkers, team leads and admins do through the web, with access enforced.

`Casework` is a thin facade: each use case is one line handing over to a handler grouped by what it
works on — the inbox (engine.casework.casework_inbox), a task (engine.casework.casework_tasks), a
client and their record (engine.casework.casework_clients), cases in error
(engine.casework.casework_incidents), the access report and subject access export
(engine.casework.casework_records). Every handler runs on the `CaseworkContext` Casework is
(engine.casework.casework_access), where every check of engine.access happens, on the server: a task
or client the user may not see is reported as not found (its existence is not revealed), and
ForbiddenError is raised only where the user knows the thing exists (e.g. a client record without
consent: a reason opens it, logged as a break-glass access). Cases are started and completed through
`Engine`.

Every view of a client record (the record page, a task page, an export) is written to the
access log, as are consents recorded, cases started, claims and reassignments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from engine.casework import (
    case_closing,
    case_notes,
    case_page,
    casework_clients,
    casework_filters,
    casework_inbox,
    casework_incidents,
    casework_records,
    casework_tasks,
    notices,
)
from engine.casework import task_fate as fates
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_views import (
    AccessReportRow,
    CasePage,
    ClientRecord,
    Completion,
    Inbox,
    InboxChoices,
    Incident,
    NoteView,
    Reassignment,
    RetryResult,
    StartResult,
    StepRetry,
    TaskPage,
)
from engine.casework.notices import DigestResult
from engine.model import (
    CaseRecord,
    Client,
    Consent,
    Draft,
    InboxNews,
    InboxTask,
    SavedFilter,
    User,
    UserNotices,
)
from engine.ports import Notifier


class Casework(CaseworkContext):
    """The caseworker web's use cases, each checked against engine.access."""

    # -- inbox and tasks -----------------------------------------------------------------

    def inbox(self, user: User, *, scope: str = "role", pathway: str | None = None,
              version: int | None = None, step: str | None = None,
              client_id: int | None = None, data: Mapping[str, str] | None = None,
              overdue: bool | None = None, sort: str = "due", limit: int | None = None,
              offset: int = 0, count_cap: int | None = None, with_saved: bool = False,
              drafts: bool = False, since: datetime | None = None) -> Inbox:
        """Open tasks the user may do, across every version of every pathway, a page of
        limit rows from offset (see engine.casework.casework_inbox.inbox for the filters,
        sorts, count_cap, with_saved and drafts)."""
        return casework_inbox.inbox(self, user, scope=scope, pathway=pathway, version=version,
                                    step=step, client_id=client_id, data=data,
                                    overdue=overdue, sort=sort, limit=limit, offset=offset,
                                    count_cap=count_cap, with_saved=with_saved,
                                    drafts=drafts, since=since)

    def inbox_choices(self, user: User) -> InboxChoices:
        """What the inbox's pathway, version and step filters offer, titles shown."""
        return casework_inbox.inbox_choices(self, user)

    def inbox_news(self, user: User) -> InboxNews | None:
        """The nav's counts: tasks new for the user and their role since they last looked
        at the inbox, and overdue ones (None for a user who does no tasks)."""
        return notices.inbox_news(self, user)

    def mark_inbox_seen(self, user: User) -> None:
        """The user looked at the inbox: "new" counts from now."""
        notices.mark_inbox_seen(self, user)

    def notices(self, user: User) -> UserNotices:
        """The user's own notices: last look at the inbox, the digest's choice."""
        return notices.notices(self, user)

    def set_digest(self, user: User, wanted: bool) -> None:
        """The user's own choice of the daily e-mail digest."""
        notices.set_digest(self, user, wanted)

    def send_digests(self, notifier: Notifier | None, link: str, *, dry_run: bool = False
                     ) -> list[DigestResult]:
        """Today's digests, once a day per user who asked (see engine.casework.notices)."""
        return notices.send_digests(self, notifier, link, dry_run=dry_run)

    def saved_filters(self, user: User) -> list[SavedFilter]:
        """The user's saved inbox filters, by name."""
        return casework_filters.saved_filters(self, user)

    def save_filter(self, user: User, name: str, query: str) -> SavedFilter:
        """Keep the inbox query string as the user's filter `name` (replacing one so named)."""
        return casework_filters.save_filter(self, user, name, query)

    def delete_filter(self, user: User, filter_id: int) -> None:
        """Forget the user's saved filter (NotFoundError if it is not theirs)."""
        casework_filters.delete_filter(self, user, filter_id)

    def task(self, user: User, task_id: str) -> TaskPage:
        """The task page: its form, prefilled from the client record, and the user's draft.
        The view is written to the access log."""
        return casework_tasks.task(self, user, task_id)

    def claim(self, user: User, task_id: str) -> InboxTask:
        """Assign the task to the user. A task assigned to someone else can be taken over
        only by a team lead or an admin. The task's first claim records `task_started`."""
        return casework_tasks.claim(self, user, task_id)

    def unclaim(self, user: User, task_id: str) -> InboxTask:
        """Make the task unassigned again (the assignee, a team lead or an admin)."""
        return casework_tasks.unclaim(self, user, task_id)

    def reassign(self, lead: User, task_ids: Sequence[str], to_username: str | None
                 ) -> list[InboxTask]:
        """Assign tasks (all or none) to a user, or with None make them unassigned (team
        leads within their organisation, and admins)."""
        return casework_tasks.reassign(self, lead, task_ids, to_username)

    def reassign_each(self, lead: User, task_ids: Sequence[str], to_username: str | None
                      ) -> Reassignment:
        """Reassign every task that can be; list each that cannot, with why."""
        return casework_tasks.reassign_each(self, lead, task_ids, to_username)

    def save_draft(self, user: User, task_id: str, data: Mapping[str, Any]) -> Draft:
        """Keep part-filled form data for later (not validated); replaces the user's draft."""
        return casework_tasks.save_draft(self, user, task_id, data)

    def complete(self, user: User, task_id: str, data: Mapping[str, Any]) -> Completion:
        """Complete the task (the form is validated; invalid data saves nothing), drop its
        drafts, and offer the next open task of the same client the user may do."""
        return casework_tasks.complete(self, user, task_id, data)

    def task_fate(self, user: User, task_id: str, case_id: int) -> fates.TaskFate | None:
        """What became of a task no longer open (completed by a colleague, its case cancelled,
        moved or ended), if the user may be told: for answers that could not be saved."""
        return fates.task_fate(self, user, task_id, case_id)

    # -- incidents -----------------------------------------------------------------------

    def incidents(self, user: User) -> list[Incident]:
        """Cases in error the user may retry, oldest incident first."""
        return casework_incidents.incidents(self, user)

    def retry(self, user: User, case_id: int, *, version: int | None = None,
              data: Mapping[str, Any] | None = None) -> RetryResult:
        """Run the case's failed step again (Engine.retry_case), on a published version of
        its pathway if given, with `data` fixing what the step lacked."""
        return casework_incidents.retry(self, user, case_id, version=version, data=data)

    def retry_at_step(self, user: User, pathway: str, version: int, step: str, *,
                      to_version: int | None = None) -> StepRetry:
        """Retry every case of the version stopped with an error at the step (designers
        and admins; counts only)."""
        return casework_incidents.retry_at_step(self, user, pathway, version, step,
                                                to_version=to_version)

    def cancel_incident(self, user: User, case_id: int, reason: str) -> None:
        """Cancel a case in error for good, with the reason (the people who may retry it)."""
        casework_incidents.cancel(self, user, case_id, reason)

    # -- clients -------------------------------------------------------------------------

    def clients(self, user: User, query: str = "", *, limit: int = 200, offset: int = 0
                ) -> list[Client]:
        """Clients whose record the user may open without giving a reason (admins: all)."""
        return casework_clients.clients(self, user, query, limit=limit, offset=offset)

    def client_page(self, user: User, query: str = "", *, limit: int = 50, offset: int = 0
                    ) -> casework_clients.ClientPage:
        """clients(), a page at a time, its bounds checked (InvalidArgumentError)."""
        return casework_clients.client_page(self, user, query, limit=limit, offset=offset)

    def add_client(self, user: User, name: str, fields: Mapping[str, Any] | None = None
                   ) -> Client:
        """Register a client; the user's organisation counts as taking part in their care."""
        return casework_clients.add_client(self, user, name, fields)

    def client_record(self, user: User, client_id: int, reason: str | None = None
                      ) -> ClientRecord:
        """One client's record: profile, cases, timeline, referrals, outcomes, consents,
        redacted for the user; every view (and refusal) is logged."""
        return casework_clients.client_record(self, user, client_id, reason)

    def case(self, user: User, case_id: int, reason: str | None = None) -> CasePage:
        """One case: steps done with who, when and their answers, what it waits for, its
        diagram's marks, referrals, outcomes; refused and redacted as the client record is,
        and logged (view_case)."""
        return case_page.case_page(self, user, case_id, reason)

    def case_diagram(self, user: User, case_id: int) -> str:
        """The BPMN of the case's version without what the user may not see."""
        return case_page.case_diagram(self, user, case_id)

    def record_consent(self, user: User, client_id: int, given: bool, scope: str,
                       purpose: str, effective_on: date | None = None) -> Consent:
        """Record a consent given (or withdrawn) for a scope: programme, health or offence."""
        return casework_clients.record_consent(self, user, client_id, given, scope, purpose,
                                               effective_on)

    def start_case(self, user: User, pathway: str, client_id: int, *,
                   another: bool = True) -> StartResult:
        """Start a case of the pathway for the client, if the user may; without another,
        not when the client has an open case of it already (DuplicateCaseError)."""
        return casework_clients.start_case(self, user, pathway, client_id, another=another)

    # -- notes and closing a case --------------------------------------------------------

    def record_note(self, user: User, client_id: int, *, kind: str,
                    contact_on: date | None, minutes: int | None, text: str,
                    case_id: int | None = None) -> NoteView:
        """Record a contact or note on the client (about one of their cases), as the
        client record's rules allow a write (never under break-glass)."""
        return case_notes.record_note(self, user, client_id, kind=kind,
                                      contact_on=contact_on, minutes=minutes, text=text,
                                      case_id=case_id)

    def client_of_case(self, case_id: int) -> int:
        """The client of the case (NotFoundError if there is none): who may see it is
        decided by what is then asked of that client's record."""
        with self.uow(read_only=True) as uow:
            return self.case_client(uow, case_id)

    def client_notes(self, user: User, client_id: int, reason: str | None = None
                     ) -> list[NoteView]:
        """The client's notes the user may read, oldest first (logged as a view)."""
        return case_notes.client_notes(self, user, client_id, reason)

    def close_case(self, user: User, case_id: int, reason: str) -> CaseRecord:
        """Cancel the case with the reason: caseworkers of the organisation that holds it,
        or an admin (ForbiddenError); a closed case is refused (CaseStateError)."""
        return case_closing.close_case(self, user, case_id, reason)

    # -- the access log ------------------------------------------------------------------

    def access_report(self, viewer: User | None, *, break_glass: bool = False,
                      since: date | None = None, until: date | None = None,
                      organisation: str | None = None, username: str | None = None
                      ) -> list[AccessReportRow]:
        """The access log, oldest first (admins, or the operator at the command line)."""
        return casework_records.access_report(
            self, viewer, break_glass=break_glass, since=since, until=until,
            organisation=organisation, username=username)

    def export_client(self, admin: User, client_id: int) -> dict[str, Any]:
        """Everything held on one client, as one JSON-ready document (admins only)."""
        return casework_records.export_client(self, admin, client_id)
