"""Contacts and notes outside tasks (issue 18, item 2): a caseworker records a phone call, a
visit, a missed appointment... on a client, optionally about one of the client's cases.

Notes are kept in their own store (engine.note_ports), added and never changed; each is
written to the access log (`record_note`) with its author's organisation, as consents are.
They are not case events: a note need not be about a case, and the event log (with its hash
chain, engine.integrity) is the engine's record of what the workflow did.

Who reads them: the client record's rules (engine.casework.casework_access.client_access).
A note about a case the viewer may not know of (a sensitive pathway) is left out with it. A
note's text is free text, so what it reveals cannot be told: like a value no definition can
classify (engine.access.privacy.UNCLASSIFIED) it is shown only to a viewer who sees every
sensitive category (an admin, an organisation involved in the client's care, or both the
health and offence consents in effect), and always to its author's own organisation.
Recording one is a write: an involved organisation, an admin, or under the client's
programme consent; never under break-glass (engine.access.write_access).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from engine import access
from engine.access import privacy
from engine.casework.casework_access import CaseworkContext, ClientAccess
from engine.casework.casework_views import NoteView
from engine.errors import InvalidArgumentError
from engine.model import CaseNote, CaseRecord, User
from engine.ports import UnitOfWork
from engine.workflow.definition_model import SENSITIVE_CATEGORIES

NOTE_KINDS: dict[str, str] = {
    "phone_call": "Phone call",
    "visit": "Visit",
    "prison_visit": "Prison visit",
    "missed_appointment": "Missed appointment",
    "meeting": "Meeting",
    "other": "Other",
}
NOTE_TEXT_MAX = 5000  # characters of a note's text
NOTE_MINUTES_MAX = 1440  # a contact lasts at most a day
WRITES = ("admin", "organisation", "consent")  # the bases a note may be recorded under


def note_problems(kind: str, contact_on: date | None, minutes: int | None, text: str,
                  today: date) -> dict[str, list[str]]:
    """What is wrong with a note's fields, field -> messages (empty: nothing)."""
    problems: dict[str, list[str]] = {}
    if kind not in NOTE_KINDS:
        problems["kind"] = ["choose one of: " + ", ".join(NOTE_KINDS.values())]
    if contact_on is None:
        problems["contact_on"] = ["enter the day of the contact"]
    elif contact_on > today:
        problems["contact_on"] = ["the contact cannot be later than today"]
    if minutes is not None and not 0 <= minutes <= NOTE_MINUTES_MAX:
        problems["minutes"] = [f"enter minutes from 0 to {NOTE_MINUTES_MAX}"]
    said = text.strip()
    if not said:
        problems["text"] = ["write what happened"]
    elif len(said) > NOTE_TEXT_MAX:
        problems["text"] = [f"at most {NOTE_TEXT_MAX:,} characters (this is {len(said):,})"]
    return problems


def shown_notes(user: User, notes: Iterable[CaseNote], cases: Mapping[int, CaseRecord],
                redactor: privacy.Redactor) -> list[NoteView]:
    """The notes the viewer may read (see the module), oldest first; cases: the client's
    cases the viewer may know of, by id. Each left out counts as a hidden entry."""
    every = frozenset(SENSITIVE_CATEGORIES) <= redactor.visible
    shown: list[NoteView] = []
    for note in notes:
        case = cases.get(note.case_id) if note.case_id is not None else None
        if (note.case_id is not None and case is None) or not (
                every or note.organisation == user.organisation):
            redactor.hidden_entries += 1
            continue
        assert note.id is not None
        shown.append(NoteView(
            note.id, note.client_id, note.case_id, case.pathway if case else None,
            note.contact_on, note.kind, NOTE_KINDS.get(note.kind, note.kind), note.minutes,
            note.text, note.author, note.organisation, note.recorded_at))
    return shown


def record_note(cw: CaseworkContext, user: User, client_id: int, *, kind: str,
                contact_on: date | None, minutes: int | None, text: str,
                case_id: int | None = None) -> NoteView:
    """Record a note on the client (about case_id, one of theirs the user may know of):
    InvalidArgumentError (details.fields) for a field that does not fit, ForbiddenError when
    the user may not write to the record, NotFoundError for a client they may not know of."""
    now = cw.clock.now()
    problems = note_problems(kind, contact_on, minutes, text, now.date())
    with cw.uow() as uow:
        found = cw.client_access(uow, user, client_id, None, "record_note")
        case = next((c for c in found.cases if c.id == case_id), None)
        if case_id is not None and (case is None or _redactor(
                cw, uow, user, found, now.date()).case(case) is None):
            problems["case"] = [f"case {case_id} is not one of this client's cases"]
        if problems:
            raise InvalidArgumentError("the note was not recorded: " + "; ".join(
                f"{name}: {messages[0]}" for name, messages in problems.items()),
                details={"fields": problems})
        assert contact_on is not None
        note = uow.notes.add(CaseNote(
            id=None, client_id=client_id, case_id=case_id, contact_on=contact_on, kind=kind,
            minutes=minutes, text=text.strip(), author=user.username,
            organisation=user.organisation, recorded_at=now))
        cw.log_access(uow, user, "record_note", client_id, note=note.id, case=case_id,
                      kind=kind, basis=found.decision.basis, break_glass=False)
        uow.commit()
    assert note.id is not None
    return NoteView(note.id, client_id, case_id, case.pathway if case else None,
                    note.contact_on, kind, NOTE_KINDS[kind], minutes, note.text,
                    note.author, note.organisation, note.recorded_at)


def client_notes(cw: CaseworkContext, user: User, client_id: int, reason: str | None
                 ) -> list[NoteView]:
    """The client's notes the user may read, oldest first: refused as the client record is
    (a reason opens it under break-glass), and logged as a view of it (detail notes)."""
    today = cw.clock.now().date()
    with cw.uow() as uow:
        found = cw.client_access(uow, user, client_id, reason, "view_client")
        redactor = _redactor(cw, uow, user, found, today)
        cases = {c.id: c for c in found.cases
                 if c.id is not None and redactor.case(c) is not None}
        notes = shown_notes(user, uow.notes.for_client(client_id), cases, redactor)
        cw.log_view(uow, user, client_id, found, redactor, notes=True)
        uow.commit()
    return notes


def _redactor(cw: CaseworkContext, uow: UnitOfWork, user: User, found: ClientAccess,
              today: date) -> privacy.Redactor:
    """What the user may see of the client found (as the client record decides it)."""
    visible = access.visible_categories(user, involved=found.involved,
                                        consents=found.consents, today=today)
    return privacy.Redactor(cw.sensitivity(uow, found.cases), visible,
                            sees_unknown=access.may_see_unloadable(user))
