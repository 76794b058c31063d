"""Incidents through the real `pathways` CLI: a wait whose date is empty answers JSON, the
case is listed in error with the reason, and retry with the missing date resumes the wait
(issue 11, item 4)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.test_cli import Cli
from tests.incident_bundles import dated_wait


def test_empty_wait_date_is_listed_in_error_and_retry_with_the_date_resumes(
        cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "dated_wait.yaml"
    source.write_text(yaml.safe_dump(dated_wait(), sort_keys=False), encoding="utf-8")
    published, added = cli.many(["publish", str(source)], ["clients", "add", "--name", "Cat"])
    assert published.ok()["pathway"] == "dated_wait"
    case = cli.json("cases", "start", "dated_wait", "--client", str(added.ok()["id"]))
    [task] = case["tasks"]

    completed = cli.run("tasks", "complete", task["id"], "--data", '{"notes": "at the gate"}')
    assert "Traceback" not in completed.stderr
    answer = completed.ok()
    assert (answer["case"], answer["status"], answer["tasks"]) == (case["id"], "error", [])
    assert answer["error"]["step"] == "until_release"
    assert "release_date" in answer["error"]["message"]

    [listed] = cli.json("cases", "list", "--status", "error")
    assert listed["id"] == case["id"] and listed["status"] == "error"
    assert listed["error"]["step"] == "until_release"
    assert "release_date" in listed["error"]["message"]
    assert cli.json("cases", "show", str(case["id"]))["data"]["notes"] == "at the gate"

    retried = cli.json("cases", "retry", str(case["id"]),
                       "--data", '{"client": {"release_date": "2030-02-01"}}')
    assert retried["status"] == "active" and retried["error"] is None
    assert retried["tasks"] == []
    assert cli.json("timers", "run", "--now", "2030-02-01T12:00:00+00:00") == {
        "fired": 1, "moved": 0}
    shown = cli.json("cases", "show", str(case["id"]))
    assert [t["step"] for t in shown["tasks"]] == ["follow_up"]
