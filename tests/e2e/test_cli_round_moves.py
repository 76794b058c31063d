"""`pathways migrate` from the CLI with a case in the middle of a round of a repeat (issue 15):
the case waits, moves by itself when its next round starts, and `migrate show --json` says so
with keys added to each case's result (the earlier ones unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import Cli
from tests.e2e.test_cli_versions import RESULT_KEYS, open_task, write
from tests.integration.test_round_moves import V2
from tests.unit.engine.test_migration_compat import LOOP, ROUND

SHOW_KEYS = {"case", "ok", "reason", "from_step", "to_step", "reverted_by", "waits_for_round",
             "waiting", "moved_at", "moved_at_round"}


def test_a_case_mid_round_waits_then_moves_by_itself(cli: Cli, tmp_path: Path) -> None:
    cli.json("publish", str(write(tmp_path, "referral.yaml", LOOP)))
    client = cli.json("clients", "add", "--name", "Sam")["id"]
    case_id = cli.json("cases", "start", "referral", "--client", str(client))["id"]
    cli.json("tasks", "complete", open_task(cli, case_id)["id"], "--data", json.dumps(ROUND))
    cli.json("publish", str(write(tmp_path, "referral.yaml", V2)))

    report = cli.json("migrate", "referral", "--from", "1", "--to", "2")
    assert set(report["cases"][0]) == RESULT_KEYS
    assert (report["moved"], report["refused"]) == (0, 1)
    assert report["cases"][0]["reason"].endswith(
        "it can move once it starts its next round of 'rounds', and will move by itself then")
    shown = cli.json("migrate", "show", str(report["migration"]))
    [waiting] = shown["cases"]
    assert set(waiting) == SHOW_KEYS
    assert (waiting["ok"], waiting["waiting"], waiting["waits_for_round"],
            waiting["moved_at"], waiting["moved_at_round"]) == (False, True, "rounds", None, None)
    assert cli.json("timers", "run")["moved"] == 0  # not at its round's boundary yet

    cli.json("tasks", "complete", open_task(cli, case_id)["id"], "--data", "{}")
    assert cli.json("cases", "show", str(case_id))["version"] == 2
    [moved] = cli.json("migrate", "show", str(report["migration"]))["cases"]
    assert (moved["ok"], moved["reason"], moved["waiting"], moved["waits_for_round"],
            moved["moved_at_round"]) == (True, None, False, "rounds", 2)
    assert moved["moved_at"] is not None
    text = cli.run_argv(cli.argv(["migrate", "show", str(report["migration"])]))
    assert f"case {case_id}: moved at the start of round 2 (check_in -> check_in)" in \
        text.stdout
