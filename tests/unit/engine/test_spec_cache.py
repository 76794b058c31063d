"""A bundle is parsed, and checked for publishing, once per process by its content, whichever
runtime asks (engine.workflow.spec_cache): every test built an Application that published
the shipped pathways, parsed each again and checked each form's JSON Schema again, which was
two fifths of a web test's time. What may not change: a refused bundle is refused every time
with its full message, and other content (another file, another main file) is its own parse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from engine import Engine
from engine.errors import DefinitionError
from engine.workflow import spec_cache, validation
from tests.bundles import bundle, edited_bundle
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """How often the parser and the checks before publishing ran, from a process that has
    parsed nothing."""
    counted = {"parse": 0, "check": 0}

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return real(*args, **kwargs)
        return run

    spec_cache.forget_parses()
    monkeypatch.setattr(spec_cache, "parse_bundle", counting("parse", spec_cache.parse_bundle))
    monkeypatch.setattr(validation, "check_bundle", counting("check", validation.check_bundle))
    yield counted
    spec_cache.forget_parses()


def _fresh_engine() -> Engine:
    return Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())


def test_two_runtimes_publish_and_run_one_bundle_parsed_once(calls: dict[str, int]) -> None:
    files, main = bundle("intake")
    for _ in range(2):
        engine = _fresh_engine()
        assert engine.publish(files, main).changed
        client = engine.add_client("Ann", {"release_date": "2026-02-01"})
        view = engine.start_case("intake", client.id or 0)
        assert view.tasks, "the case runs on the shared spec"
    assert calls == {"parse": 1, "check": 1}


def test_a_refused_bundle_is_refused_every_time_in_full(calls: dict[str, int]) -> None:
    files, main = bundle("intake")
    del files["intake.assess.schema.json"]
    messages = []
    for _ in range(2):
        with pytest.raises(DefinitionError) as caught:
            _fresh_engine().publish(files, main)
        messages.append((str(caught.value), caught.value.file, caught.value.line))
    assert messages[0] == messages[1] and "intake.assess.schema.json" in messages[0][0]
    assert calls["check"] == 2


def test_other_content_is_parsed_on_its_own(calls: dict[str, int]) -> None:
    files, main = bundle("intake")
    edited, _ = edited_bundle("intake", "</bpmn:definitions>",
                              "<!-- edited --></bpmn:definitions>")
    engine = _fresh_engine()
    engine.publish(files, main)
    engine.publish(edited, main)
    assert calls == {"parse": 2, "check": 2}
    assert spec_cache.parsed_once(files, main) is not spec_cache.parsed_once(edited, main)
    renamed = {"other.bpmn" if name == main else name: text for name, text in files.items()}
    assert spec_cache.parsed_once(renamed, "other.bpmn").main_file == "other.bpmn"
    assert calls["parse"] == 3


def test_the_process_keeps_a_bounded_number_of_parses() -> None:
    kept: spec_cache.Lru[int] = spec_cache.Lru(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "a" is now the most recently used
    kept.put("c", 3)
    assert kept.get("b") is None and kept.get("a") == 1 and kept.get("c") == 3
