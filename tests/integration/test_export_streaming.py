"""`pathways export cases|events|xes|notes` stream: the memory an export takes does not grow with
the number of cases and events (tracemalloc's peak at N and 4N cases), and what it writes
is what the builders make of every case read at once (the export as it was before it
streamed), redacted or full, on SQLite and PostgreSQL."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.bootstrap import Application, bootstrap
from adapters.cli import cli
from adapters.settings import Settings
from adapters.sql.repositories import common
from engine.access import Redactor, Sensitivity
from engine.casework import NOTE_KINDS
from engine.exports import cases_csv, events_csv, notes_csv, redact, step_titles, to_xes
from engine.model import CaseNote, CaseRecord, Client, NewEvent
from tests.bundles import bundle

BATCH = 40  # rows a streamed read holds (STREAM_BATCH, small so that N cases are many)
ADDED = 900  # cases added between the two measures (N = 300, 4N = 1,200)
START = datetime(2024, 3, 1, 9, tzinfo=UTC)


@pytest.fixture
def application(migrated_database_url: str, monkeypatch: pytest.MonkeyPatch,
                tmp_path: Path) -> Iterator[Application]:
    monkeypatch.setattr(common, "STREAM_BATCH", BATCH)
    app = bootstrap(Settings(database_url=migrated_database_url,
                             definitions_dir=tmp_path / "none"), migrate=False)
    app.engine.publish(*bundle("intake"))
    client = app.engine.add_client("Ada")
    case = app.engine.start_case("intake", client.id or 0)  # one real case, real events
    app.engine.complete_task(case.tasks[0].task.id, {"risk": "high", "needs_housing": True})
    try:
        yield app
    finally:
        app.close()


def add_cases(app: Application, count: int) -> list[CaseNote]:
    """count cases of intake v1 with six events and a case note each, written straight to
    the storage; the notes."""
    notes = []
    with app.engine._uow() as uow:
        for number in range(count):
            client = uow.clients.add(Client(None, f"Client {number}", {"n": number}))
            at = START + timedelta(hours=number)
            case = uow.cases.add(CaseRecord(
                None, "intake", 1, client.id or 0, "running", {},
                data={"risk": "low", "note": f"=case {number}", "nested": {"n": number}},
                event_seq=6, created_at=at, updated_at=at))
            uow.events.append(case.id or 0, [
                NewEvent("case_started", at, None, "ada", {}),
                NewEvent("task_ready", at, "assess", None, {"task": f"t{number}"}),
                NewEvent("task_completed", at, "assess", "ada",
                         {"task": f"t{number}", "data": {"risk": "low"}}),
                NewEvent("decision", at, "risky", None, {"flow": "f_low", "branch": "low"}),
                NewEvent("outcome_recorded", at, "housed", None, {"outcome": "housed"}),
                NewEvent("task_ready", at + timedelta(seconds=1), "follow_up", None,
                         {"task": f"u{number}"}),
            ], first_seq=1)
            notes.append(uow.notes.add(CaseNote(
                None, client.id or 0, case.id if number % 3 else None, at.date(), "visit",
                number % 60, f"=visit {number}: all well", "ada", "st_giles", at)))
        uow.commit()
    return notes


def run_export(app: Application, what: str, out: Path, *options: str) -> None:
    result = CliRunner().invoke(cli, ["--db", app.settings.database_url, "export", what,
                                      "-o", str(out), *options])
    assert result.exit_code == 0, result.output


def export(app: Application, what: str, out: Path, *options: str) -> str:
    run_export(app, what, out, *options)
    return out.read_bytes().decode("utf-8")  # CRLF as written


def peak(app: Application, what: str, out: Path) -> int:
    """The most memory Python held at once while the export ran (in this process)."""
    tracemalloc.start()
    try:
        run_export(app, what, out, "--full")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("what", ["cases", "events", "xes", "notes"])
def test_an_export_takes_no_more_memory_for_four_times_the_cases(
        application: Application, tmp_path: Path, what: str) -> None:
    add_cases(application, 300)
    run_export(application, what, tmp_path / "warm")  # imports, caches
    at_n = peak(application, what, tmp_path / "n")
    add_cases(application, ADDED)
    at_4n = peak(application, what, tmp_path / "4n")
    size_n, size_4n = (tmp_path / "n").stat().st_size, (tmp_path / "4n").stat().st_size
    assert size_4n > 3.5 * size_n
    # holding every case and event (as the exports did) makes the peak grow with the
    # output (the text whole, and more) and by well over a kilobyte a case (a CaseRecord
    # with its data); the streamed ones grow by a small part of either. The floor of 200
    # bytes a case is for the cases CSV, about 100 bytes a case: there the 25-45 KB a run
    # varies by (SQLAlchemy's caches, tracemalloc itself) came near half the output's growth
    bound = max(0.5 * (size_4n - size_n), 200 * ADDED)
    assert at_4n - at_n < bound, (at_n, at_4n, size_n, size_4n)


@pytest.mark.parametrize("full", [True, False])
def test_the_streamed_exports_are_what_the_builders_make_of_every_case(
        application: Application, tmp_path: Path, full: bool) -> None:
    notes = add_cases(application, 100)
    engine = application.engine
    found = engine.list_cases()
    events = {c.id: engine.events(c.id) for c in found if c.id is not None}
    if not full:
        versions = [(v.pathway, v.number) for v in engine.versions()]
        redactor = Redactor(Sensitivity.of(
            (p, n, engine.definition(p, n)) for p, n in versions), frozenset())
        found, events = redact(redactor, found, events)
    parsed = engine.definition("intake", 1)
    titles = {("intake", 1): step_titles(parsed.spec, parsed.subprocess_specs)}
    option = "--full" if full else "--redacted"
    counts = Counter(n.case_id for n in notes if n.case_id is not None)
    assert export(application, "cases", tmp_path / "c", option) == cases_csv(found, counts)
    assert export(application, "events", tmp_path / "e", option) == events_csv(found, events)
    assert export(application, "xes", tmp_path / "x", option) == to_xes(
        found, events, step_titles=titles, name="Pathways event log")
    shown = notes if full else [replace(n, text="") for n in notes]  # intake: not sensitive
    assert export(application, "notes", tmp_path / "n", option) == notes_csv(shown, NOTE_KINDS)
    assert not list(tmp_path.glob(".*partial"))
