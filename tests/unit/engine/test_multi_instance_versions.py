"""A multi-instance activity's behaviour (engine/workflow/multi_instance.py) in `versions
diff`: a change to what it throws, or when, is a change of the activity."""

from __future__ import annotations

import pytest

from engine import Engine
from tests.conformance.bpmn import MAIN_FILE
from tests.conformance.test_multi_instance_behavior import with_event_subprocess
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


@pytest.fixture
def engine() -> Engine:
    return Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())


@pytest.mark.parametrize("second", [
    ("One", ' oneBehaviorEventRef="throw_done"'),   # thrown once, not for each instance
    ("All", ""),                                    # not thrown at all
])
def test_diff_reports_a_changed_behaviour(engine: Engine, second: tuple[str, str]) -> None:
    engine.publish(with_event_subprocess(False, "None", ' noneBehaviorEventRef="throw_done"'),
                   MAIN_FILE)
    engine.publish(with_event_subprocess(False, *second), MAIN_FILE)
    changed = {c.step: c for c in engine.diff("conformance", 1, 2).changed}
    assert "review" in changed
    assert changed["review"].behaviour_changed


def test_diff_reports_nothing_for_the_same_behaviour(engine: Engine) -> None:
    """Two versions differing only in the script `heard`: `review` is unchanged."""
    files = with_event_subprocess(True, "None", ' noneBehaviorEventRef="throw_done"')
    engine.publish(files, MAIN_FILE)
    engine.publish({name: text.replace("<bpmn:script>pass<", "<bpmn:script>x = 1<")
                    for name, text in files.items()}, MAIN_FILE)
    assert [c.step for c in engine.diff("conformance", 1, 2).changed] == ["heard"]
