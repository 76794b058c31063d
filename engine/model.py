"""Plain records the engine hands to and receives from its ports.

They are deliberately dumb dataclasses: adapters map them to rows, the CLI and web layers map
them to JSON. Nothing here knows about SQL or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, get_args

from engine.notice_model import InboxNews as InboxNews  # re-exported
from engine.notice_model import UserNotices as UserNotices  # re-exported

CaseStatus = Literal["active", "completed", "error", "cancelled"]
CASE_STATUSES: tuple[str, ...] = get_args(CaseStatus)

EventType = Literal[
    "case_started",
    "task_ready",
    "task_started",
    "task_completed",
    "decision",
    "timer_scheduled",
    "timer_fired",
    "message_sent",
    "message_received",
    "signal_sent",
    "signal_received",
    "error",
    "case_completed",
    "case_cancelled",
    "case_retried",
    "outcome_recorded",
    "notification_requested",
    "notification_failed",
    "referral_made",
    "client_updated",
    "version_allocated",
    "case_migrated",
    "migration_reverted",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# Version of the JSON we store for a case's workflow state. Bump it, and ship a migration,
# whenever the stored shape changes.
STATE_FORMAT_VERSION = 1


MessageKind = Literal["message", "signal"]
MESSAGE_KINDS: tuple[str, ...] = get_args(MessageKind)


@dataclass(frozen=True)
class PathwayVersion:
    """One immutable published version of a pathway."""

    pathway: str
    number: int
    bundle_hash: str
    main_file: str
    note: str = ""
    author: str = ""
    published_at: datetime | None = None
    start_messages: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class Bundle:
    """The files of a version: its BPMN, the BPMN of anything it calls, and its form schemas."""

    hash: str
    files: dict[str, str]


@dataclass
class Client:
    id: int | None
    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class ClientScope:
    """The clients a user may open without giving a reason (engine.access.record_access with
    no reason and no break-glass grant), as facts a repository turns into one query
    (engine.casework.casework_access.CaseworkContext.client_scope builds it).

    organisation None admits every client (an admin). Otherwise a client is admitted when
    the organisation created it (its create_client log entry), when its programme consent is
    in effect on `today` (consents recorded under break-glass never count), or through a case
    not started under break-glass nor referred from one: a case on a version in `involving`
    (the organisation owns it or is named for a role), or an active case with an open task
    the user may do (of the organisation or of none; its role in pathway_roles when that is
    not empty; not on an `unloadable` version; its role not in `closed_roles`, the lane roles
    of a version named for other organisations only).
    """

    organisation: str | None
    today: date
    involving: frozenset[tuple[str, int]] = frozenset()
    pathway_roles: tuple[str, ...] = ()
    unloadable: frozenset[tuple[str, int]] = frozenset()
    closed_roles: frozenset[tuple[str, int, str]] = frozenset()


def name_key(name: str) -> str:
    """What a client search compares and sorts names by: the name lowered (str.lower),
    stored beside it so the database finds and orders by exactly this."""
    return name.lower()


@dataclass
class CaseRecord:
    """A case as stored: its row and its serialized workflow state (without the spec)."""

    id: int | None
    pathway: str
    version: int
    client_id: int
    status: CaseStatus
    state: dict[str, Any]
    revision: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    # seq of the case's last event: saved with the revision-checked case row, so numbering
    # new events needs no query and cannot race.
    event_seq: int = 0
    # names of the messages the case waits for now: kept messages are matched against it
    waiting_for: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # the reason declared on the end event the case finished at: the engine's own record,
    # kept out of `data` so a form answer of the same name (`exit_reason`) is never replaced
    exit_reason: str | None = None


@dataclass(frozen=True)
class InboxTask:
    """A human task a case waits on: what a caseworker's inbox lists."""

    id: str
    case_id: int
    pathway: str
    version: int
    step: str
    title: str
    role: str | None
    form: str | None
    due: datetime | None
    created_at: datetime | None = None
    # who claimed the task (None: unassigned); storage keeps it when the engine rewrites the
    # case's open rows
    assignee: str | None = None
    # the one organisation whose staff may do it, worked out from the case data when it
    # became ready (DSL `organisation:`); None: every organisation its role is open to
    organisation: str | None = None


@dataclass(frozen=True)
class TaskGrant:
    """Which open tasks a user may do, as storage can test it row by row (worked out once
    per request from the few loaded definitions: engine.casework.casework_inbox).

    A task qualifies when its (pathway, version) is not hidden (a version whose definition
    cannot be loaded), its organisation is None or organisation, its role is in roles (when
    roles is not None) and (pathway, version, role) is not denied. everything: an admin, for
    whom every open task qualifies."""

    everything: bool = False
    hidden: frozenset[tuple[str, int]] = frozenset()
    organisation: str | None = None
    roles: frozenset[str] | None = None
    denied: frozenset[tuple[str, int, str]] = frozenset()


@dataclass(frozen=True)
class InboxQuery:
    """The open tasks of active cases an inbox lists or counts. data: case-data filters
    (dotted key -> text); storage may return more rows than match them (the caller checks
    each row) but never fewer. scope: "mine" (assignee is username), "role" (all) or
    "unassigned"; overdue: due before now (True), or not (False). sort: see
    engine.casework.casework_inbox.inbox; ties in created_at order, then by task id.
    drafts_of: only tasks with a draft saved by this username ("my drafts").
    created_after: only tasks created after it (the nav's "new since you looked")."""

    grant: TaskGrant
    username: str
    now: datetime
    scope: str = "role"
    pathway: str | None = None
    version: int | None = None
    step: str | None = None
    client_id: int | None = None
    data: tuple[tuple[str, str], ...] = ()
    overdue: bool | None = None
    sort: str = "due"
    drafts_of: str | None = None
    created_after: datetime | None = None  # only tasks created after this ("new since")


@dataclass(frozen=True)
class InboxHit:
    """An open task the inbox lists, with its case's client (name "" if none is stored)."""

    task: InboxTask
    client_id: int
    client_name: str


@dataclass(frozen=True)
class NewEvent:
    """An event the engine produced, not yet numbered by the log."""

    type: str
    at: datetime
    step: str | None = None
    actor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    case_id: int
    seq: int
    type: str
    at: datetime
    step: str | None
    actor: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Timer:
    case_id: int
    task_id: str
    step: str
    due_at: datetime


@dataclass(frozen=True)
class Message:
    """A message thrown by one case for another case of the same client, or a signal.

    A message goes to one case. A signal (kind "signal") is a broadcast to every case waiting
    for it when it is routed: the client's cases, or every client's when client_id is None
    (a programme-wide signal). A routed signal has delivered_at set and no delivered_case_id.
    """

    id: int | None
    name: str
    client_id: int | None
    payload: Any
    sender_case_id: int | None
    created_at: datetime
    delivered_case_id: int | None = None
    delivered_at: datetime | None = None
    kind: MessageKind = "message"


@dataclass(frozen=True)
class SignalDelivery:
    """A routed signal not yet handed on: to a case that waited for it when it was routed
    (case_id), or as a new case of a pathway whose start event catches it (pathway, for
    client_id). Recorded with the routing, cleared with the delivery: never lost."""

    id: int | None
    signal_id: int
    case_id: int | None
    pathway: str | None
    client_id: int | None
    routed_at: datetime


AllocationKind = Literal["latest", "fixed", "split"]
ALLOCATION_KINDS: tuple[str, ...] = get_args(AllocationKind)


@dataclass(frozen=True)
class AllocationPolicy:
    """Which version a pathway's new cases get: the latest, a fixed one, or a seeded split.

    A split draws each client's version from `weights` (version -> weight) with a draw
    derived from `seed`, so anyone holding the seed can recompute every allocation.
    """

    pathway: str
    kind: str
    version: int | None = None
    weights: dict[int, int] = field(default_factory=dict)
    seed: str | None = None
    set_at: datetime | None = None
    set_by: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Migration:
    """One run of moving cases between versions of a pathway (or of putting them back)."""

    id: int | None
    pathway: str
    from_version: int
    to_version: int
    created_at: datetime
    actor: str | None = None
    filter: dict[str, Any] = field(default_factory=dict)
    reverts: int | None = None  # the migration this one undoes
    finished_at: datetime | None = None
    # how far a run has got, for a page to show while it runs: the cases it will check,
    # how many it has checked, and when it last said so (a run whose process died stops
    # saying so while finished_at stays empty)
    planned: int | None = None
    checked: int = 0
    progressed_at: datetime | None = None


@dataclass(frozen=True)
class MigrationTally:
    """How many cases a migration moved and left, and whether any was put back: its line
    in a pathway's history, without reading each case's result."""

    moved: int = 0
    stayed: int = 0
    reverted: bool = False


@dataclass(frozen=True)
class MigrationCase:
    """What a migration did with one case; enough to put a moved case back."""

    migration_id: int
    case_id: int
    ok: bool
    reason: str | None = None
    from_step: str | None = None
    to_step: str | None = None
    before_state: dict[str, Any] | None = None
    before_revision: int | None = None
    after_revision: int | None = None
    reverted_by: int | None = None
    # a case refused only because of the round of a repeat it was in: the repeat whose next
    # round it waits for (kept once it moved or stopped waiting), whether it still waits, and
    # when it moved by itself, at the start of which round (None: at the repeat's end)
    waits_for_round: str | None = None
    waiting: bool = False
    moved_at: datetime | None = None
    moved_at_round: int | None = None


UserRole = Literal["caseworker", "team_lead", "designer", "commissioner", "admin"]
USER_ROLES: tuple[str, ...] = get_args(UserRole)


@dataclass(frozen=True)
class Organisation:
    """A provider or body taking part in the programme (e.g. st_giles_trust)."""

    id: str
    name: str


@dataclass(frozen=True)
class User:
    """A person who signs in. `role` is their job in Pathways (USER_ROLES); `pathway_roles`
    are the lane roles of pathways they work (e.g. gate_worker), empty meaning any role
    open to their organisation."""

    id: int | None
    username: str
    name: str
    organisation: str
    role: str
    password_hash: str = ""
    pathway_roles: tuple[str, ...] = ()
    active: bool = True
    created_at: datetime | None = None


@dataclass(frozen=True)
class ApiToken:
    """A bearer token for the JSON API. Only the sha256 hex of the token is stored; the
    plain token is shown once, when it is issued."""

    id: int | None
    username: str
    name: str
    token_hash: str
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class UserSession:
    """A signed-in browser. Its cookie holds a random key of which only the sha256 hex is
    stored, so the server can end the session (sign-out, password change, deactivation, an
    admin, idle time, age) and a copied cookie stops working at once. `ended_reason`:
    signed_out, password_changed, deactivated, signed_out_everywhere, idle or expired."""

    id: int | None
    username: str
    key_hash: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None
    ended_reason: str | None = None

    @property
    def live(self) -> bool:
        return self.ended_at is None


# -- casework: consent, access log, drafts ----------------------------------------------------

ConsentScope = Literal["programme", "health", "offence"]
CONSENT_SCOPES: tuple[str, ...] = get_args(ConsentScope)


@dataclass(frozen=True)
class Consent:
    """A client's consent given or withdrawn: to sharing their record across the programme's
    organisations ('programme'), or to sharing their health or offence details ('health',
    'offence'). The latest one of a scope in effect decides; earlier ones stay as history."""

    id: int | None
    client_id: int
    given: bool
    scope: str
    purpose: str
    recorded_by: str
    recorded_at: datetime
    effective_on: date


@dataclass(frozen=True)
class AccessEntry:
    """One entry of the access log: who looked at or did what, when, and why (a reason is
    given for a break-glass access)."""

    id: int | None
    at: datetime
    username: str
    organisation: str
    client_id: int | None
    action: str
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Draft:
    """A task form saved part-filled by one user, to come back to later."""

    task_id: str
    case_id: int
    username: str
    data: dict[str, Any]
    saved_at: datetime


@dataclass(frozen=True)
class SavedFilter:
    """An inbox filter one user named and kept (revision 0028): the inbox's query string,
    opened again from the inbox's list. Never anyone else's to see."""

    id: int | None
    username: str
    name: str
    query: str
    saved_at: datetime


@dataclass(frozen=True)
class CaseNote:
    """A contact or note a caseworker records on a client outside any task (revision 0029),
    optionally about one of the client's cases: never changed, only added to. `contact_on`
    is the day of the contact; `kind` one of engine.casework.case_notes.NOTE_KINDS."""

    id: int | None
    client_id: int
    case_id: int | None
    contact_on: date
    kind: str
    minutes: int | None
    text: str
    author: str
    organisation: str
    recorded_at: datetime


@dataclass(frozen=True)
class DefinitionDraft:
    """A pathway's YAML being written by one designer, kept unpublished (revision 0015).
    `pathway` is the one edited ("" for a new one); `based_on` the version it started from
    (None: a new pathway), so a draft of an older version is not taken for the newest."""

    username: str
    pathway: str
    source: str
    based_on: int | None
    saved_at: datetime


# -- outcomes (revision 0005) ---------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeEvent:
    """An outcome that happened to a client: e.g. a reconviction, whose offence was committed
    on `occurred_on` and convicted on `recorded_on`. For other outcomes both are the date of
    the outcome. `source` is "import:<sha256 of the file>" or "case:<case id>"; `detail`
    holds the rest (the file's line, the recorded value, ...). One client has at most one
    event of a kind with the same two dates."""

    id: int | None
    client_id: int
    kind: str
    occurred_on: date
    recorded_on: date
    source: str
    detail: dict[str, Any] = field(default_factory=dict)
    import_id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class OutcomeImport:
    """One file of outcomes imported, known by the sha256 of its bytes: importing the same
    bytes again changes nothing."""

    id: int | None
    sha256: str
    filename: str
    kind: str
    rows: int  # data rows in the file
    imported: int  # events added (rows - duplicates of events held already)
    imported_at: datetime
    actor: str | None = None
    extracted_on: date | None = None  # when the data was extracted (None: not said)


@dataclass(frozen=True)
class ComparisonRate:
    """A comparison group given as rates: for a cohort and an outcome kind, events per 100
    people (frequency) and/or the percentage of people with at least one event (binary),
    over a group of `group_size`. The last one set for a cohort and kind is in force."""

    id: int | None
    cohort: str
    kind: str
    group_size: int
    per_100: float | None = None
    binary_rate: float | None = None
    source: str = ""
    set_at: datetime | None = None
    set_by: str | None = None


@dataclass(frozen=True)
class ComparisonEvent:
    occurred_on: date
    recorded_on: date


@dataclass(frozen=True)
class ComparisonSubject:
    """One anonymous member of an imported matched comparison group: their release date and
    the dates of their outcome events."""

    group: str
    subject: str  # an anonymous reference, unique in its group
    kind: str
    release_date: date
    events: tuple[ComparisonEvent, ...] = ()
    imported_at: datetime | None = None
    actor: str | None = None
    extracted_on: date | None = None  # when the group's data was extracted (None: not said)
