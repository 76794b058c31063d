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
  its roles, or may do one of its open tasks), or when the client's programme consent is in
  effect; otherwise only by giving a reason (a break-glass access, logged as such).
* Sensitive data (health, offence). Only caseworkers, team leads and admins see it; an admin
  and a user whose organisation is involved see both categories, anyone else only the
  categories whose consent scope is in effect.
* A consent is in effect when the client's latest consent of that scope (latest by the day
  it takes effect, then by when it was recorded) that has taken effect by today was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from engine.definitions import SENSITIVE_CATEGORIES, ParsedDefinition
from engine.model import Consent, InboxTask, User

TASK_ROLES: tuple[str, ...] = ("caseworker", "team_lead", "admin")
LEAD_ROLES: tuple[str, ...] = ("team_lead", "admin")
RECORD_ROLES: tuple[str, ...] = ("caseworker", "team_lead", "admin")
SENSITIVE_ROLES: tuple[str, ...] = ("caseworker", "team_lead", "admin")
HIDDEN = "[hidden]"  # what a sensitive value the user may not see is replaced with

Basis = Literal["admin", "organisation", "consent", "break_glass"]


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
    return definition is None or definition.role_open_to(task.role, user.organisation)


def may_act_on(user: User, task: InboxTask) -> bool:
    """Given the user may do the task: whether its assignment lets them (unassigned, theirs,
    or they lead)."""
    return task.assignee in (None, user.username) or user.role in LEAD_ROLES


def is_lead(user: User) -> bool:
    return user.active and user.role in LEAD_ROLES


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
                  reason: str | None = None) -> RecordAccess:
    """Whether the user may open a client's record, and on what basis."""
    if not may_open_records(user):
        return RecordAccess(False, None, message="your role does not open client records")
    if user.role == "admin":
        return RecordAccess(True, "admin")
    if involved:
        return RecordAccess(True, "organisation")
    if consent_in_effect(consents, "programme", today):
        return RecordAccess(True, "consent")
    if reason is not None and reason.strip():
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
