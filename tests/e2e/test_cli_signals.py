"""Signals through the real CLI (SQLite and PostgreSQL): a case that throws a signal as it
starts answers JSON, the waiting cases hear it, and `messages deliver` and `worker` go on
(they used to stop on their first round with "This process is not waiting for ...")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.test_cli import DATA, Cli


def _publish(cli: Cli, tmp_path: Path, *names: str) -> None:
    published = cli.many(*(["publish", str(shutil.copy(DATA / f"{name}.bpmn", tmp_path))]
                           for name in names))
    assert [p.ok()["pathway"] for p in published] == list(names)


def test_cases_start_that_throws_a_signal_answers_json_and_workers_go_on(
        cli: Cli, tmp_path: Path) -> None:
    _publish(cli, tmp_path, "signal_catcher", "signal_boundary", "signal_at_start")
    ann, bob = (cli.json("clients", "add", "--name", name)["id"] for name in ("Ann", "Bob"))
    catcher, boundary, other = (outcome.ok() for outcome in cli.many(
        ["cases", "start", "signal_catcher", "--client", str(ann)],
        ["cases", "start", "signal_boundary", "--client", str(ann)],
        ["cases", "start", "signal_catcher", "--client", str(bob)]))

    started = cli.run("cases", "start", "signal_at_start", "--client", str(ann))
    assert "Traceback" not in started.stderr, started.stderr
    thrower = started.ok()  # the whole of stdout is one JSON document
    assert thrower["status"] == "active"
    assert [t["step"] for t in thrower["tasks"]] == ["settle"]

    shown = [o.ok() for o in cli.many(["cases", "show", str(catcher["id"])],
                                      ["cases", "show", str(boundary["id"])],
                                      ["cases", "show", str(other["id"])],
                                      ["events", str(thrower["id"])],
                                      ["events", str(catcher["id"])])]
    assert [t["step"] for t in shown[0]["tasks"]] == ["move_in"]
    assert sorted(t["step"] for t in shown[1]["tasks"]) == ["note_housing", "search"]
    assert shown[2]["tasks"] == []  # another client's case does not hear it
    [sent] = [e for e in shown[3] if e["type"] == "signal_sent"]
    assert sent["data"]["name"] == "housing_found" and sent["data"]["scope"] == "client"
    [received] = [e for e in shown[4] if e["type"] == "signal_received"]
    assert received["data"]["from_case"] == thrower["id"]

    delivered = cli.run("messages", "deliver")
    assert delivered.ok() == {"delivered": 0}
    rounds = cli.run("worker", "--rounds", "2", "--interval", "0")
    assert rounds.returncode == 0 and "Traceback" not in rounds.stderr, rounds.stderr
    assert [json.loads(line) for line in rounds.stdout.splitlines()] == [
        {"round": 1, "fired": 0, "delivered": 0, "moved": 0},
        {"round": 2, "fired": 0, "delivered": 0, "moved": 0}]

    xes = tmp_path / "log.xes"
    assert cli.json("export", "xes", "-o", str(xes))["format"] == "xes"
    text = xes.read_text(encoding="utf-8")
    assert "signal_sent" in text and "signal_received" in text


def test_an_unknown_signal_scope_is_a_located_json_refusal(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "signal_programme.bpmn"
    source.write_text((DATA / "signal_programme.bpmn").read_text().replace("SCOPE", "world"))
    error = cli.error("publish", str(source), code="invalid_definition")
    assert error["details"]["element"] == "announce"
    assert error["details"]["value"] == "world"
