"""Case notes (contacts: phone calls, visits, ...; engine.casework.case_notes) as CSV for
`pathways export notes`, a row per note, redacted unless a full export is asked for.

A note's text is free text: what it reveals cannot be told (like a value no definition can
classify, engine.access.privacy.UNCLASSIFIED), so the app shows it only to a viewer who
sees every sensitive category. A redacted export sees none: it keeps the row (a contact
still counts) with its text empty, and leaves out the notes about a case it leaves out (a
sensitive pathway, a version whose definition cannot be loaded). A full export, like
`export cases --full` with every case's data, keeps every note with its text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

from engine.access.privacy import Redactor
from engine.csvout import csv_chunks
from engine.model import CaseNote

NOTE_COLUMNS: tuple[str, ...] = ("note", "client", "case", "contact_on", "kind", "kind_title",
                                 "minutes", "author", "organisation", "recorded_at", "text")

NoteWithCase = tuple[CaseNote, tuple[str, int] | None]  # its case's (pathway, version)


def notes_csv(notes: Iterable[CaseNote], kind_titles: Mapping[str, str]) -> str:
    """Notes as CSV (NOTE_COLUMNS): `case` empty for a note about no case, `kind` the code
    and `kind_title` its title from kind_titles (the code where it has none)."""
    return "".join(notes_csv_chunks(notes, kind_titles))


def notes_csv_chunks(notes: Iterable[CaseNote], kind_titles: Mapping[str, str]
                     ) -> Iterator[str]:
    """notes_csv as it comes: the text of a batch of rows at a time, in constant memory.
    Every cell goes through engine.csvout (a text starting `=` is neutralised)."""
    rows = ([n.id, n.client_id, n.case_id, n.contact_on, n.kind,
             kind_titles.get(n.kind, n.kind), n.minutes, n.author, n.organisation,
             n.recorded_at, n.text] for n in notes)
    return csv_chunks(NOTE_COLUMNS, rows)


def redact_note(redactor: Redactor, note: CaseNote, case: tuple[str, int] | None
                ) -> CaseNote | None:
    """The note as a redacted export carries it (see the module): None when it is about a
    case the redactor leaves out; else without its text, which a viewer sees only when
    they see every sensitive category, never so in a redacted export."""
    if case is not None and (redactor.hides(redactor.sensitivity.pathway(case[0]))
                             or redactor.withholds(*case)):
        redactor.hidden_entries += 1
        return None
    return replace(note, text="")


def redact_notes(redactor: Redactor, notes: Iterable[NoteWithCase]) -> Iterator[CaseNote]:
    """redact_note of each note, the ones left out skipped."""
    for note, case in notes:
        shown = redact_note(redactor, note, case)
        if shown is not None:
            yield shown


__all__ = ["NOTE_COLUMNS", "NoteWithCase", "notes_csv", "notes_csv_chunks", "redact_note",
           "redact_notes"]
