"""The `pathways` command line end to end: the real CLI in a process of its own, on SQLite and
PostgreSQL.

Scripts rely on the JSON shapes printed with --json, so these tests check them exactly. Each
call is a process forked from one that has imported the CLI (tests/cli_forkserver.py; a new
Python process each with PATHWAYS_TEST_CLI_FORK=0), so related assertions are grouped into
few tests, and calls that do not depend on each other run side by side.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests import cli_forkserver

DATA = Path(__file__).resolve().parents[1] / "data"
PROGRAM = [sys.executable, "-m", "adapters.cli"]
CALL_TIMEOUT = 120
ERROR_KEYS = {"code", "message", "details"}
TASK_KEYS = {"id", "case", "pathway", "step", "title", "role", "schema", "due"}
CASE_KEYS = {"id", "pathway", "version", "status", "data"}
EVENT_KEYS = {"seq", "type", "at", "actor", "step", "data"}
PUBLISH_KEYS = {"pathway", "version", "hash", "changed"}

TIMER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="tick_defs"
    targetNamespace="https://pathways.example/tests">
  <bpmn:process id="tick" name="Tick" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="pause" name="Pause a second">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1S"</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after" name="After the pause">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pause"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pause" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# Line 5 closes the process while the start event (line 4) is still open.
MALFORMED_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="broken">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="start">
  </bpmn:process>
</bpmn:definitions>
"""
MALFORMED_LINE = 5


# -- running the CLI -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    argv: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    def _describe(self) -> str:
        return (f"pathways {' '.join(self.argv)}\nexit {self.returncode}\n"
                f"stdout: {self.stdout}\nstderr: {self.stderr}")

    def ok(self) -> Any:
        """The JSON a successful call printed (the whole of stdout is one JSON document)."""
        assert self.returncode == 0, self._describe()
        return json.loads(self.stdout)

    def error(self, code: str) -> dict[str, Any]:
        """The {"code", "message", "details"} a failed --json call printed on stdout."""
        assert self.returncode != 0, self._describe()
        printed = json.loads(self.stdout)
        assert set(printed) == {"error"}, self._describe()
        error: dict[str, Any] = printed["error"]
        assert set(error) == ERROR_KEYS, self._describe()
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["details"], dict)
        assert error["code"] == code, self._describe()
        return error


class Cli:
    """The CLI run in a working directory of its own, against one database."""

    def __init__(self, cwd: Path, database_url: str | None, base_env: dict[str, str]) -> None:
        self.cwd = cwd
        self.database_url = database_url
        self.base_env = base_env

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self.base_env, **(extra or {})}

    def argv(self, args: Sequence[str], *, db: bool = True) -> list[str]:
        chosen = ["--db", self.database_url] if db and self.database_url else []
        return [*chosen, *args]

    def spawn(self, argv: Sequence[str], *, env: dict[str, str] | None = None,
              **options: Any) -> subprocess.Popen[str]:
        return subprocess.Popen([*PROGRAM, *argv], cwd=self.cwd, env=self.environment(env),
                                text=True, **options)

    def run_argv(self, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 stdin: str | None = None) -> Outcome:
        """One call; `stdin`: what it reads on its standard input (default: nothing)."""
        return self.run_many([argv], env=env, stdin=stdin)[0]

    def run_many(self, argvs: Sequence[Sequence[str]], *, env: dict[str, str] | None = None,
                 stdin: str | None = None) -> list[Outcome]:
        """Run independent calls side by side and wait for all of them, each in a process
        forked from one that has imported the CLI (tests/cli_forkserver.py), or each in a
        new Python process when PATHWAYS_TEST_CLI_FORK=0."""
        if cli_forkserver.enabled():
            return self.run_forked(argvs, env=env, stdin=stdin)
        return self.run_in_new_processes(argvs, env=env, stdin=stdin)

    def run_forked(self, argvs: Sequence[Sequence[str]], *, env: dict[str, str] | None = None,
                   stdin: str | None = None) -> list[Outcome]:
        server = cli_forkserver.shared(self.base_env)
        calls = [server.start(list(argv), self.cwd, self.environment(env), stdin=stdin)
                 for argv in argvs]
        return [Outcome(call.argv, *astuple(call.wait(CALL_TIMEOUT))) for call in calls]

    def run_in_new_processes(self, argvs: Sequence[Sequence[str]], *,
                             env: dict[str, str] | None = None,
                             stdin: str | None = None) -> list[Outcome]:
        processes = [self.spawn(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=None if stdin is None else subprocess.PIPE)
                     for argv in argvs]
        outcomes = []
        for argv, process in zip(argvs, processes, strict=True):
            with process:
                try:
                    stdout, stderr = process.communicate(stdin, timeout=CALL_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.communicate()
                    raise
            outcomes.append(Outcome(argv, process.returncode, stdout, stderr))
        return outcomes

    def run(self, *args: str) -> Outcome:
        """`pathways --db URL --json ARGS...`."""
        return self.run_argv(self.argv(["--json", *args]))

    def json(self, *args: str) -> Any:
        return self.run(*args).ok()

    def error(self, *args: str, code: str) -> dict[str, Any]:
        return self.run(*args).error(code)

    def many(self, *calls: Sequence[str]) -> list[Outcome]:
        """Several `pathways --db URL --json ARGS...` calls side by side."""
        return self.run_many([self.argv(["--json", *call]) for call in calls])


def _utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed


def _sole(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [item for item in items if all(item.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, items)
    return found[0]


# -- init and where the database is --------------------------------------------------------


def test_init_publishes_the_shipped_pathways_once(fresh_cli: Cli) -> None:
    cli = fresh_cli
    first = cli.json("init")
    assert set(first) == {"database", "published"}
    gate = [r for r in first["published"] if r["pathway"] == "gate_reception"]
    assert [r["version"] for r in gate] == [1, 2]  # gate_reception.v1.yaml, then the current
    assert all(set(r) == PUBLISH_KEYS and r["changed"] is True for r in first["published"])

    # Again, with the database from PATHWAYS_DATABASE_URL and --json after the subcommand:
    # nothing changes.
    second = cli.run_argv(["init", "--json"],
                          env={"PATHWAYS_DATABASE_URL": str(cli.database_url)}).ok()
    assert second["published"] == [{**r, "changed": False} for r in first["published"]]
    assert not (cli.cwd / "pathways.sqlite").exists()


def test_default_database_is_pathways_sqlite_in_the_working_directory(
        tmp_path: Path, base_env: dict[str, str]) -> None:
    cli = Cli(tmp_path, None, base_env)
    result = cli.run_argv(["--json", "init"]).ok()
    database = tmp_path.resolve() / "pathways.sqlite"
    assert database.is_file()
    assert result["database"] == f"sqlite:///{database}"
    assert _sole(result["published"], pathway="gate_reception", version=2)["changed"] is True


# -- publishing ----------------------------------------------------------------------------


def test_publish_versions_by_content_and_reports_broken_files(cli: Cli, tmp_path: Path) -> None:
    intake = DATA / "intake.bpmn"
    first = cli.json("publish", str(intake))
    assert set(first) == PUBLISH_KEYS
    assert first["pathway"] == "intake" and first["version"] == 1 and first["changed"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", first["hash"])

    again = cli.json("publish", str(intake), "--note", "same again")
    assert again == {**first, "changed": False}

    revised = tmp_path / "revised"
    revised.mkdir()
    shutil.copy(DATA / "intake.assess.schema.json", revised)
    text = intake.read_text(encoding="utf-8")
    (revised / "intake.bpmn").write_text(text.replace('name="Follow up"', 'name="Follow-up"'),
                                         encoding="utf-8")
    second = cli.json("publish", str(revised / "intake.bpmn"), "--note", "renamed a task")
    assert set(second) == PUBLISH_KEYS
    assert second["pathway"] == "intake" and second["version"] == 2
    assert second["changed"] is True and second["hash"] != first["hash"]

    malformed = tmp_path / "broken.bpmn"
    malformed.write_text(MALFORMED_BPMN, encoding="utf-8")
    formless = tmp_path / "formless"
    formless.mkdir()
    shutil.copy(intake, formless)
    bad_xml, no_form, listed = cli.many(["publish", str(malformed)],
                                        ["publish", str(formless / "intake.bpmn")],
                                        ["definitions", "list"])

    error = bad_xml.error("invalid_definition")
    assert f"{malformed}:{MALFORMED_LINE}:" in error["message"]
    assert error["details"]["file"] == str(malformed)
    assert error["details"]["line"] == MALFORMED_LINE

    error = no_form.error("invalid_definition")
    assert str(formless / "intake.bpmn") in error["message"]
    assert "intake.assess.schema.json" in error["message"]
    assert error["details"]["file"] == str(formless / "intake.bpmn")

    latest = _sole(listed.ok(), pathway="intake")
    assert latest["version"] == 2 and latest["hash"] == second["hash"]
    assert latest["note"] == "renamed a task"


# -- a whole pathway -----------------------------------------------------------------------


def test_intake_runs_end_to_end_through_the_cli(cli: Cli) -> None:
    added, published = cli.many(
        ["clients", "add", "--name", "Ann Example",
         "--field", "release_date=2030-01-10", "--field", "checkins=3",
         "--field", 'flags={"veteran": true, "languages": ["en", "cy"]}',
         "--field", "code=007", "--field", "phone=07700 900123", "--field", "empty="],
        ["publish", str(DATA / "intake.bpmn")])
    client = added.ok()
    # JSON-looking values are JSON; anything else (even "007") stays text.
    fields = {"release_date": "2030-01-10", "checkins": 3,
              "flags": {"veteran": True, "languages": ["en", "cy"]},
              "code": "007", "phone": "07700 900123", "empty": ""}
    assert client["fields"] == fields and client["name"] == "Ann Example"
    assert isinstance(client["id"], int)
    client_id = client["id"]
    assert published.ok()["version"] == 1

    # Start: the assessment waits, due a week before release.
    started = cli.json("cases", "start", "intake", "--client", str(client_id))
    assert CASE_KEYS | {"tasks"} <= set(started)
    assert started["pathway"] == "intake" and started["version"] == 1
    assert started["status"] == "active"
    assert started["data"]["client"].items() >= {
        "id": client_id, "name": "Ann Example", **fields}.items()
    case = str(started["id"])
    started_at = _utc(started["created_at"])

    listed, events_before = cli.many(["tasks", "list", "--case", case, "--role", "caseworker"],
                                     ["events", case])
    (assess,) = listed.ok()
    assert set(assess) >= TASK_KEYS
    assert assess["case"] == started["id"] and assess["pathway"] == "intake"
    assert assess["step"] == "assess" and assess["title"] == "Assess needs"
    assert assess["role"] == "caseworker"
    assert assess["schema"] == json.loads(
        (DATA / "intake.assess.schema.json").read_text(encoding="utf-8"))
    assert _utc(assess["due"]) == datetime(2030, 1, 3, tzinfo=UTC)
    assert [t["id"] for t in started["tasks"]] == [assess["id"]]
    recorded = len(events_before.ok())

    # Invalid data: every bad field is named, and nothing changes.
    error = cli.error("tasks", "complete", assess["id"], "--as", "alice", "--data",
                      json.dumps({"risk": "extreme", "children": -1, "pets": 2}),
                      code="invalid_data")
    problems = error["details"]["fields"]
    assert set(problems) == {"risk", "children", "pets", "needs_housing"}
    assert all(isinstance(p, list) and p and all(isinstance(m, str) for m in p)
               for p in problems.values())
    shown, events_after = cli.many(["cases", "show", case], ["events", case])
    assert shown.ok()["status"] == "active"
    assert [t["id"] for t in shown.ok()["tasks"]] == [assess["id"]]
    assert len(events_after.ok()) == recorded

    submitted = {"risk": "low", "needs_housing": True, "children": 2, "seen_on": "2029-12-20"}
    completed = cli.json("tasks", "complete", assess["id"], "--data", json.dumps(submitted),
                         "--as", "alice")
    assert completed == {"case": started["id"], "status": "active", "tasks": []}

    # The low-risk branch waits a week (the task done, its id is no longer known).
    six_days = (started_at + timedelta(days=6)).isoformat()
    early, again = cli.many(["timers", "run", "--now", six_days],
                            ["tasks", "complete", assess["id"], "--data", json.dumps(submitted)])
    assert early.ok() == {"fired": 0, "moved": 0}
    assert again.error("not_found")["details"] == {"task": assess["id"]}
    eight_days = (started_at + timedelta(days=8)).isoformat()
    assert cli.json("timers", "run", "--now", eight_days) == {"fired": 1, "moved": 0}

    (acknowledge,) = cli.json("tasks", "list", "--case", case, "--role", "gate_worker")
    assert set(acknowledge) >= TASK_KEYS
    assert acknowledge["step"] == "acknowledge" and acknowledge["schema"] is None
    assert acknowledge["due"] is None
    after_first = cli.json("tasks", "complete", acknowledge["id"], "--data", "{}", "--as", "bob")
    assert set(after_first) == {"case", "status", "tasks"}
    assert after_first["status"] == "active"
    (follow_up,) = after_first["tasks"]
    assert set(follow_up) >= TASK_KEYS
    assert (follow_up["step"], follow_up["role"]) == ("follow_up", "caseworker")
    done = cli.json("tasks", "complete", follow_up["id"], "--data", "{}")
    assert done == {"case": started["id"], "status": "completed", "tasks": []}

    # family_intake is not published yet, so the referral thrown at the end is kept.
    shown, history, undelivered = cli.many(["cases", "show", case], ["events", case],
                                           ["messages", "deliver"])
    shown_case = shown.ok()
    assert shown_case["status"] == "completed" and shown_case["tasks"] == []
    assert {k: shown_case["data"][k] for k in submitted} == submitted
    events = history.ok()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(set(e) == EVENT_KEYS for e in events)
    assert events[0]["type"] == "case_started" and events[-1]["type"] == "case_completed"
    done_events = [e for e in events if e["type"] == "task_completed"]
    assert [(e["step"], e["actor"]) for e in done_events] == [
        ("assess", "alice"), ("acknowledge", "bob"), ("follow_up", None)]
    assert done_events[0]["data"]["data"] == submitted
    assert done_events[0]["data"]["task"] == assess["id"]
    assert "timer_fired" in [e["type"] for e in events]
    assert _sole(events, type="message_sent")["data"]["name"] == "family_referral"
    assert undelivered.ok() == {"delivered": 0}

    cli.json("publish", str(DATA / "family_intake.bpmn"))
    assert cli.json("messages", "deliver") == {"delivered": 1}
    # --json after the subcommand works as well as before it.
    listed = cli.run_argv(cli.argv(["cases", "list", "--pathway", "family_intake", "--json"]))
    (family,) = listed.ok()
    assert family["client"] == client_id and family["status"] == "active"
    assert family["data"]["referral"] == {"risk": "low", "client": client_id}


# -- timers in the worker, script errors -----------------------------------------------------


def test_worker_fires_timers_that_are_due(cli: Cli, tmp_path: Path) -> None:
    definition = tmp_path / "tick.bpmn"
    definition.write_text(TIMER_BPMN, encoding="utf-8")
    published, added = cli.many(["publish", str(definition)], ["clients", "add", "--name", "Ben"])
    assert published.ok()["pathway"] == "tick"
    client = str(added.ok()["id"])
    first, second = (outcome.ok() for outcome in cli.many(
        ["cases", "start", "tick", "--client", client],
        ["cases", "start", "tick", "--client", client]))
    assert first["status"] == second["status"] == "active"
    assert first["tasks"] == second["tasks"] == []

    # Both one-second timers are due (in real time) before the worker's round.
    latest = max(_utc(first["created_at"]), _utc(second["created_at"]))
    time.sleep(max(0.0, (latest + timedelta(seconds=1.5) - datetime.now(UTC)).total_seconds()))
    rounds = cli.run("worker", "--rounds", "1", "--interval", "0")
    assert rounds.returncode == 0, rounds.stderr
    assert [json.loads(line) for line in rounds.stdout.splitlines()] == [
        {"round": 1, "fired": 2, "delivered": 0, "moved": 0}]

    shown, cancelled = cli.many(["cases", "show", str(first["id"])],
                                ["cases", "cancel", str(second["id"])])
    assert shown.ok()["status"] == "active"
    assert [t["step"] for t in shown.ok()["tasks"]] == ["after"]
    assert cancelled.ok()["status"] == "cancelled" and cancelled.ok()["tasks"] == []


def test_script_error_then_retry_on_a_fixed_version(cli: Cli, tmp_path: Path) -> None:
    template = (DATA / "scripted.bpmn").read_text(encoding="utf-8")
    broken, fixed = tmp_path / "broken" / "scripted.bpmn", tmp_path / "fixed" / "scripted.bpmn"
    for path, script in ((broken, "x = 1 / 0"), (fixed, "x = 1")):
        path.parent.mkdir()
        path.write_text(template.replace("SCRIPT", script), encoding="utf-8")
    published, added = cli.many(["publish", str(broken)], ["clients", "add", "--name", "Cat"])
    assert published.ok()["version"] == 1

    # Version 1 fails in its script; meanwhile the fix is published as version 2.
    failed, fix = cli.many(
        ["cases", "start", "scripted", "--version", "1", "--client", str(added.ok()["id"])],
        ["publish", str(fixed), "--note", "no more dividing by zero"])
    case = failed.ok()
    assert case["status"] == "error" and case["version"] == 1 and case["tasks"] == []
    assert case["error"]["step"] == "compute"
    assert "ZeroDivisionError" in case["error"]["message"]
    assert fix.ok()["version"] == 2 and fix.ok()["changed"] is True

    retried = cli.json("cases", "retry", str(case["id"]), "--version", "2")
    assert retried["status"] == "active" and retried["version"] == 2
    assert retried["error"] is None and retried["data"]["x"] == 1
    assert [t["step"] for t in retried["tasks"]] == ["review"]


# -- errors and --json ---------------------------------------------------------------------


def test_unknown_ids_and_bad_arguments(cli: Cli) -> None:
    case, text, task, bad_field = cli.run_many([
        cli.argv(["--json", "cases", "show", "999"]),
        cli.argv(["cases", "show", "999"]),
        cli.argv(["tasks", "complete", "no-such-id", "--data", "{}", "--json"]),
        cli.argv(["--json", "clients", "add", "--name", "Dee", "--field", "no-equals-sign"]),
    ])
    assert case.error("not_found")["details"] == {"case": 999}
    # Without --json the error goes to stderr as text.
    assert text.returncode != 0 and text.stdout == ""
    assert "no case 999" in text.stderr
    assert task.error("not_found")["details"] == {"task": "no-such-id"}
    assert "no-equals-sign" in bad_field.error("invalid_argument")["message"]


def test_database_errors_are_reported_as_json(tmp_path: Path,
                                              base_env: dict[str, str]) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'pathways.sqlite'}"
    for url in (unreachable, "postgresql+psycopg://nobody@127.0.0.1:1/none", "notadb://x"):
        outcome = Cli(tmp_path, url, base_env).run("cases", "list")
        assert outcome.returncode != 0
        error = json.loads(outcome.stdout)["error"]
        assert set(error) == ERROR_KEYS and error["code"] == "database_error"
        assert "Traceback" not in outcome.stderr


# -- the web app ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_health(cli: Cli, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/health"
    log_path = tmp_path / "serve.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = cli.spawn(cli.argv(["serve", "--port", str(port)]),
                            env={"PATHWAYS_SECRET_KEY_FILE": str(tmp_path / "secret-key")},
                            stdout=subprocess.DEVNULL, stderr=log)
        try:
            # How long a loaded 2-core CI machine may take to import and start the server:
            # a wait for readiness, not a measure of speed (that is bench/'s).
            deadline = time.monotonic() + 120
            body: dict[str, Any] | None = None
            while body is None:
                assert process.poll() is None, log_path.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, log_path.read_text(encoding="utf-8")
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        assert response.status == 200
                        assert response.headers.get_content_type() == "application/json"
                        body = json.loads(response.read())
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    # TimeoutError: gunicorn listens before its workers have booted, so a
                    # request may be accepted and not answered yet (as tests/e2e/test_serve)
                    time.sleep(0.2)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
