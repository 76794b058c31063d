"""An export is not lost because one published version no longer parses (issue 11).

A redacted export (the default) cannot tell what such a version makes sensitive, so its
cases are left out, and said to be left out: in the --json report of an export written to a
file (`left_out`, beside the keys it always had), on stderr when the export goes to stdout.
A --full export needs no definition and keeps everything. INDIGO, which describes each
pathway from its definition, leaves the version's pathway entry out and says so. On SQLite
and PostgreSQL, through the CLI in-process (tests/robustness/test_no_traceback.py).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.robustness.test_no_traceback import Broken
from tests.robustness.test_no_traceback import broken as broken  # the fixture


def _left_out(document: dict[str, object]) -> dict[tuple[str, int], dict[str, object]]:
    found = document["left_out"]
    assert isinstance(found, list)
    return {(item["pathway"], item["version"]): item for item in found}


@pytest.mark.parametrize("kind", ["cases", "events", "xes", "tasks"])
def test_a_redacted_export_to_a_file_leaves_out_the_unloadable_version_and_says_so(
        broken: Broken, kind: str) -> None:
    output = broken.pathways.work / f"export.{kind}"
    run = broken.pathways.run(["export", kind, "-o", str(output)])
    document = run.document()
    assert run.code == 0, run.describe()
    assert document["file"] == str(output) and document["records"] >= 1  # the old keys
    left = _left_out(document)[("rotten", 1)]
    assert "cannot be loaded" in str(left["reason"]), left
    assert left["cases"] == 1
    text = output.read_text(encoding="utf-8")
    assert "robust" in text and "rotten" not in text


def test_a_redacted_export_to_stdout_warns_on_stderr(broken: Broken) -> None:
    run = broken.pathways.run(["export", "cases"], json_mode=False)
    run.no_traceback()
    assert run.code == 0, run.describe()
    rows = list(csv.DictReader(io.StringIO(run.result.stdout)))
    pathways = {row["pathway"] for row in rows}
    assert "robust" in pathways and "rotten" not in pathways
    assert "left out 1 case(s) of rotten v1" in run.result.stderr, run.describe()

    run = broken.pathways.run(["export", "cases"])  # --json: the warning is JSON too
    assert run.code == 0, run.describe()
    warning = json.loads(run.result.stderr)
    assert _left_out(warning)[("rotten", 1)]["cases"] == 1


def test_a_full_export_keeps_the_unloadable_versions_cases(broken: Broken) -> None:
    output = broken.pathways.work / "full.csv"
    document = broken.pathways.run(["export", "cases", "--full", "-o", str(output)]).document()
    assert document["left_out"] == []
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert str(broken.world.cases["rotten"]) in {row["id"] for row in rows}


@pytest.mark.parametrize("full", [False, True])
def test_indigo_leaves_out_the_unloadable_pathway_and_says_so(broken: Broken,
                                                                full: bool) -> None:
    output = broken.pathways.work / "indigo.json"
    run = broken.pathways.run(["export", "indigo", "-o", str(output),
                               *(["--full"] if full else [])])
    document = run.document()
    assert run.code == 0, run.describe()
    left = _left_out(document)[("rotten", 1)]
    assert left["pathway_described"] is False and "cannot be loaded" in str(left["reason"])
    project = output.read_text(encoding="utf-8")
    assert "robust v1" in project and "rotten v1" not in project


def test_tasks_list_marks_the_unloadable_versions_task_and_lists_the_rest(broken: Broken
                                                                           ) -> None:
    listed = {t["id"]: t for t in broken.pathways.run(["tasks", "list"]).document()}
    assert "problem" not in listed[broken.world.tasks["active"]]
    rotten = listed[broken.world.tasks["rotten"]]
    assert rotten["schema"] is None and "cannot be loaded" in rotten["problem"]
    text = broken.pathways.run(["tasks", "list"], json_mode=False)
    assert text.code == 0 and "definition cannot be loaded" in text.result.stdout


def test_a_client_without_fields_is_added_beside_an_unloadable_version(broken: Broken
                                                                         ) -> None:
    """Only fields are checked against the types each pathway's latest version declares:
    a client with none needs no definition; one with fields cannot be checked against the
    version that cannot be loaded, and the refusal names it."""
    added = broken.pathways.run(["clients", "add", "--name", "Maid Marian"]).document()
    assert added["name"] == "Maid Marian"
    error = broken.pathways.run(["clients", "add", "--name", "Little John",
                                 "--field", "age=30"]).error("invalid_definition")
    assert error["details"]["pathway"] == "rotten" and error["details"]["version"] == 1


def test_a_redacted_notes_export_leaves_out_the_notes_about_the_unloadable_versions_case(
        broken: Broken) -> None:
    """A note about a case of the version that cannot be loaded is left out of the redacted
    notes export, and counted as left out (`notes`); the --full export keeps it."""
    from datetime import UTC, date, datetime

    from sqlalchemy import create_engine, insert

    from adapters.sql import tables

    database = create_engine(broken.pathways.database_url)
    try:
        with database.begin() as connection:
            for kind in ("rotten", "active"):
                connection.execute(insert(tables.case_notes).values(
                    client_id=broken.world.client, case_id=broken.world.cases[kind],
                    contact_on=date(2024, 5, 1), kind="visit", minutes=None,
                    text=f"about the {kind} case", author="tests", organisation="robust",
                    recorded_at=datetime(2024, 5, 1, tzinfo=UTC)))
    finally:
        database.dispose()
    output = broken.pathways.work / "notes.csv"
    run = broken.pathways.run(["export", "notes", "-o", str(output)])
    assert run.code == 0, run.describe()
    document = run.document()
    assert document["records"] == 1
    assert _left_out(document)[("rotten", 1)]["notes"] == 1
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert [row["case"] for row in rows] == [str(broken.world.cases["active"])]

    run = broken.pathways.run(["export", "notes"], json_mode=False)
    assert "left out 1 note(s) of rotten v1" in run.result.stderr, run.describe()
    run = broken.pathways.run(["export", "notes", "--full", "-o", str(output)])
    assert run.document()["records"] == 2 and run.document()["left_out"] == []
