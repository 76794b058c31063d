"""`pathways export notes`: case notes (contacts: calls, visits, ...) as CSV from the CLI,
on SQLite and PostgreSQL, and `export cases`' count of the notes about each case. Redacted
(the default) keeps each row with its text empty and leaves out the notes about a case of a
sensitive pathway; --full keeps the text, neutralised where a spreadsheet would read it as a
formula. --since and --pathway filter; bad values are JSON errors naming the option."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from engine.exports import CASE_COLUMNS, NOTE_COLUMNS
from engine.model import CaseNote
from tests.e2e.test_cli import Cli

OPEN = """pathway: housing_help
title: Housing help
organisation: st_giles
roles:
  worker: {title: Worker, organisations: [st_giles]}
steps:
  - task: intake
    role: worker
    title: Intake
"""
SENSITIVE = OPEN.replace("housing_help", "court_order").replace(
    "title: Housing help", "title: Court order\nsensitive: offence")
AT = datetime(2024, 5, 2, 10, 30, tzinfo=UTC)


def add_notes(cli: Cli, client: int, housing: int, court: int) -> list[int]:
    """Four notes written straight to the storage (no command records one): about no case,
    about each case, and an old one."""
    app = bootstrap(Settings(database_url=cli.database_url,
                             definitions_dir=cli.cwd / "none"), migrate=False)
    try:
        with app.engine._uow() as uow:
            ids = [uow.notes.add(CaseNote(None, client, case, on, kind, minutes, text, "amy",
                                          "st_giles", AT)).id or 0
                   for case, on, kind, minutes, text in [
                       (None, date(2024, 5, 1), "phone_call", 15,
                        '=cmd|" /C calc"!A0 rang, "all fine"\nsecond line'),
                       (housing, date(2024, 5, 2), "visit", None, "Visited the flat."),
                       (court, date(2024, 5, 2), "meeting", 30, "Spoke of the offence."),
                       (housing, date(2023, 1, 9), "other", 5, "An old note.")]]
            uow.commit()
    finally:
        app.close()
    return ids


def rows(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8")
    assert text.splitlines()[0] == ",".join(NOTE_COLUMNS)
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_export_notes_redacted_full_and_filtered(cli: Cli, tmp_path: Path) -> None:
    for source, name in ((OPEN, "housing_help"), (SENSITIVE, "court_order")):
        (tmp_path / f"{name}.yaml").write_text(source)
        cli.json("publish", str(tmp_path / f"{name}.yaml"))
    client = cli.json("clients", "add", "--name", "Zoë")["id"]
    housing, court = (cli.json("cases", "start", name, "--client", str(client))["id"]
                      for name in ("housing_help", "court_order"))
    first, visit, _, old = add_notes(cli, client, housing, court)

    out = tmp_path / "out"
    redacted, full, since, pathway = (out / f"{n}.csv" for n in ("r", "f", "s", "p"))
    reports = [r.ok() for r in cli.many(
        ["export", "notes", "-o", str(redacted)],
        ["export", "notes", "-o", str(full), "--full"],
        ["export", "notes", "-o", str(since), "--full", "--since", "2024-05-02"],
        ["export", "notes", "-o", str(pathway), "--pathway", "housing_help"])]
    assert [(r["format"], r["records"], r["left_out"]) for r in reports] == [
        ("csv", 3, []), ("csv", 4, []), ("csv", 2, []), ("csv", 2, [])]

    # redacted: the court order's note left out, no text at all
    shown = rows(redacted)
    assert [int(r["note"]) for r in shown] == [first, visit, old]
    assert {r["text"] for r in shown} == {""}
    assert shown[0] == {"note": str(first), "client": str(client), "case": "",
                        "contact_on": "2024-05-01", "kind": "phone_call",
                        "kind_title": "Phone call", "minutes": "15", "author": "amy",
                        "organisation": "st_giles", "recorded_at": AT.isoformat(),
                        "text": ""}
    assert shown[1]["case"] == str(housing) and shown[1]["minutes"] == ""

    # full: every note with its text; a formula neutralised, quotes and lines kept
    kept = rows(full)
    assert [r["kind_title"] for r in kept] == ["Phone call", "Visit", "Meeting", "Other"]
    assert kept[0]["text"] == '\'=cmd|" /C calc"!A0 rang, "all fine"\nsecond line'
    assert kept[2]["case"] == str(court) and kept[2]["text"] == "Spoke of the offence."
    assert [r["contact_on"] for r in rows(since)] == ["2024-05-02", "2024-05-02"]
    # --pathway: only the notes about its cases (not the one about no case)
    assert [int(r["note"]) for r in rows(pathway)] == [visit, old]

    # export cases: how many notes are about each case, in a last column
    cases = out / "cases.csv"
    cli.json("export", "cases", "--full", "-o", str(cases))
    table = list(csv.reader(io.StringIO(cases.read_bytes().decode(), newline="")))
    assert table[0][:len(CASE_COLUMNS)] == list(CASE_COLUMNS) and table[0][-1] == "notes"
    assert {row[0]: row[-1] for row in table[1:]} == {str(housing): "2", str(court): "1"}
    cli.json("export", "cases", "--pathway", "court_order", "--full", "-o", str(cases))
    assert [row[-1] for row in csv.reader(io.StringIO(cases.read_text(), newline=""))] == [
        "notes", "1"]

    # to stdout: the CSV itself
    stdout = cli.run("export", "notes", "--full", "--since", "2024-05-02").stdout
    assert stdout.splitlines()[0] == ",".join(NOTE_COLUMNS) and "Visited the flat." in stdout


def test_export_notes_refuses_a_bad_day_as_a_json_error(cli: Cli) -> None:
    for bad in ("yesterday", "2024-13-01", "2024-5-1", ""):
        error = cli.error("export", "notes", "--since", bad, code="invalid_argument")
        assert "--since" in error["message"], error
