"""A definition cannot stall the server with one huge computation (issue 10, item 5).

The sandbox's 1 s deadline is checked between bytecode lines, so `10**10**9` (one C-level
power) used to hold the interpreter, and every request, for minutes. Each expression below is
now refused quickly with a script error: in a BPMN script task, gateway condition and timer
expression, and in the DSL's decide, wait and record expressions, run by the real engine on
SQLite and PostgreSQL. Each is run in a child process with a wall-clock budget, so a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import multiprocessing
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import pytest

from adapters.sql import SqlAlchemyUnitOfWorkFactory, make_engine
from dsl import DslError, compile_pathway, load_pathway
from engine import Engine
from engine.errors import DefinitionError, ScriptError
from engine.ports import UnitOfWorkFactory
from engine.workflow.clock import add_duration
from engine.workflow.expressions import evaluate
from engine.workflow.sandbox import SandboxEnvironment
from tests.unit.engine.fakes import FakeClock

BUDGET_SECONDS = 3.0  # generous for a loaded machine; a stall takes minutes

# Python (BPMN scripts, conditions and timers): each would run for minutes or exhaust memory
PYTHON_STALLS = [
    "10**10**9", "9**9**9", "2<<10**9", "'a'*10**10", "[0]*10**10", "pow(10, 10**9)",
    "pow(3, 10**5000, 10**5000 + 1)", "round(1, -10**9)", "sum(range(10**12))",
    "max(range(10**12))", "len(list(range(10**10)))", "'%09999999999d' % 1", "'%*d' % (10**9, 1)",
    "f'{1:>9999999999}'", "f'{1.0:.999999999f}'", "len(str(['a'*10**6]*10**6))",
    "len(repr(['a'*10**6]*10**6))", "len(''.join(['a'*10**6]*10**6))", "'a'.ljust(10**10)",
    "'a'.zfill(10**10)", "'a\\t'.expandtabs(10**10)", "(1).to_bytes(10**10, 'big')",
    "'ab'.replace('', 'x'*900000)", "len(f'{[chr(97)*10**6]*10**6}')",
    "str.ljust('a', 10**10)", "str.format('{:>9999999999}', 1)", "int.to_bytes(1, 10**10, 'big')",
    "len(str.join('', ['a'*10**6]*10**6))", "str.zfill('1', 10**10)",
]
# the DSL's expression language has no `**`; these are what it could still be asked
DSL_STALLS = [
    "'%0999999999d' % 1", "'%.999999999f' % 1.5", "'a' * 10000000000",
    "[0] * 10000000000", "'ab' * 600000 + 'cd' * 600000",
]


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.monotonic()
    result = function()
    return time.monotonic() - started, result


def _in_child(target: Callable[..., None], *args: Any) -> None:
    """Run target in a child process; fail (and kill it) if it outlives the budget."""
    context = multiprocessing.get_context("fork")
    process = context.Process(target=target, args=args)
    process.start()
    process.join(BUDGET_SECONDS * 4 + 10)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail(f"{target.__name__}{args!r} stalled")
    assert process.exitcode == 0, f"{target.__name__}{args!r} failed in the child"


# -- the evaluators themselves ---------------------------------------------------------------


def _sandbox_refuses(source: str, as_script: bool) -> None:
    environment = SandboxEnvironment()
    started = time.monotonic()
    with pytest.raises(ScriptError):
        if as_script:
            environment.execute(f"x = {source}", {})
        else:
            environment.evaluate(source, {})
    assert time.monotonic() - started < BUDGET_SECONDS


@pytest.mark.parametrize("source", PYTHON_STALLS)
def test_the_sandbox_refuses_each_stall_quickly(source: str) -> None:
    _in_child(_sandbox_refuses, source, False)
    _in_child(_sandbox_refuses, source, True)


def _expression_refuses(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptError):
        evaluate(source, {})
    assert time.monotonic() - started < BUDGET_SECONDS


@pytest.mark.parametrize("source", [*DSL_STALLS, "10**10**9", "2<<10**9"])
def test_the_expression_language_refuses_each_stall_quickly(source: str) -> None:
    _in_child(_expression_refuses, source)


def test_ordinary_scripts_still_work() -> None:
    environment = SandboxEnvironment()
    context: dict[str, Any] = {"count": 2}
    environment.execute(textwrap.dedent("""\
        count = count + 1
        square = count ** 2
        big = 2 ** 64 << 3
        label = 'ab' * 3 + f'{square:>5}' + '%05d' % 7 + str(count) + repr([1])
        total = sum([1, 2, 3]) + round(2.567, 2) + pow(2, 10) + pow(3, 4, 5)
        is_text = isinstance(label, str) and str.upper('a') == 'A'
        joined = ', '.join(['a', 'b']).ljust(6).replace('a', 'A')
        numbers = list(range(5))
        """), context)
    assert context["count"] == 3 and context["square"] == 9 and context["big"] == 2**67
    assert context["label"] == "ababab    900007" + "3[1]"
    assert context["total"] == 6 + 2.57 + 1024 + 1 and context["is_text"] is True
    assert context["joined"] == "A, b  " and context["numbers"] == [0, 1, 2, 3, 4]
    assert evaluate("'%05d' % n + 'x' * 3", {"n": 7}) == "00007xxx"


# -- through the real engine, on SQLite and PostgreSQL ---------------------------------------


def _bpmn(kind: str, expression: str) -> str:
    """A pathway that reaches `expression` first thing: in a script task, as a gateway
    condition, or as a timer's duration."""
    expression = escape(expression)
    if kind == "script":
        middle = (f'<bpmn:scriptTask id="compute"><bpmn:incoming>f1</bpmn:incoming>'
                  f'<bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>x = {expression}'
                  f'</bpmn:script></bpmn:scriptTask>')
        flows = ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>'
                 '<bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="review"/>')
    elif kind == "condition":
        middle = ('<bpmn:exclusiveGateway id="check" default="f3"><bpmn:incoming>f1'
                  '</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3'
                  '</bpmn:outgoing></bpmn:exclusiveGateway>')
        flows = ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>'
                 '<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="review">'
                 f'<bpmn:conditionExpression>len(str({expression})) &gt; 0'
                 '</bpmn:conditionExpression></bpmn:sequenceFlow>'
                 '<bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="review"/>')
    else:
        middle = ('<bpmn:intermediateCatchEvent id="pause"><bpmn:incoming>f1</bpmn:incoming>'
                  '<bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition>'
                  f'<bpmn:timeDuration>"PT" + str(len(str({expression}))) + "S"'
                  '</bpmn:timeDuration></bpmn:timerEventDefinition>'
                  '</bpmn:intermediateCatchEvent>')
        flows = ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pause"/>'
                 '<bpmn:sequenceFlow id="f2" sourceRef="pause" targetRef="review"/>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="https://pathways.example/tests">
  <bpmn:process id="bounded" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {middle}
    <bpmn:userTask id="review"><bpmn:incoming>f2</bpmn:incoming>
      {'<bpmn:incoming>f3</bpmn:incoming>' if kind == 'condition' else ''}
      <bpmn:outgoing>f9</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
    {flows}
    <bpmn:sequenceFlow id="f9" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _dsl(kind: str, expression: str) -> str:
    quoted = expression.replace('"', '\\"')
    step = {
        "condition": f"""
  - decide: check
    branches:
      - when: "{quoted} == 'x'"
        steps:
          - end: stopped
            reason: stopped
    otherwise: []""",
        "timer": f"""
  - wait: pause
    until: "{quoted}" """,
        "script": f"""
  - record: noted
    outcome: noted
    value: "{quoted}" """,
    }[kind]
    return _bounded(step)


def _bounded(step: str, due: str = "") -> str:
    """The pathway `bounded`: `step` (DSL lines), then the task review (due after `due`, a
    `due:` line, if given), then the end."""
    return f"""pathway: bounded
title: Bounded
organisation: org
roles:
  worker:
    title: Worker
    organisations: [org]
steps:{step}
  - task: review
    role: worker
    title: Review{due}
  - end: closed
    reason: completed
"""


def _run_case(url: str, files: dict[str, str], main: str) -> None:
    """Publish and start a case in this (child) process; the case must end in a script
    error, quickly."""
    engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(make_engine(url)), clock=FakeClock())
    started = time.monotonic()
    try:
        engine.publish(files, main)
    except DefinitionError as err:  # a literal duration no case could compute: refused first
        assert time.monotonic() - started < BUDGET_SECONDS
        assert "may not compute values this large" in err.message, err.message
        return
    client = engine.add_client("Stall")
    started = time.monotonic()
    try:
        view = engine.start_case("bounded", client.id or 0)
    except ScriptError as err:  # a declarative step (DSL record) refuses the command itself
        assert time.monotonic() - started < BUDGET_SECONDS
        assert "may not compute values this large" in err.message, err.message
        return
    assert time.monotonic() - started < BUDGET_SECONDS
    if view.case.status != "error":  # a timer: fire it
        elapsed, _ = _timed(lambda: engine.fire_due_timers(FakeClock().now()))
        view = engine.get_case(view.case.id or 0)
        assert elapsed < BUDGET_SECONDS, elapsed
    assert view.case.status == "error", view.case
    assert view.case.error is not None
    message = view.case.error["message"]  # the case's error: where and why, no code
    assert "may not compute values this large" in message or "too long" in message \
        or "is not allowed" in message, view.case.error


@pytest.mark.parametrize("kind", ["script", "condition", "timer"])
@pytest.mark.parametrize("source", ["10**10**9", "9**9**9", "2<<10**9", "'a'*10**10",
                                    "'%09999999999d' % 1"])
def test_bpmn_stalls_become_script_errors_through_the_engine(
        uow_factory: UnitOfWorkFactory, database_url: str, kind: str, source: str) -> None:
    text = _bpmn(kind, source)
    _in_child(_run_case, database_url, {"bounded.bpmn": text}, "bounded.bpmn")


def _dsl_refused_or_error(url: str, text: str) -> None:
    started = time.monotonic()
    try:
        compiled = compile_pathway(load_pathway(text, "bounded.yaml"))
    except DslError:
        assert time.monotonic() - started < BUDGET_SECONDS
        return  # refused at publish: the language has no `**` or `<<`
    _run_case(url, compiled.files(), compiled.bpmn_file)


@pytest.mark.parametrize("kind", ["script", "condition", "timer"])
@pytest.mark.parametrize("source", ["10**10**9", "2<<10**9", *DSL_STALLS[:3]])
def test_dsl_stalls_are_refused_at_publish_or_become_script_errors(
        uow_factory: UnitOfWorkFactory, database_url: str, kind: str, source: str) -> None:
    _in_child(_dsl_refused_or_error, database_url, _dsl(kind, source))


def test_dsl_refuses_powers_at_publish() -> None:
    with pytest.raises(DslError):
        load_pathway(_dsl("condition", "10**10**9"), "bounded.yaml")


# -- durations: SpiffWorkflow adds years month by month, in Python ---------------------------


def _bpmn_timer(tag: str, expression: str) -> str:
    text = _bpmn("timer", "1")
    return text.replace('"PT" + str(len(str(1))) + "S"', expression) \
        .replace("timeDuration", tag)


HUGE_DURATIONS = ['"P9999999999Y"', '"P99999999999999999999D"', '"PT99999999999999999999999S"',
                  '"P1001Y"', '"P99999999999M"']


@pytest.mark.parametrize("tag", ["timeDuration", "timeDate"])
@pytest.mark.parametrize("duration", HUGE_DURATIONS)
def test_bpmn_timers_with_huge_durations_are_refused_quickly(
        uow_factory: UnitOfWorkFactory, database_url: str, tag: str, duration: str) -> None:
    text = _bpmn_timer(tag, duration)
    _in_child(_run_case, database_url, {"bounded.bpmn": text}, "bounded.bpmn")


def _dsl_duration(kind: str, duration: str) -> str:
    if kind == "wait":
        step = f"\n  - wait: pause\n    for: {duration}"
        due = ""
    else:
        step = ""
        due = f"\n    due: {duration}"
    return _bounded(step, due)


@pytest.mark.parametrize("kind", ["wait", "due"])
@pytest.mark.parametrize("duration", ["P9999999999Y", "P99999999999999999999D"])
def test_dsl_huge_durations_are_refused_quickly(uow_factory: UnitOfWorkFactory,
                                                database_url: str, kind: str,
                                                duration: str) -> None:
    _in_child(_dsl_refused_or_error, database_url, _dsl_duration(kind, duration))


def test_ordinary_durations_still_work() -> None:
    start = datetime(2026, 1, 15, tzinfo=UTC)
    assert add_duration(start, "P1M").month == 2
    assert add_duration(start, "P999Y").year == 3025
    with pytest.raises(ScriptError):
        add_duration(start, "P1001Y")
