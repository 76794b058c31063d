"""What the caseworker's use cases (engine.casework) hand back: inbox rows, task pages,
client records, incidents, the access report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.casework.case_answers import Answer
from engine.model import CaseRecord, Client, Consent, Draft, InboxTask, SavedFilter
from engine.workflow.case_runtime import TaskView


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
class Reassignment:
    """A bulk reassignment done task by task: the tasks reassigned, and (task id, why) for
    each that was not."""

    done: list[InboxTask]
    refused: list[tuple[str, str]]


@dataclass(frozen=True)
class InboxChoices:
    """What the inbox's filters offer, in the words its rows show: pathways (id, the name
    shown), each pathway's steps (id, title; every version's user tasks, the newest title
    of a step), and each pathway's versions."""

    pathways: tuple[tuple[str, str], ...] = ()
    steps: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    versions: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Inbox:
    rows: list[InboxRow]
    # "mine", "role", "unassigned": tasks in each scope under the other filters (scope and
    # overdue aside); "overdue": overdue tasks in the chosen scope
    counts: dict[str, int]
    problems: list[InboxProblem] = field(default_factory=list)
    # the rows of every page (of the chosen scope, under every filter)
    total: int = 0
    # with a count cap: the counts that stopped at it (there are more than their figure),
    # and whether total did (it is then a lower bound: there may be more rows)
    over: frozenset[str] = frozenset()
    total_over: bool = False
    choices: InboxChoices = field(default_factory=InboxChoices)
    saved: list[SavedFilter] = field(default_factory=list)  # the user's (with_saved only)


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
    # when it names a step the user may not see: engine.access.privacy)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Incident:
    """A case in error, as those who fix it see it (engine.access.privacy applied)."""

    case: CaseRecord  # without state; data and error with what the user may not see hidden
    client_name: str
    since: datetime | None  # when it went into error (its last `error` event)
    versions: list[int]  # the published versions of its pathway it may be retried on


@dataclass(frozen=True)
class RetryResult:
    case: CaseRecord  # without state; redacted as on the client record
    tasks: list[InboxTask]  # the case's open tasks the user may see


@dataclass(frozen=True)
class StepRetry:
    """What retrying every case stopped with an error at one step did: counts only."""

    retried: int = 0
    running: int = 0  # active or finished again
    still_in_error: int = 0


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
    # a completed task's answers, labelled from its form (engine.casework.case_answers)
    answers: list[Answer] = field(default_factory=list)
    title: str | None = None  # the step's title (a task's, a named element's)


@dataclass(frozen=True)
class NoteView:
    """A case note as a viewer reads it (engine.casework.case_notes): on the client record's
    timeline (`type` and `at` as a TimelineEntry has them) and on its case's page."""

    id: int
    client_id: int
    case_id: int | None
    pathway: str | None  # its case's pathway
    contact_on: date
    kind: str
    kind_title: str
    minutes: int | None
    text: str
    author: str
    organisation: str
    at: datetime  # when it was recorded
    type: str = "note_recorded"


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
    notes: list[NoteView] = field(default_factory=list)  # those the viewer may read
    may_note: bool = False  # the user may record a note (never under break-glass)

    def hidden_words(self) -> list[str]:
        """hidden_fields as a person reads them: each one's label on the form that asked it
        (from the timeline's answers), else its name in words."""
        labels = {a.name: a.label for e in self.timeline for a in e.answers}
        return sorted({labels.get(name) or name.replace(".", ": ").replace("_", " ")
                       for name in self.hidden_fields}, key=str.casefold)


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




@dataclass(frozen=True)
class Waiting:
    """What a case waits for now: an open task (kind "task": its lane, assignee, due), a
    timer (kind "timer": due when it goes off) or a message (kind "message")."""

    kind: str
    title: str
    step: str | None = None
    task_id: str | None = None
    lane: str | None = None
    assignee: str | None = None
    due: datetime | None = None
    overdue: bool = False


@dataclass(frozen=True)
class CaseLink:
    """A referral into or out of a case: the pathway, when, and the other case if the
    viewer may see it (its id and status)."""

    pathway: str
    at: datetime | None = None
    case_id: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class CaseOutcome:
    name: str
    value: Any
    at: datetime
    problem: str | None = None


@dataclass(frozen=True)
class CasePage:
    """One case as a caseworker reads it (engine.casework.case_page): engine.access.privacy
    applied as on the client record."""

    case: CaseRecord  # without state; data and error redacted
    client: Client  # its fields redacted
    title: str  # the pathway version's title
    started_at: datetime | None
    closed_at: datetime | None  # when it completed or was cancelled
    waiting: list[Waiting]
    steps: list[TimelineEntry]  # tasks done (with answers) and decisions, oldest first
    events: list[TimelineEntry]  # every event shown, oldest first
    referrals_in: list[CaseLink]
    referrals_out: list[CaseLink]
    outcomes: list[CaseOutcome]
    marks: dict[str, str]  # diagram element id -> "done" or "current"
    basis: str
    visible_categories: tuple[str, ...]
    hidden_fields: list[str] = field(default_factory=list)
    break_glass_reason: str | None = None
    break_glass_until: datetime | None = None
    problem: str | None = None  # why its version cannot be loaded (admins only see such)
    notes: list[NoteView] = field(default_factory=list)  # the case's, those the viewer may read
    may_note: bool = False  # the user may record a note on it (never under break-glass)
    may_close: bool = False  # the user may close (cancel) it: it is open, and they may
