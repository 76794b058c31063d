"""Who may see and do what: the access policy of casework, as pure functions.

Nothing here reads storage: callers (engine.casework) hand in the user, the task or the
facts about a client record, and get a yes or no (or the categories of sensitive data the
user may see). The rules, in short:

* Tasks. An admin may see and do every task. A caseworker or team lead may see and do a
  task whose lane role is open to their organisation (the pathway's roles file lists the
  organisations; a role listed with none, or a pathway without a roles file, is open to
  every organisation) and, when their `pathway_roles` is non-empty, whose role is in it (a
  task in no lane then does not qualify). Designers and commissioners see no tasks.
  Acting on a task assigned to someone else takes a team lead or an admin.
* Client records. Designers and commissioners never open an individual client record. An
  admin always may. A caseworker or team lead may when their organisation is *involved*
  (it created the client, owns the pathway of one of the client's cases, is named for one of
  its roles, or may do one of its open tasks — a case started under break-glass, and the
  cases it referred, never count), or when the client's programme consent is in effect;
  otherwise only by giving a reason (a break-glass access, logged as such).
* Break-glass is a read-only view for a while (a setting, 30 minutes by default): the
  opening with a reason and the later views of that user within the time box. It never
  starts a case, records a consent or acts on a task, and never makes anyone involved.
* Writing to a record. Recording a consent takes an involved organisation (or an admin);
  starting a case for a client another organisation works with also takes the client's
  programme consent (a referral to the organisation starts its case, which involves it).
* A version whose stored definition cannot be loaded (changed in the database, refused by a
  newer engine): its tasks and cases are withheld from all but admins, who see them marked
  and cannot open them; the others are told only that something is withheld.
* Sensitive data (health, offence). Only caseworkers, team leads and admins see it; an admin
  and a user whose organisation is involved see both categories, anyone else only the
  categories whose consent scope is in effect.
* A consent is in effect when the client's latest consent of that scope (latest by the day
  it takes effect, then by when it was recorded) that has taken effect by today was given.
  Consents recorded under break-glass (possible before it became read-only) never count.
* A break-glass reason says something: at most 500 characters, and at least 10 letters or
  digits among which at least 5 different letters; control characters are refused and runs
  of spaces count as one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from engine.errors import InvalidArgumentError
from engine.model import Consent, InboxTask, User
from engine.workflow.definition_model import SENSITIVE_CATEGORIES

if TYPE_CHECKING:  # loading definitions loads SpiffWorkflow: not for reading storage
    from engine.workflow.definitions import ParsedDefinition

TASK_ROLES: tuple[str, ...] = ("caseworker", "team_lead", "admin")
LEAD_ROLES: tuple[str, ...] = ("team_lead", "admin")
RECORD_ROLES: tuple[str, ...] = ("caseworker", "team_lead", "admin")
SENSITIVE_ROLES: tuple[str, ...] = ("caseworker", "team_lead", "admin")
HIDDEN = "[hidden]"  # what a sensitive value the user may not see is replaced with

Basis = Literal["admin", "organisation", "consent", "break_glass"]

REASON_MAX_CHARS = 500
REASON_MIN_CHARS = 10  # letters or digits
REASON_MIN_LETTERS = 5  # different letters: "aaaaaaaaaa" and "ab ab ab ab ab" say nothing


def check_reason(text: str) -> str:
    """The break-glass reason with its whitespace collapsed, or InvalidArgumentError
    (details.fields.reason) saying what is wrong with it."""
    if any(unicodedata.category(c) in ("Cc", "Cs") and not c.isspace() for c in text):
        return _bad_reason("must not contain control characters")
    reason = " ".join(text.split())
    if len(reason) > REASON_MAX_CHARS:
        return _bad_reason(f"must be at most {REASON_MAX_CHARS} characters")
    letters = {c.casefold() for c in reason if c.isalpha()}
    if sum(c.isalnum() for c in reason) < REASON_MIN_CHARS or len(letters) < REASON_MIN_LETTERS:
        return _bad_reason(f"must say in words why you need the record: at least "
                           f"{REASON_MIN_CHARS} letters or digits, not one or two repeated")
    return reason


def _bad_reason(problem: str) -> str:
    raise InvalidArgumentError(f"the reason {problem}", details={"fields": {"reason": [problem]}})


def may_do_task(user: User, task: InboxTask, definition: ParsedDefinition | None) -> bool:
    """Whether the user may see the task and act on it (claim, draft, complete).

    definition is the task's pathway version (None: unknown, treated as open to all).
    """
    if not user.active or user.role not in TASK_ROLES:
        return False
    if user.role == "admin":
        return True
    if user.pathway_roles and task.role not in user.pathway_roles:
        return False
    if task.organisation is not None and task.organisation != user.organisation:
        return False
    return definition is None or definition.role_open_to(task.role, user.organisation)


def may_see_unloadable(user: User) -> bool:
    """Whether the user may see that a task or case of a version whose definition cannot be
    loaded exists (listed, marked, never opened). Its lane roles and sensitive fields cannot
    be read, so treating it as unknown (open to all) would open it to every organisation:
    only an admin sees it; everyone else is told only that something is withheld."""
    return user.active and user.role == "admin"


def may_act_on(user: User, task: InboxTask) -> bool:
    """Given the user may do the task: whether its assignment lets them (unassigned, theirs,
    or they lead)."""
    return task.assignee in (None, user.username) or user.role in LEAD_ROLES


def is_lead(user: User) -> bool:
    return user.active and user.role in LEAD_ROLES


DESIGN_ROLES: tuple[str, ...] = ("designer", "admin")


def is_designer(user: User) -> bool:
    """Whether the user changes pathways: publishes, migrates, and retries the cases a
    version stopped at a step (by step, never opening a case: designers do not open
    records)."""
    return user.active and user.role in DESIGN_ROLES


def may_retry(user: User, definition: ParsedDefinition | None) -> bool:
    """Whether the user may see and retry a case in error of this pathway version: an admin,
    or a team lead of an organisation the pathway involves (its owner or named for a role).
    A pathway with neither owner nor role organisations is open to every organisation (as
    for may_start); definition None: unknown, so only an admin."""
    if not is_lead(user):
        return False
    if user.role == "admin":
        return True
    if definition is None:
        return False
    return definition.involves(user.organisation) or (
        definition.owner is None and not definition.role_organisations)


def may_start(user: User, definition: ParsedDefinition) -> bool:
    """Whether the user may start a case of the pathway: an admin, or a caseworker or team
    lead whose organisation owns it or may take one of its roles."""
    if not user.active or user.role not in TASK_ROLES:
        return False
    if user.role == "admin" or definition.owner == user.organisation:
        return True
    if not definition.role_organisations:
        return True  # no roles file: every lane is open to everyone
    return any(definition.role_open_to(role, user.organisation)
               for role in definition.role_organisations)


def involves(definitions: Iterable[ParsedDefinition], organisation: str) -> bool:
    """Whether the organisation owns, or is named for a role of, any of these pathways."""
    return any(d.involves(organisation) for d in definitions)


def consent_in_effect(consents: Iterable[Consent], scope: str, today: date) -> bool:
    """Whether the latest consent of the scope that has taken effect by today was given."""
    effective = [c for c in consents if c.scope == scope and c.effective_on <= today]
    if not effective:
        return False
    latest = max(effective, key=lambda c: (c.effective_on, c.recorded_at, c.id or 0))
    return latest.given


@dataclass(frozen=True)
class RecordAccess:
    """The answer to "may this user open this client record?"."""

    allowed: bool
    basis: Basis | None  # why it is allowed
    reason_required: bool = False  # refused, but a reason would open it (break glass)
    message: str = ""

    @property
    def break_glass(self) -> bool:
        return self.basis == "break_glass"


def may_open_records(user: User) -> bool:
    """Whether the user's role ever opens individual client records."""
    return user.active and user.role in RECORD_ROLES


def record_access(user: User, *, involved: bool, consents: Iterable[Consent], today: date,
                  reason: str | None = None, grant: bool = False) -> RecordAccess:
    """Whether the user may open a client's record, and on what basis. reason: one given now
    (checked with check_reason); grant: the user opened this record with a reason within the
    break-glass time box."""
    if not may_open_records(user):
        return RecordAccess(False, None, message="your role does not open client records")
    if user.role == "admin":
        return RecordAccess(True, "admin")
    if involved:
        return RecordAccess(True, "organisation")
    if consent_in_effect(consents, "programme", today):
        return RecordAccess(True, "consent")
    if grant or (reason is not None and reason.strip()):
        return RecordAccess(True, "break_glass")
    return RecordAccess(False, None, reason_required=True, message=(
        "this client has not consented to their record being shared with your organisation; "
        "give a reason to open it anyway (the access is logged)"))


def visible_categories(user: User, *, involved: bool, consents: Iterable[Consent],
                       today: date) -> frozenset[str]:
    """The categories of sensitive data (health, offence) the user may see on this client."""
    if not user.active or user.role not in SENSITIVE_ROLES:
        return frozenset()
    if user.role == "admin" or involved:
        return frozenset(SENSITIVE_CATEGORIES)
    consents = list(consents)
    return frozenset(c for c in SENSITIVE_CATEGORIES if consent_in_effect(consents, c, today))


READ_ONLY = ("a break-glass access only lets you read a record for a while: it never starts a "
             "case, records a consent or acts on a task")
_WRITE_REFUSED = {
    "record_consent": "only an organisation working with this client (or an admin) records "
                      "their consents",
    "start_case": "starting a case for a client your organisation does not work with needs "
                  "the client's programme consent or a referral to your organisation",
    "record_note": "recording a note on a client your organisation does not work with needs "
                   "the client's programme consent",
    "add_attachment": "only an organisation working with this client (or an admin) adds or "
                      "removes documents on their record",
}
# the writes an organisation must work with the client for (the programme consent is not
# enough): the client's consents and the documents on their record
INVOLVED_WRITES = ("record_consent", "add_attachment")


def write_access(user: User, *, involved: bool, consents: Iterable[Consent], today: date,
                 action: Literal["record_consent", "start_case", "record_note",
                                 "add_attachment"]
                 ) -> RecordAccess:
    """Whether the user may write to a client's record: record a consent (an involved
    organisation or an admin), start a case or record a note (also under the client's
    programme consent).
    Break-glass never counts, and a reason would not help (reason_required is False)."""
    decision = record_access(user, involved=involved, consents=consents, today=today)
    if not may_open_records(user):
        return decision
    if decision.allowed and not (action in INVOLVED_WRITES and decision.basis == "consent"):
        return decision
    return RecordAccess(False, None, message=f"{_WRITE_REFUSED[action]} ({READ_ONLY})")


def may_close_case(user: User, holder: str | None) -> bool:
    """Whether the user may close (cancel) a case whose record they may write to: an admin,
    or a caseworker or team lead of the organisation that holds the case (holder: its
    pathway's owner, else the organisation that started it; None: only an admin)."""
    if not user.active or user.role not in TASK_ROLES:
        return False
    return user.role == "admin" or (holder is not None and user.organisation == holder)
