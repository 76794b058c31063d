"""Read BPMN fixtures from tests/data as publishable bundles (BPMN plus the forms it names)."""

from __future__ import annotations

from pathlib import Path

from engine import Engine
from engine.model import Client
from engine.workflow.definitions import referenced_files

DATA = Path(__file__).parent / "data"


def bundle(name: str, script: str | None = None) -> tuple[dict[str, str], str]:
    """tests/data/<name>.bpmn and its forms; `script` replaces the placeholder SCRIPT."""
    main = f"{name}.bpmn"
    text = (DATA / main).read_text()
    if script is not None:
        text = text.replace("SCRIPT", script)
    files = {main: text}
    for ref in referenced_files(text, main):
        files[ref] = (DATA / ref).read_text()
    return files, main


def edited_bundle(name: str, old: str, new: str) -> tuple[dict[str, str], str]:
    """bundle(name) with the text `old` of its BPMN (which must be there) replaced by `new`."""
    files, main = bundle(name)
    assert old in files[main], old
    files[main] = files[main].replace(old, new)
    return files, main


def intake_sent_its_referral(engine: Engine, client_name: str) -> tuple[Client, int]:
    """A case of the intake pathway (published already) for a new client, done to its end
    with high risk and housing needed, so that it sends the family_referral message: the
    client and the case."""
    client = engine.add_client(client_name)
    case = engine.start_case("intake", client.id or 0)
    case_id = case.case.id or 0
    engine.complete_task(case.tasks[0].task.id, {"risk": "high", "needs_housing": True})
    for _ in range(2):
        for view in engine.get_case(case_id).tasks:
            engine.complete_task(view.task.id, {})
    return client, case_id
