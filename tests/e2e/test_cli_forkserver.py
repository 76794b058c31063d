"""The fork server the end-to-end tests run the CLI through (tests/cli_forkserver.py) answers
as a new `python -m adapters.cli` process does: same exit codes, output and errors, and each
call sees only its own environment and working directory."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import cli_forkserver
from tests.e2e.test_cli import CALL_TIMEOUT, Cli


def test_a_forked_call_answers_as_a_new_process(cli: Cli) -> None:
    calls = [
        cli.argv(["--json", "definitions", "list"]),
        cli.argv(["--json", "cases", "show", "no-such-case"]),
        cli.argv(["--json", "cases", "list", "--status", "not-a-status"]),
        ["--json", "no-such-command"],
        ["--help"],
    ]
    forked = cli.run_forked(calls)
    spawned = cli.run_in_new_processes(calls)
    for by_fork, by_process in zip(forked, spawned, strict=True):
        assert (by_fork.returncode, by_fork.stdout, by_fork.stderr) == (
            by_process.returncode, by_process.stdout, by_process.stderr), by_fork.argv
    assert [outcome.returncode for outcome in forked] == [0, 2, 2, 2, 0]


def test_each_call_has_its_own_environment_and_folder(cli: Cli, tmp_path: Path) -> None:
    """The database a call names in PATHWAYS_DATABASE_URL, or leaves to the default file in
    its working directory, is not seen by the calls after it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    named = cli.run_forked([["--json", "definitions", "list"]],
                           env={"PATHWAYS_DATABASE_URL": f"sqlite:///{elsewhere}/named.db"})
    assert named[0].returncode == 0, named[0].stderr
    assert (elsewhere / "named.db").exists()
    default = cli.run_forked([["--json", "definitions", "list"]])
    assert default[0].returncode == 0, default[0].stderr
    assert (cli.cwd / "pathways.sqlite").exists()
    assert "PATHWAYS_DATABASE_URL" not in os.environ


def test_a_call_that_overruns_is_killed(cli: Cli) -> None:
    server = cli_forkserver.shared(cli.base_env)
    call = server.start(["worker", "--rounds", "1000", "--interval", "1"], cli.cwd,
                        cli.environment())
    with pytest.raises(subprocess.TimeoutExpired):
        call.wait(0.5)
    deadline = time.monotonic() + CALL_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(call.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(call.pid, signal.SIGKILL)
        pytest.fail("the overrunning call was not killed")


def test_a_forked_call_reads_its_standard_input_as_a_new_process(cli: Cli) -> None:
    """A password on stdin (`--password-stdin`): too short, so refused the same way and
    nothing is stored; then a good one is read and the user added."""
    cli.run_forked([cli.argv(["--json", "orgs", "add", "st_giles", "--name", "St Giles"])])[
        0].ok()
    short = cli.argv(["--json", "users", "add", "amy", "--password-stdin", "--name", "Amy",
                      "--org", "st_giles", "--role", "caseworker"])
    forked = cli.run_forked([short], stdin="short\n")[0]
    spawned = cli.run_in_new_processes([short], stdin="short\n")[0]
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        spawned.returncode, spawned.stdout, spawned.stderr)
    assert forked.returncode != 0
    added = cli.run_forked([short], stdin="a long enough password\n")[0].ok()
    assert added["username"] == "amy"
