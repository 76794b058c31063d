"""The CLI and the worker with PATHWAYS_LOG_FORMAT=json: every stderr line one JSON object
with the documented keys, stdout unchanged; a format or level it does not know is refused.
And /metrics adding up several processes' counts in prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR), as under gunicorn."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_cli import TIMER_BPMN, Cli

KEYS = {"time", "level", "logger", "message", "request_id", "user", "case"}


def json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert all(set(line) >= KEYS for line in lines), lines
    return lines


def test_the_worker_logs_json_lines(cli: Cli, tmp_path: Path) -> None:
    tick = tmp_path / "tick.bpmn"
    tick.write_text(TIMER_BPMN, encoding="utf-8")
    cli.json("publish", str(tick))
    client = str(cli.json("clients", "add", "--name", "Eve")["id"])
    case = cli.json("cases", "start", "tick", "--client", client)["id"]
    time.sleep(1.2)  # its one-second timer falls due
    env = {"PATHWAYS_LOG_FORMAT": "json", "PATHWAYS_LOG_LEVEL": "debug"}
    ran = cli.run_argv(cli.argv(["--json", "worker", "--rounds", "1", "--interval", "0"]),
                       env=env)
    assert ran.ok()["fired"] == 1  # stdout: the round, as before
    steps = [line for line in json_lines(ran.stderr) if line["logger"] == "pathways.metrics"]
    assert [(s["message"], s["case"], s["outcome"]) for s in steps] == [("step ok", case, "ok")]
    assert steps[0]["duration_ms"] > 0 and steps[0]["level"] == "debug"
    assert "Eve" not in ran.stderr


def test_an_unknown_log_format_or_level_is_refused(cli: Cli) -> None:
    for variable, wrong in (("PATHWAYS_LOG_FORMAT", "xml"), ("PATHWAYS_LOG_LEVEL", "loud")):
        ran = cli.run_argv(cli.argv(["--json", "clients", "list"]), env={variable: wrong})
        error = ran.error("invalid_argument")
        assert variable in error["message"] and repr(wrong) in error["message"]
    missing = str(cli.cwd / "no-such-folder")
    ran = cli.run_argv(cli.argv(["--json", "clients", "list"]),
                       env={"PROMETHEUS_MULTIPROC_DIR": missing})
    assert "PROMETHEUS_MULTIPROC_DIR" in ran.error("invalid_argument")["message"]
    plain = cli.run_argv(cli.argv(["--json", "clients", "list"]),
                         env={"PATHWAYS_LOG_FORMAT": "text"})
    assert plain.ok() == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_worker_serves_its_counts_when_asked(cli: Cli) -> None:
    port = free_port()
    worker = cli.spawn(cli.argv(["--json", "worker", "--rounds", "600", "--interval", "0.2"]),
                       env={"PATHWAYS_WORKER_METRICS_PORT": str(port)},
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        key = ("pathways_commands_total", (("kind", "fire_due_timers"), ("outcome", "ok")))
        deadline = time.monotonic() + 120  # a loaded machine starts a CLI slowly
        while time.monotonic() < deadline and worker.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                            timeout=5) as answer:
                    scraped = answer.read().decode()
            except OSError:  # not listening yet
                time.sleep(0.25)
                continue
            samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                       for family in text_string_to_metric_families(scraped)
                       for s in family.samples}
            if samples.get(key, 0) >= 1:
                break
            time.sleep(0.25)
    finally:
        worker.terminate()
        out, err = worker.communicate(timeout=60)
    assert samples.get(key, 0) >= 1, (out, err)


COUNT = """
import sys
from adapters.metrics import EngineMetrics
EngineMetrics().command_done("complete_task", "ok", 0.004)
EngineMetrics().step_done(None, "ok", 0.003)
"""

SCRAPE = """
import sys
from adapters.bootstrap import bootstrap
from adapters.metrics import exposition
from adapters.settings import Settings
engine = bootstrap(Settings(database_url=sys.argv[1])).engine
sys.stdout.write(exposition(engine.due_timers, engine.clock.now).decode())
"""


def test_metrics_add_up_every_process(tmp_path: Path, migrated_database_url: str) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for _ in range(3):  # three processes (gunicorn workers, say) count one command each
        subprocess.run([sys.executable, "-c", COUNT], env=env, check=True, timeout=60)
    scraped = subprocess.run([sys.executable, "-c", SCRAPE, migrated_database_url], env=env,
                             check=True, timeout=60, capture_output=True, text=True).stdout
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scraped) for s in family.samples}
    assert samples[("pathways_commands_total",
                    (("kind", "complete_task"), ("outcome", "ok")))] == 3
    assert samples[("pathways_step_seconds_count", (("outcome", "ok"),))] == 3
    assert samples[("pathways_backlog_up", ())] == 1
