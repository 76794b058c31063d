"""A `notify` step reaches people through the notifier PATHWAYS_NOTIFIER names, via the real CLI.

`null` (the default) sends nothing; `log` writes one line per notification, on stderr when
nothing else configured logging, so stdout stays the command's JSON; an unknown name is
refused with the choices."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import Cli
from tests.pathway_texts import HANDOVER

NOTICE = "pathways.notifications notify manager about case {case} (step tell_manager): " \
         "Client housed, please review"


def test_a_notify_step_reaches_the_log_notifier_and_not_the_default(cli: Cli) -> None:
    source = Path(cli.cwd) / "handover.yaml"
    source.write_text(HANDOVER)
    assert cli.json("publish", str(source))["version"] == 1
    client = str(cli.json("clients", "add", "--name", "Sam Smith")["id"])
    first, second = (o.ok() for o in cli.many(["cases", "start", "handover", "--client", client],
                                               ["cases", "start", "handover", "--client", client]))
    complete = ["--json", "tasks", "complete", "{task}", "--data", "{{}}", "--as", "amy"]

    def completing(case: dict[str, object]) -> list[str]:
        tasks = case["tasks"]
        assert isinstance(tasks, list) and len(tasks) == 1
        return cli.argv([part.format(task=tasks[0]["id"]) for part in complete])

    logged = cli.run_argv(completing(first), env={"PATHWAYS_NOTIFIER": "log"})
    assert logged.ok()["tasks"][0]["step"] == "review"  # stdout is still the JSON alone
    assert NOTICE.format(case=first["id"]) in logged.stderr
    assert logged.stderr.count("notify manager") == 1

    silent = cli.run_argv(completing(second))
    assert silent.ok()["tasks"][0]["step"] == "review"
    assert "notify" not in silent.stderr
    events = cli.json("events", str(second["id"]))
    assert [e["data"] for e in events if e["type"] == "notification_requested"] == [
        {"to": "manager", "message": "Client housed, please review"}]


def test_an_unknown_notifier_is_refused_with_the_choices(cli: Cli) -> None:
    refused = cli.run_argv(cli.argv(["--json", "clients", "list"]),
                           env={"PATHWAYS_NOTIFIER": "email"})
    error = refused.error("invalid_argument")
    assert "PATHWAYS_NOTIFIER='email'" in error["message"]
    assert "log, null, smtp" in error["message"]
    assert "Traceback" not in refused.stderr


def test_smtp_without_its_server_is_refused_at_start_naming_the_setting(cli: Cli) -> None:
    refused = cli.run_argv(cli.argv(["--json", "clients", "list"]),
                           env={"PATHWAYS_NOTIFIER": "smtp", "PATHWAYS_SMTP_HOST": ""})
    error = refused.error("invalid_argument")
    assert error["message"].startswith("PATHWAYS_SMTP_HOST='' is required when "
                                       "PATHWAYS_NOTIFIER=smtp")
    assert "Traceback" not in refused.stderr


REMINDED = """\
pathway: reminded
title: Reminded visit
roles:
  worker: {title: Worker}
steps:
  - task: visit
    role: worker
    title: Home visit
    due: P7D
    remind: {before: P2D, to: worker, message: "Visit {client.name} (case {case}) by {due}"}
"""


def test_a_reminder_fires_on_timers_run_now_and_reaches_the_log(cli: Cli) -> None:
    source = Path(cli.cwd) / "reminded.yaml"
    source.write_text(REMINDED)
    assert cli.json("publish", str(source))["version"] == 1
    client = str(cli.json("clients", "add", "--name", "Sam Smith")["id"])
    case = cli.json("cases", "start", "reminded", "--client", client)
    due = datetime.fromisoformat(str(case["tasks"][0]["due"]))

    def run_at(when: datetime) -> Any:
        return cli.run_argv(cli.argv(["--json", "timers", "run", "--now", when.isoformat()]),
                            env={"PATHWAYS_NOTIFIER": "log"})

    early = run_at(due - timedelta(days=2, minutes=1))
    assert early.ok() == {"fired": 0, "moved": 0} and "notify" not in early.stderr
    reminded = run_at(due - timedelta(days=2))
    assert reminded.ok() == {"fired": 1, "moved": 0}
    assert (f"notify worker about case {case['id']} (step visit_reminder): Visit Sam Smith "
            f"(case {case['id']}) by {due.date().isoformat()}") in reminded.stderr
    # the task is still open: the reminder does not interrupt it
    assert [t["step"] for t in cli.json("cases", "show", str(case["id"]))["tasks"]] == ["visit"]
