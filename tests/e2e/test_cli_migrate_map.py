"""`pathways migrate ... --map old=new` (issue 15): a step renamed in the new version takes
the cases at it; the --json report keeps its shape; a bad map says what is wrong."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import Cli
from tests.e2e.test_cli_versions import RESULT_KEYS, V1, open_task, write

V2_RENAMED = V1.replace("task: assess", "task: assessment")


def test_migrate_maps_a_renamed_step(cli: Cli, tmp_path: Path) -> None:
    cli.json("publish", str(write(tmp_path, "referral.yaml", V1)))
    client = cli.json("clients", "add", "--name", "Sam")["id"]
    case_id = cli.json("cases", "start", "referral", "--client", str(client))["id"]
    cli.json("tasks", "complete", open_task(cli, case_id)["id"], "--data", '{"urgent": true}')
    cli.json("publish", str(write(tmp_path, "referral.yaml", V2_RENAMED)))
    unmapped = cli.json("migrate", "referral", "--from", "1", "--to", "2", "--dry-run")
    assert unmapped["cases"][0]["reason"] == "its current step 'assess' is removed in version 2"

    report = cli.json("migrate", "referral", "--from", "1", "--to", "2",
                      "--map", "assess=assessment", "--as", "designer")
    assert (report["moved"], report["refused"]) == (1, 0)
    assert set(report["cases"][0]) == RESULT_KEYS
    assert (report["cases"][0]["from_step"], report["cases"][0]["to_step"]) == (
        "assess", "assessment")
    assert open_task(cli, case_id)["step"] == "assessment"
    shown = cli.json("migrate", "show", str(report["migration"]))
    assert shown["filter"]["renames"] == {"assess": "assessment"}


def test_a_bad_map_says_what_is_wrong(cli: Cli, tmp_path: Path) -> None:
    cli.json("publish", str(write(tmp_path, "referral.yaml", V1)))
    cli.json("publish", str(write(tmp_path, "referral.yaml", V2_RENAMED)))
    outcomes = cli.many(
        ["migrate", "referral", "--from", "1", "--to", "2", "--map", "assess"],
        ["migrate", "referral", "--from", "1", "--to", "2", "--map", "assess=x"],
        ["migrate", "referral", "--from", "1", "--to", "2", "--map", "nope=assessment"],
        ["migrate", "referral", "--from", "1", "--to", "2", "--map", "assess=assessment",
         "--map", "assess=close"],
    )
    messages = [o.error("invalid_argument")["message"] for o in outcomes]
    assert "--map 'assess': expected OLD_STEP=NEW_STEP" in messages[0]
    assert "version 2 has no step 'x'" in messages[1]
    assert "version 1 has no step 'nope'" in messages[2]
    assert "--map 'assess=close': step 'assess' is already mapped" in messages[3]
    assert cli.json("migrate", "list") == []
