"""Timer expressions publish accepts and refuses (the corpus covers each rule end to end;
these pin the edges where a check could refuse a good definition)."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from engine.workflow.definitions import parse_bundle
from engine.workflow.validation import dry_run, timer_problem
from tests.bundles import bundle


@pytest.mark.parametrize(("kind", "text"), [
    ("timeDuration", "'P7D'"), ("timeDuration", '"PT1S"'), ("timeDuration", "'P1.5D'"),
    ("timeDuration", "'PT0S'"), ("timeDuration", "'P1Y2M4DT5H6M7S'"), ("timeDuration", "'P3W'"),
    ("timeDate", "'2026-01-01T09:00:00Z'"), ("timeDate", "'2026-01-01'"),
    ("timeCycle", "'R3/PT1H'"), ("timeCycle", "'R/P1D'"),
    # expressions of case data are evaluated when the case gets there
    ("timeDate", "release_date"), ("timeDuration", "period"), ("timeDuration", "P"),
    ("timeDate", 'expr("release_date - P7D")'),
])
def test_good_timers_are_accepted(kind: str, text: str) -> None:
    assert timer_problem(kind, text) is None


@pytest.mark.parametrize(("kind", "text", "said"), [
    ("timeDuration", "'hello'", "ISO 8601 duration"),
    ("timeDuration", "'P-5D'", "negative"),
    ("timeDuration", "'P'", "ISO 8601 duration"),
    ("timeDuration", "'PT'", "ISO 8601 duration"),
    # SpiffWorkflow cannot add weeks to other units (it raises 'Invalid duration' when due)
    ("timeDuration", "'P1W2D'", "ISO 8601 duration"),
    ("timeDuration", "'P999999999D'", "1000 years"),
    ("timeDuration", "PT1S", "not in quotes"),
    ("timeCycle", "R3/PT1H", "not in quotes"),
    ("timeDuration", "  ", "empty"),
    ("timeDuration", "7", "not text"),
    ("timeDate", "'P1D'", "ISO 8601 date"),
    ("timeDate", "'31/12/2026'", "ISO 8601 date"),
    ("timeCycle", "'P1D'", "ISO 8601 cycle"),
    ("timeCycle", "'R3/P-1D'", "ISO 8601 cycle"),
    ("timeCycle", "'R3/P99999999W'", "1000 years"),
    ("timeDate", "release_date +", "not a valid expression"),
    ("timeDate", "().__class__", "not a valid expression"),
])
def test_bad_timers_are_refused(kind: str, text: str, said: str) -> None:
    problem = timer_problem(kind, text)
    assert problem is not None and said in problem


def test_a_definition_whose_case_cannot_be_built_is_refused_by_the_dry_run() -> None:
    """The dry run turns whatever fails while building a case into a located refusal (here the
    spec has lost its start task, as a model that replaces SpiffWorkflow's internal tasks
    would), instead of a traceback at `cases start`."""
    files, main = bundle("wake")
    parsed = parse_bundle(files, main)
    dry_run(parsed)  # the intact definition builds and round-trips
    parsed.spec.start = None
    with pytest.raises(DefinitionError) as caught:
        dry_run(parsed)
    assert caught.value.file == main and caught.value.details["rule"] == "dry_run"
    assert "cannot be created" in caught.value.reason


def _housing_with(tag: str, keep_properties: bool) -> tuple[dict[str, str], str]:
    """The compiled housing pathway with its record step written as `tag`, with or without
    the Pathways properties that make it a record step."""
    import re

    import yaml

    from adapters.settings import PROJECT_ROOT
    from dsl import compile_pathway

    result = compile_pathway(yaml.safe_load(
        (PROJECT_ROOT / "definitions" / "housing_support.yaml").read_text("utf-8")))
    files = result.files()
    text = files[result.bpmn_file]
    start = text.index('<bpmn:serviceTask id="already_housed"')
    end = text.index("</bpmn:serviceTask>", start) + len("</bpmn:serviceTask>")
    element = text[start:end].replace("serviceTask", tag)
    if not keep_properties:
        element = re.sub(r"<bpmn:extensionElements>.*?</bpmn:extensionElements>", "",
                         element, flags=re.S)
    files[result.bpmn_file] = text[:start] + element + text[end:]
    return files, result.bpmn_file


@pytest.mark.parametrize("tag", ["serviceTask", "sendTask", "task"])
def test_a_record_step_runs_as_a_plain_task_whatever_it_is_drawn_as(tag: str) -> None:
    from SpiffWorkflow.spiff.specs.defaults import NoneTask

    parsed = parse_bundle(*_housing_with(tag, keep_properties=True))
    spec = next(s for s in parsed.spec.task_specs.values() if s.name == "already_housed")
    assert type(spec) is NoneTask and spec.manual is False  # run as soon as reached
    dry_run(parsed)


def test_a_service_task_that_is_no_pathways_step_keeps_spiffworkflows_rules() -> None:
    """Only a task carrying a record, notify or refer step's properties is taken as one: a
    hand-written service task still needs its operator, as SpiffWorkflow says."""
    with pytest.raises(DefinitionError) as caught:
        parse_bundle(*_housing_with("serviceTask", keep_properties=False))
    assert "operator" in caught.value.reason
