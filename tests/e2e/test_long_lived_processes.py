"""A process that serves for hours sets Python's garbage collector for it (adapters.collector):
what it loaded at start is left out of full collections, and the young generation is collected
after 10,000 new objects rather than 700. With the defaults, collections took 0.15 to 0.3 s of
a 0.86 s cold dashboard page at 100,000 clients. Checked in a process of its own: the test
process's collector is left as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from adapters.collector import YOUNG_GENERATION_THRESHOLD

SERVED = """
import gc, json
from adapters.cli.serve import long_lived_app
from adapters.settings import Settings
before = [gc.get_threshold()[0], gc.get_freeze_count()]
app = long_lived_app(Settings.from_env({url!r}), {{"TESTING": True}})
assert app.test_client().get("/healthz").status_code == 200
print(json.dumps([before, [gc.get_threshold()[0], gc.get_freeze_count()]]))
"""

WORKED = """
import gc, json, sys
from adapters.cli import cli
before = [gc.get_threshold()[0], gc.get_freeze_count()]
try:
    cli.main(["--db", {url!r}, "--json", "worker", "--rounds", "1", "--interval", "0"])
except SystemExit as stop:
    assert not stop.code, stop.code
print(json.dumps([before, [gc.get_threshold()[0], gc.get_freeze_count()]]))
"""

LISTED = WORKED.replace('"--json", "worker", "--rounds", "1", "--interval", "0"',
                        '"definitions", "list"')


def _run(code: str, work: Path, env: dict[str, str]) -> list[list[int]]:
    done = subprocess.run([sys.executable, "-c", code], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    found: list[list[int]] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_a_served_app_leaves_what_it_loaded_out_of_collections(
        tmp_path: Path, base_env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
    (before, after) = _run(SERVED.format(url=url), tmp_path, base_env)
    assert before == [700, 0]  # Python's defaults, as every other command keeps them
    threshold, frozen = after
    assert threshold == YOUNG_GENERATION_THRESHOLD
    assert frozen > 100_000  # the modules, the app and its compiled templates


def test_the_worker_sets_its_collector_before_its_first_round(
        tmp_path: Path, base_env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    (before, after) = _run(WORKED.format(url=url), tmp_path, base_env)
    assert before == [700, 0]
    assert after[0] == YOUNG_GENERATION_THRESHOLD and after[1] > 50_000


def test_a_short_command_keeps_python_s_defaults(
        tmp_path: Path, base_env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'short.sqlite3'}"
    (before, after) = _run(LISTED.format(url=url), tmp_path, base_env)
    assert before == after == [700, 0]
