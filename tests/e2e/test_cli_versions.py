"""A designer changes a running service from the CLI: publish v2, compare, allocate, preview,
migrate, revert, and find every step on the event log (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.test_cli import (
    Cli,
    _sole,
)
from tests.pathway_texts import URGENT_REFERRAL

V1 = URGENT_REFERRAL + """\
  - task: assess
    role: worker
    title: Assess
  - task: close
    role: worker
    title: Close
"""
V2 = V1.replace("  - task: close\n", """  - task: screen
    role: worker
    title: Mental health screening
    form:
      concern: {type: boolean, required: true, title: Concern}
  - task: close
""")

VERSION_KEYS = {"pathway", "version", "hash", "note", "author", "published_at", "cases"}
RESULT_KEYS = {"case", "ok", "reason", "from_step", "to_step"}
POLICY_KEYS = {"pathway", "policy", "version", "weights", "seed", "set_at", "set_by"}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def open_task(cli: Cli, case_id: int) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = cli.json("tasks", "list", "--case", str(case_id))
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_publish_compare_allocate_migrate_and_revert(cli: Cli, tmp_path: Path) -> None:
    v1_file = write(tmp_path, "referral.yaml", V1)
    published = cli.json("publish", str(v1_file), "--note", "launch", "--author", "ann")
    assert published["version"] == 1
    client = cli.json("clients", "add", "--name", "Sam")["id"]
    at_intake, at_assess, at_close = (
        cli.json("cases", "start", "referral", "--client", str(client))["id"] for _ in range(3))
    cli.json("tasks", "complete", open_task(cli, at_assess)["id"], "--data", '{"urgent": true}')
    cli.json("tasks", "complete", open_task(cli, at_close)["id"], "--data", '{"urgent": false}')
    cli.json("tasks", "complete", open_task(cli, at_close)["id"])

    v2_file = write(tmp_path, "referral.yaml", V2)
    assert cli.json("publish", str(v2_file), "--note", "adds screening")["version"] == 2

    # versions list (the documented JSON shape, with notes and cases per version) and diff,
    # each as JSON and as text
    listed_out, list_text, diff_out, diff_text = cli.run_many([
        cli.argv(["--json", "versions", "list", "referral"]),
        cli.argv(["versions", "list", "referral"]),
        cli.argv(["--json", "versions", "diff", "referral", "1", "2"]),
        cli.argv(["versions", "diff", "referral", "1", "2"])])
    listed = listed_out.ok()
    assert all(set(v) >= VERSION_KEYS for v in listed)
    assert [(v["version"], v["note"], v["author"], v["cases"]) for v in listed] == [
        (1, "launch", "ann", 3), (2, "adds screening", "", 0)]
    text = list_text.stdout
    assert "v1" in text and "launch" in text and "3 case(s)" in text
    diff = diff_out.ok()
    assert [s["step"] for s in diff["added"]] == ["screen"]
    assert diff["removed"] == []
    assess = _sole(diff["changed"], step="assess")
    assert assess["kinds"] == ["order"]
    assert assess["changes"]["order"] == {"from": ["close"], "to": ["screen"]}
    text = diff_text.stdout
    assert "+ screen  Mental health screening" in text
    assert "what comes next: [\"close\"] -> [\"screen\"]" in text

    # allocation: a seeded split, shown back, recorded on each new case
    policy = cli.json("allocate", "referral", "--split", "1=50,2=50", "--seed", "s1",
                      "--as", "commissioner")
    assert set(policy) == POLICY_KEYS
    assert (policy["policy"], policy["weights"], policy["seed"], policy["set_by"]) == (
        "split", {"1": 50, "2": 50}, "s1", "commissioner")
    assert cli.json("allocate", "referral")["seed"] == "s1"
    split_case = cli.json("cases", "start", "referral", "--client", str(client))
    allocated = _sole(cli.json("events", str(split_case["id"])), type="version_allocated")
    assert allocated["data"]["seed"] == "s1"
    assert allocated["data"]["version"] == split_case["version"]
    pinned = cli.json("cases", "start", "referral", "--client", str(client), "--version", "1")
    assert pinned["version"] == 1
    assert cli.json("allocate", "referral", "--latest")["policy"] == "latest"
    pinned_id = pinned["id"]

    # preview: nothing changes
    preview = cli.json("migrate", "referral", "--from", "1", "--to", "2", "--dry-run")
    assert preview["migration"] is None and preview["dry_run"] is True
    assert all(set(r) == RESULT_KEYS for r in preview["cases"])
    by_case = {r["case"]: r for r in preview["cases"]}
    assert by_case[at_intake] == {"case": at_intake, "ok": True, "reason": None,
                                  "from_step": "intake", "to_step": "intake"}
    assert by_case[at_close]["ok"] is False
    assert "'assess'" in by_case[at_close]["reason"]
    assert cli.json("cases", "show", str(at_intake))["version"] == 1

    # filter by step, then the rest
    only_assess = cli.json("migrate", "referral", "--from", "1", "--to", "2",
                           "--where", "step=assess", "--as", "designer")
    assert [r["case"] for r in only_assess["cases"]] == [at_assess]
    first = only_assess["migration"]
    rest = cli.json("migrate", "--json", "referral", "--from", "1", "--to", "2")
    assert {r["case"]: r["ok"] for r in rest["cases"]} == {
        at_intake: True, at_close: False, pinned_id: True} | (
        {split_case["id"]: True} if split_case["version"] == 1 else {})
    refused = _sole(rest["cases"], case=at_close)
    assert refused["reason"] == ("step 'assess', which this case has completed, changes in "
                                 "version 2 (what comes next)")

    # every step on the event log, and in the migration records
    migrated = _sole(cli.json("events", str(at_assess)), type="case_migrated")
    assert migrated["actor"] == "designer"
    assert migrated["data"] | {"migration": first} == migrated["data"]
    assert (migrated["data"]["from_version"], migrated["data"]["to_version"]) == (1, 2)
    listed_migrations = cli.json("migrate", "list", "--pathway", "referral")
    assert [m["migration"] for m in listed_migrations] == [first, rest["migration"]]
    shown = cli.json("migrate", "show", str(rest["migration"]))
    assert _sole(shown["cases"], case=at_close)["ok"] is False

    # revert the first migration: the case is back on v1 where it was
    reverted = cli.json("migrate", "revert", str(first), "--as", "designer")
    assert reverted["reverts"] == first and reverted["migration"] not in (first, None)
    assert reverted["cases"] == [{"case": at_assess, "ok": True, "reason": None,
                                  "from_step": "assess", "to_step": "assess"}]
    assert cli.json("cases", "show", str(at_assess))["version"] == 1
    assert _sole(cli.json("events", str(at_assess)), type="migration_reverted")["data"][
        "reverts"] == first
    again = cli.error("migrate", "revert", str(first), code="invalid_state")
    assert "no moved case left" in again["message"]

    # the moved cases run to completion on v2, with the new step
    cli.json("tasks", "complete", open_task(cli, at_intake)["id"], "--data", '{"urgent": true}')
    cli.json("tasks", "complete", open_task(cli, at_intake)["id"])
    screen = open_task(cli, at_intake)
    assert (screen["step"], screen["version"]) == ("screen", 2)


def test_bad_version_commands_say_what_is_wrong(cli: Cli, tmp_path: Path) -> None:
    cli.json("publish", str(write(tmp_path, "referral.yaml", V1)))
    cli.json("publish", str(write(tmp_path, "referral.yaml", V2)))
    outcomes = cli.many(
        ["allocate", "referral", "--split", "1=50,x"],
        ["allocate", "referral", "--split", "1=50,3=50"],
        ["allocate", "referral", "--fixed", "1", "--latest"],
        ["allocate", "referral", "--seed", "s"],
        ["allocate", "nothing"],
        ["versions", "list", "nothing"],
        ["versions", "diff", "referral", "1", "9"],
        ["migrate", "referral", "--from", "1", "--to", "1"],
        ["migrate", "referral", "--from", "1", "--to", "2", "--where", "status=active"],
        ["migrate", "revert", "99"],
    )
    messages = [o.error(code)["message"] for o, code in zip(outcomes, [
        "invalid_argument", "invalid_argument", "invalid_argument", "invalid_argument",
        "not_found", "not_found", "not_found", "invalid_argument", "invalid_argument",
        "not_found"], strict=True)]
    assert "'x' is not VERSION=WEIGHT" in messages[0]
    assert "version 3 is not published" in messages[1]
    assert "give one of --latest, --fixed, --split" in messages[2]
    assert "--seed only goes with --split" in messages[3]
    assert "expected step=STEP_ID" in messages[8]
    assert cli.json("allocate", "referral")["policy"] == "latest"
