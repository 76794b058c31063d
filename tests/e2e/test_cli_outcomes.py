"""`pathways outcomes …` end to end, on SQLite and PostgreSQL: importing outcome files (all or
nothing, idempotent) and listing what is held."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import Cli

REPORT_KEYS = {"file", "sha256", "kind", "already_imported", "rows", "imported", "duplicates",
               "duplicate_lines", "errors", "extracted_on"}


def _clients(cli: Cli, count: int) -> list[int]:
    outcomes = cli.many(*[["clients", "add", "--name", f"Client {n}", "--field",
                           "release_date=2024-01-15"] for n in range(count)])
    return sorted(outcome.ok()["id"] for outcome in outcomes)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _rejected(cli: Cli, path: Path) -> dict[str, Any]:
    outcome = cli.run("outcomes", "import", str(path), "--kind", "reconviction")
    assert outcome.returncode == 1, outcome.stdout + outcome.stderr
    report: dict[str, Any] = json.loads(outcome.stdout)
    assert set(report) == REPORT_KEYS and report["imported"] == 0
    return report


def test_import_twice_changes_nothing_and_lists_events(cli: Cli, tmp_path: Path) -> None:
    a, b = _clients(cli, 2)
    path = _write(tmp_path, "reconvictions.csv",
                  "client,offence_date,conviction_date\n"
                  f"{a},2024-02-01,2024-03-01\n{a},2024-05-01,2024-06-01\n"
                  f"{b},2024-03-01,2024-04-01\n")
    first = cli.json("outcomes", "import", str(path), "--kind", "reconviction", "--as", "amy")
    assert set(first) == REPORT_KEYS
    assert (first["file"], first["already_imported"], first["imported"], first["duplicates"],
            first["errors"]) == ("reconvictions.csv", False, 3, 0, [])
    assert len(first["sha256"]) == 64
    listed = cli.json("outcomes", "list")

    again = cli.json("outcomes", "import", str(path), "--kind", "reconviction")
    assert (again["already_imported"], again["imported"], again["sha256"]) == (
        True, 0, first["sha256"])
    assert cli.json("outcomes", "list") == listed

    # another file repeating held events: those rows are reported as duplicates
    more = _write(tmp_path, "more.csv", "client,offence_date,conviction_date\n"
                  f"{b},2024-03-01,2024-04-01\n{b},2024-08-01,2024-09-01\n")
    report = cli.json("outcomes", "import", str(more), "--kind", "reconviction")
    assert (report["imported"], report["duplicates"], report["duplicate_lines"]) == (1, 1, [2])

    events = cli.json("outcomes", "list", "--client", str(a))
    assert [(e["client"], e["kind"], e["occurred_on"], e["recorded_on"]) for e in events] == [
        (a, "reconviction", "2024-02-01", "2024-03-01"),
        (a, "reconviction", "2024-05-01", "2024-06-01")]
    assert events[0]["source"] == f"import:{first['sha256']}"
    assert len(cli.json("outcomes", "list", "--kind", "reconviction")) == 4
    assert cli.json("outcomes", "list", "--kind", "employment") == []

    other = _write(tmp_path, "other.csv", "client,outcome,date,value\n"
                   f"{a},employment_sustained,2024-07-01,26\n")
    assert cli.json("outcomes", "import", str(other), "--kind", "other")["imported"] == 1
    assert [e["detail"]["value"] for e in cli.json("outcomes", "list", "--kind",
                                                   "employment_sustained")] == [26]


def test_malformed_files_report_every_row_and_import_nothing(cli: Cli, tmp_path: Path) -> None:
    (a,) = _clients(cli, 1)
    header = "client,offence_date,conviction_date\n"
    good = f"{a},2024-02-01,2024-03-01\n"
    bad_dates = _rejected(cli, _write(tmp_path, "dates.csv", header + good
                                      + f"{a},2024-13-01,2024-03-01\n"
                                      + f"{a},2024-02-02,3 March 2024\n"))
    assert [(e["line"], e["column"]) for e in bad_dates["errors"]] == [
        (3, "offence_date"), (4, "conviction_date")]
    assert "expected YYYY-MM-DD" in bad_dates["errors"][0]["message"]

    unknown = _rejected(cli, _write(tmp_path, "unknown.csv",
                                    header + good + f"{a + 100},2024-02-01,2024-03-01\n"))
    assert unknown["errors"] == [{"line": 3, "column": "client",
                                  "message": f"no client {a + 100}"}]

    duplicates = _rejected(cli, _write(tmp_path, "duplicates.csv", header + good + good))
    assert [(e["line"], e["column"]) for e in duplicates["errors"]] == [(3, None)]
    assert duplicates["errors"][0]["message"].startswith("duplicates line 2")

    latin1 = _rejected(cli, _write(tmp_path, "latin1.csv", "client,offence_date,"
                                   "conviction_date,note\n" + good.strip() + ",Zoë\n",
                                   encoding="latin-1"))
    assert [(e["line"], e["column"]) for e in latin1["errors"]] == [(2, None)]
    assert "not UTF-8: byte 0xEB at byte offset" in latin1["errors"][0]["message"]

    columns = _rejected(cli, _write(tmp_path, "columns.csv", "client,date\n1,2024-01-01\n"))
    assert {e["column"] for e in columns["errors"]} == {"offence_date", "conviction_date"}

    assert cli.json("outcomes", "list") == []  # nothing partial

    # the text output names each problem on stderr
    text = cli.run_argv(cli.argv(["outcomes", "import", str(tmp_path / "unknown.csv"),
                                  "--kind", "reconviction"]))
    assert text.returncode == 1 and f"unknown.csv:3: client: no client {a + 100}" in text.stderr


def test_large_files_show_progress_on_stderr(cli: Cli, tmp_path: Path) -> None:
    (a,) = _clients(cli, 1)
    start = date(2000, 1, 1)
    rows = [f"{a},{start + timedelta(days=n)},{start + timedelta(days=n + 30)}"
            for n in range(1200)]
    path = _write(tmp_path, "large.csv",
                  "client,offence_date,conviction_date\n" + "\n".join(rows) + "\n")
    outcome = cli.run("outcomes", "import", str(path), "--kind", "reconviction")
    assert outcome.ok()["imported"] == 1200
    assert "1200/1200 rows" in outcome.stderr and "120/1200 rows" in outcome.stderr


def test_the_extraction_date_is_kept_checked_and_shown(cli: Cli, tmp_path: Path) -> None:
    """Issue 12, item 1: --extracted-on says when the file's data was extracted; no event may
    be recorded after it (located by file and line), it may not be after the import day, and
    without it the date is unknown (null)."""
    (a,) = _clients(cli, 1)
    header = "client,offence_date,conviction_date\n"
    path = _write(tmp_path, "q1.csv", header + f"{a},2024-02-01,2024-03-01\n"
                  + f"{a},2024-05-01,2024-06-02\n")
    late = cli.run("outcomes", "import", str(path), "--kind", "reconviction",
                   "--extracted-on", "2024-06-01")
    assert late.returncode == 1
    report = json.loads(late.stdout)
    assert report["imported"] == 0 and report["extracted_on"] == "2024-06-01"
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(3, "conviction_date")]
    assert "after the data's extraction date 2024-06-01" in report["errors"][0]["message"]
    text = cli.run_argv(cli.argv(["outcomes", "import", str(path), "--kind", "reconviction",
                                  "--extracted-on", "2024-06-01"]))
    assert text.returncode == 1 and "q1.csv:3: conviction_date: 2024-06-02 is after" \
        in text.stderr
    future = (date.today() + timedelta(days=2)).isoformat()
    refused = cli.run("outcomes", "import", str(path), "--kind", "reconviction",
                      "--extracted-on", future)
    assert refused.returncode != 0
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "invalid_argument" and "after the import day" in error["message"]
    bad = cli.run("outcomes", "import", str(path), "--kind", "reconviction",
                  "--extracted-on", "June 2024")
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["code"] == \
        "invalid_argument"
    assert cli.json("outcomes", "list") == []  # nothing partial
    good = cli.json("outcomes", "import", str(path), "--kind", "reconviction",
                    "--extracted-on", "2024-06-02")
    assert (good["imported"], good["extracted_on"]) == (2, "2024-06-02")
    undated = _write(tmp_path, "q2.csv", header + f"{a},2024-07-01,2024-08-01\n")
    assert cli.json("outcomes", "import", str(undated), "--kind",
                    "reconviction")["extracted_on"] is None
    group = _write(tmp_path, "group.csv", "subject,release_date,offence_date,conviction_date\n"
                   "s1,2011-01-01,2011-02-01,2011-03-01\n")
    matched = cli.json("outcomes", "matched-group", str(group), "--group", "cohort 1",
                       "--extracted-on", "2012-12-01")
    assert (matched["subjects"], matched["extracted_on"]) == (1, "2012-12-01")
