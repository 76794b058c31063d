"""A complex gateway's activationCondition (engine/workflow/complex_gateway.py) in
`versions diff`: a change to it changes what the gateway does, so the diff reports it."""

from __future__ import annotations

from engine import Engine
from tests.conformance.bpmn import MAIN_FILE, model, process
from tests.conformance.test_complex_gateway import two_of_three
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


def test_diff_reports_a_changed_activation_condition() -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    engine.publish(model(process(two_of_three("_activationCount &gt;= 2"))), MAIN_FILE)
    engine.publish(model(process(two_of_three("_activationCount &gt;= 3"))), MAIN_FILE)
    changed = {c.step: c for c in engine.diff("conformance", 1, 2).changed}
    assert list(changed) == ["join"]
    assert changed["join"].kinds == ["other"]
    assert changed["join"].behaviour_changed
