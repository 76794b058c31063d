"""Formula injection: every CSV the app writes neutralises text a spreadsheet would run
(issue 10, item 8), through the one writer (engine.csvout), on SQLite and PostgreSQL.

Payloads reach the CSVs where people or files put text: a form answer and a client's name
(the CLI's case and task exports), a case note's text, author and organisation (the CLI's
notes export), the actor of a step and the organisation of a user (the
dashboard's activity table), a choice option a designer wrote (the dashboard's split by an
answer) and a cohort name in the programme file (the cohort results). Each comes out with a
leading apostrophe; numbers the app computed (a negative change) stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml

from adapters.definition_files import read_bundle
from engine.csvout import cell, csv_text
from engine.exports import cases_csv, notes_csv, tasks_csv
from tests.e2e.test_cli import Cli
from tests.web.conftest import Site, sign_in, site  # noqa: F401 - site: a fixture
from tests.web.test_dashboard import programme  # noqa: F401 - a fixture

PAYLOADS = ('=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1")


def _cells(text: str) -> list[str]:
    return [value for row in csv.reader(io.StringIO(text)) for value in row]


def _check(text: str, payloads: tuple[str, ...] = PAYLOADS) -> None:
    """Every payload is in the CSV, and only behind an apostrophe; no cell starts a formula."""
    cells = _cells(text)
    for payload in payloads:
        assert "'" + payload in cells or any(c.startswith("'" + payload) for c in cells), \
            (payload, cells)
    for value in cells:
        assert not value.startswith(("=", "+", "@", "\t", "\r")), value
        if value.startswith("-"):  # only numbers may start with a minus sign
            float(value)


def test_the_writer_neutralises_text_and_leaves_numbers() -> None:
    text = csv_text(["name", "change", "rate"], [[p, -3, -0.25] for p in PAYLOADS])
    _check(text)
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert all(row[1:] == ["-3", "-0.25"] for row in rows)
    assert cell("-3") == "'-3"  # text that looks like a number is still text
    assert cell(-3) == "-3" and cell(float("nan")) == "" and cell(None) == ""


def test_the_cli_exports_neutralise_every_payload(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "injection.yaml"
    source.write_text(PATHWAY.format(options=json.dumps(list(PAYLOADS))))
    assert cli.json("publish", str(source))["version"] == 1
    for number, payload in enumerate(PAYLOADS):
        client = cli.json("clients", "add", "--name", payload)["id"]
        case = cli.json("cases", "start", "injection", "--client", str(client))
        if number % 2:
            cli.json("tasks", "complete", case["tasks"][0]["id"], "--data",
                     json.dumps({"kind": payload, "note": payload}), "--as", "amy")
    out = tmp_path / "out"
    cli.many(["export", "cases", "-o", str(out / "cases.csv")],
             ["export", "tasks", "-o", str(out / "tasks.csv")])
    _check((out / "cases.csv").read_bytes().decode(), PAYLOADS[1::2])
    # the tasks export: the case's waiting task and, for the unanswered ones, nothing typed
    tasks = (out / "tasks.csv").read_bytes().decode()
    _check(tasks, ())


def test_the_engine_exports_neutralise_client_and_form_text() -> None:
    from datetime import UTC, datetime

    from engine.model import CaseRecord, InboxTask
    when = datetime(2026, 1, 1, tzinfo=UTC)
    cases = [CaseRecord(id=n, pathway="p", version=1, client_id=n, status="active",
                        state={}, data={"note": p, "exit_reason": p, "score": -2},
                        created_at=when, updated_at=when, exit_reason=p)
             for n, p in enumerate(PAYLOADS)]
    _check(cases_csv(cases))
    assert "-2" in _cells(cases_csv(cases))  # a number stays a number
    tasks = [InboxTask(id=p, case_id=n, pathway="p", version=1, step=p, title=p, role=p,
                       form=None, due=None, created_at=when, assignee=p)
             for n, p in enumerate(PAYLOADS)]
    _check(tasks_csv(tasks))


CMD = '=cmd|" /C calc"!A0'  # DDE: runs a program in a spreadsheet that allows it


def test_the_notes_export_neutralises_a_note_text(cli: Cli, tmp_path: Path) -> None:
    """`export notes --full` (the text is in no redacted export): the note's text, and the
    author and organisation it was recorded with, each behind an apostrophe."""
    from datetime import UTC, date, datetime

    from adapters.bootstrap import bootstrap
    from adapters.settings import Settings
    from engine.model import CaseNote

    client = cli.json("clients", "add", "--name", "Ada")["id"]
    app = bootstrap(Settings(database_url=cli.database_url,
                             definitions_dir=tmp_path / "none"), migrate=False)
    try:
        with app.engine._uow() as uow:
            for payload in (CMD, *PAYLOADS):
                uow.notes.add(CaseNote(None, client, None, date(2024, 5, 1), "phone_call",
                                       -1 if payload == "-1+1" else 5, payload, payload,
                                       payload, datetime(2024, 5, 1, tzinfo=UTC)))
            uow.commit()
    finally:
        app.close()
    out = tmp_path / "notes.csv"
    assert cli.json("export", "notes", "--full", "-o", str(out))["records"] == 7
    text = out.read_bytes().decode()
    _check(text, (CMD, *PAYLOADS))
    assert "'" + CMD in _cells(text) and "-1" in _cells(text)  # minutes stay a number


def test_the_engine_notes_export_neutralises_every_text_cell() -> None:
    from datetime import UTC, date, datetime

    from engine.model import CaseNote
    notes = [CaseNote(n, n, None, date(2026, 1, 1), p, 3, p, p, p,
                      datetime(2026, 1, 1, tzinfo=UTC)) for n, p in enumerate(PAYLOADS)]
    _check(notes_csv(notes, {}))  # a kind without a title: its code, neutralised too


PATHWAY = """pathway: injection
title: Injection
organisation: st_giles_trust
roles:
  worker: {{title: Worker, organisations: [st_giles_trust]}}
steps:
  - task: intake
    role: worker
    title: Intake
    form:
      kind: {{type: choice, required: true, title: Kind, options: {options}}}
      note: {{type: text, title: Note}}
  - record: helped
    outcome: helped
    value: true
  - task: follow_up
    role: worker
    title: Follow up
"""


def test_every_dashboard_csv_neutralises_text(programme: Site) -> None:  # noqa: F811
    application = programme.application
    engine = application.engine
    files = {"injection.yaml": PATHWAY.format(options=json.dumps(list(PAYLOADS)))}
    folder = application.settings.definitions_dir / "injection"
    folder.mkdir(parents=True)
    (folder / "injection.yaml").write_text(files["injection.yaml"])
    bundle, main = read_bundle(folder / "injection.yaml")
    engine.publish(bundle, main)
    # enough cases per answer that the split is shown, each done by a payload-named actor
    for number in range(len(PAYLOADS) * 10):
        payload = PAYLOADS[number % len(PAYLOADS)]
        client = engine.add_client(payload, {}).id or 0
        case = engine.start_case("injection", client)
        engine.complete_task(case.tasks[0].task.id, {"kind": payload, "note": payload},
                             actor=payload)
    programmes = application.settings.definitions_dir / "programmes"
    config = yaml.safe_load((programmes / "peterborough.yaml").read_text("utf-8"))
    config["cohorts"] = [{"name": p, "releases_from": "2010-09", "releases_to": "2012-06"}
                         for p in PAYLOADS]
    (programmes / "peterborough.yaml").write_text(yaml.safe_dump(config))

    client = programme.client()
    sign_in(client, "cam")
    query = "pathway=injection&outcome=helped"
    for url, payloads in (
            (f"/dashboard/activity.csv?{query}", PAYLOADS),
            (f"/dashboard/field.csv?{query}&field=kind", PAYLOADS),
            ("/dashboard/cohorts.csv", PAYLOADS),
            (f"/dashboard/versions.csv?{query}", ()),
            (f"/dashboard/engagement.csv?{query}", ())):
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        _check(answer.text, payloads)
