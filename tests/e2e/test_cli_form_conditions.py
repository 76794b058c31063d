"""required_when, set steps and computed fields through the real `pathways` CLI: a task
completed from the command line is checked like one completed on the web (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import Cli

OFFER = """\
pathway: tenancy_offer
title: Tenancy offer
roles:
  worker: {title: Worker}
steps:
  - task: offer
    role: worker
    title: Tenancy offer
    form:
      offer_accepted: {type: boolean, required: true}
      move_in_date: {type: date, required_when: offer_accepted}
      weekly_rent: {type: number}
      yearly_rent: {type: number, computed: weekly_rent * 52}
  - set: costs
    values:
      monthly_rent: yearly_rent / 12
"""


def test_the_cli_refuses_a_missing_answer_and_works_out_computed_values(
        cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "tenancy_offer.yaml"
    source.write_text(OFFER, encoding="utf-8")
    published, added = cli.many(["publish", str(source)], ["clients", "add", "--name", "Ola"])
    assert published.ok()["changed"] is True
    case = cli.json("cases", "start", "tenancy_offer", "--client", str(added.ok()["id"]))
    (offer,) = case["tasks"]

    refused, entered = cli.many(
        ["tasks", "complete", offer["id"], "--data",
         json.dumps({"offer_accepted": True, "weekly_rent": 120})],
        ["tasks", "complete", offer["id"], "--data",
         json.dumps({"offer_accepted": False, "weekly_rent": 120, "yearly_rent": 1})])
    assert refused.error("invalid_data")["details"]["fields"] == {
        "move_in_date": ["this field is required when offer accepted"]}
    assert entered.error("invalid_data")["details"]["fields"] == {
        "yearly_rent": ["this field is computed, not entered: leave it out of the submission"]}

    done = cli.json("tasks", "complete", offer["id"], "--data",
                    json.dumps({"offer_accepted": True, "move_in_date": "2030-02-01",
                                "weekly_rent": 120}))
    assert done["status"] == "completed"
    shown = cli.json("cases", "show", str(case["id"]))
    assert (shown["data"]["yearly_rent"], shown["data"]["monthly_rent"]) == (6240, 520)
