"""`pathways cases finish-adhoc`: the caseworker ends an ad-hoc subprocess from the command
line (BPMN 2.0.2 §10.3.5; engine.workflow.adhoc)."""

from __future__ import annotations

from pathlib import Path

from tests.conformance.bpmn import end, flows, model, process, start, user
from tests.e2e.test_cli import Cli


def test_finish_adhoc(cli: Cli, tmp_path: Path) -> None:
    files = model(process(
        start(), '<bpmn:adHocSubProcess id="pick">' + user("a") + user("b")
        + "</bpmn:adHocSubProcess>", user("after"), end(), flows("start>pick>after>end")))
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    cli.json("publish", str(tmp_path / "conformance.bpmn"))
    client = str(cli.json("clients", "add", "--name", "Ada")["id"])
    case = cli.json("cases", "start", "conformance", "--client", client)
    assert sorted(task["step"] for task in case["tasks"]) == ["a", "b"]
    finished = cli.json("cases", "finish-adhoc", str(case["id"]), "pick", "--as", "sam")
    assert [task["step"] for task in finished["tasks"]] == ["after"]
    assert cli.error("cases", "finish-adhoc", str(case["id"]), "pick",
                     code="not_found")["details"]["step"] == "pick"
    events = cli.json("events", str(case["id"]))
    (event,) = [e for e in events if e["type"] == "adhoc_finished"]
    assert (event["step"], event["actor"]) == ("pick", "sam")
