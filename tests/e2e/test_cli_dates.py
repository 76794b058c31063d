"""Dates through the real `pathways` CLI: `timers run --now` moves `today()` and working days
with it, so a designer can simulate date conditions months ahead (issue 15, dates)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.test_cli import Cli

SETTLING_IN = """pathway: settling_in
title: Settling in
roles:
  worker: {title: Worker}
steps:
  - task: offer
    role: worker
    title: Offer
    form:
      move_in_date: {type: date, required: true}
  - wait: settle_in
    until: move_in_date + P1M
  - decide: check
    branches:
      - when: today() >= '2030-01-01'
        steps:
          - task: new_year_visit
            role: worker
            title: New year visit
            due: working_days(3)
    otherwise:
      - task: visit
        role: worker
        title: Visit
"""


def test_timers_run_now_sets_today_for_conditions_and_working_days(
        cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "settling_in.yaml"
    source.write_text(SETTLING_IN, encoding="utf-8")
    published, added = cli.many(["publish", str(source)], ["clients", "add", "--name", "Dee"])
    assert published.ok()["pathway"] == "settling_in"
    case = cli.json("cases", "start", "settling_in", "--client", str(added.ok()["id"]))
    [offer] = case["tasks"]
    cli.json("tasks", "complete", offer["id"], "--data", '{"move_in_date": "2029-11-30"}')

    # a month after 30 November is 30 December
    assert cli.json("timers", "run", "--now", "2029-12-29T23:00:00+00:00") == {
        "fired": 0, "moved": 0}
    assert cli.json("timers", "run", "--now", "2030-01-02T09:00:00+00:00") == {
        "fired": 1, "moved": 0}
    [task] = cli.json("cases", "show", str(case["id"]))["tasks"]
    assert task["step"] == "new_year_visit"  # today() was 2 January 2030, not the machine's
    # 3 working days after Wednesday 2 January 2030: Thu 3, Fri 4, Mon 7
    due = datetime.fromisoformat(task["due"].replace("Z", "+00:00"))
    assert due == datetime(2030, 1, 7, tzinfo=UTC)
