"""Publish rules on the values a BPMN file writes: activity quantities and loops, scripts and
conditions (compiled in the sandbox now, not when a case reaches them), timers and due rules
(computed now, as the runner would)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.errors import ScriptError
from engine.workflow import clock, expressions
from engine.workflow.bpmn_xml import BPMN_NS, SPIFF_NS, local_name
from engine.workflow.definition_model import ASSIGN, DUE_PROPERTY, TASK_ORGANISATION
from engine.workflow.due import is_simple_due
from engine.workflow.expressions import ExpressionError
from engine.workflow.runner import compute_due
from engine.workflow.sandbox import compile_expression, compile_script
from engine.workflow.validation_document import ACTIVITIES, BpmnDocument, owner_id
from engine.workflow.validation_rules_adhoc import check_adhoc

_TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
_TIMER_EXAMPLES = {"timeDuration": ("duration", "'P7D' or 'PT12H'"),
                   "timeDate": ("date", "'2026-01-01T09:00:00Z'"),
                   "timeCycle": ("cycle", "'R3/P1W'")}


def _positive_integer(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _text_of(element: Any | None) -> str:
    """The element's text without surrounding space ("" for none or no element)."""
    return (element.text or "").strip() if element is not None else ""


def check_activity(document: BpmnDocument, element: Any) -> None:
    """The rules for the element's kind: quantities of any activity, then its own."""
    kind = local_name(element)
    if kind in ACTIVITIES:
        _check_quantities(document, element)
    rule = _ELEMENT_RULES.get(kind)
    if rule is not None:
        rule(document, element)


def _check_quantities(document: BpmnDocument, element: Any) -> None:
    for attribute in ("startQuantity", "completionQuantity"):
        value = element.get(attribute)
        number = _positive_integer(value)
        if value is not None and (number is None or number < 1):
            raise document.refuse(element, "quantity",
                                  f"{attribute}={value!r} on {element.get('id')!r}: it "
                                  "must be a whole number of at least 1",
                                  attribute=attribute, value=value)
        if number is not None and number > 1:  # SpiffWorkflow takes one token in, one out
            raise document.refuse(element, "quantity_not_supported",
                                  f"{attribute}={value!r} on {element.get('id')!r}: Pathways "
                                  "runs every activity on one token (a quantity of 1); "
                                  f"remove {attribute} or model the tokens with a parallel "
                                  "gateway", attribute=attribute, value=value)


def _check_standard_loop(document: BpmnDocument, element: Any) -> None:
    maximum = element.get("loopMaximum")
    number = _positive_integer(maximum)
    if maximum is not None and (number is None or number < 0):
        raise document.refuse(element, "loop_maximum",
                              f"loopMaximum={maximum!r} on {owner_id(element)!r}: it must be "
                              "a whole number of at least 0", attribute="loopMaximum",
                              value=maximum)
    if maximum is None and not _text_of(element.find(f"{{{BPMN_NS}}}loopCondition")):
        raise document.refuse(element, "loop_without_end",
                              "a standard loop needs a loopMaximum or a loopCondition")


def _check_multi_instance(document: BpmnDocument, element: Any) -> None:
    cardinality = element.find(f"{{{BPMN_NS}}}loopCardinality")
    if not _text_of(cardinality) and not _text_of(element.find(f"{{{BPMN_NS}}}loopDataInputRef")):
        raise document.refuse(element, "multi_instance_without_input",
                              "a multi-instance activity needs a loopCardinality or a "
                              "loopDataInputRef")
    count = _literal(cardinality.text or "") if cardinality is not None else None
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)
                              or count < 0):
        raise document.refuse(cardinality, "multi_instance_cardinality",
                              f"loopCardinality {_text_of(cardinality)[:40]!r} "
                              "is not a whole number of at least 0")


def _check_script_task(document: BpmnDocument, element: Any) -> None:
    if not _text_of(element.find(f"{{{BPMN_NS}}}script")):
        raise document.refuse(element, "empty_script",
                              f"script task {element.get('id')!r} has no script")


def _check_call_activity(document: BpmnDocument, element: Any) -> None:
    if not (element.get("calledElement") or "").strip():
        raise document.refuse(element, "call_without_called_element",
                              f"call activity {element.get('id')!r} has no calledElement")


_ELEMENT_RULES: dict[str, Callable[[BpmnDocument, Any], None]] = {
    "adHocSubProcess": check_adhoc,
    "standardLoopCharacteristics": _check_standard_loop,
    "multiInstanceLoopCharacteristics": _check_multi_instance,
    "scriptTask": _check_script_task,
    "callActivity": _check_call_activity,
}
def due_problem(rule: str) -> str | None:
    """Why a user task's `due` property can never give a due time, or None. Checked by
    computing it as the runner does (engine.workflow.runner.compute_due), its date field set;
    a due written as another expression (`working_days(20)`) must be one the language has."""
    if not is_simple_due(rule):
        try:
            expressions.parse(rule)
        except ExpressionError as err:
            return f"due {rule[:60]!r} is not a due rule: {err.message}"
        return None
    data: dict[str, Any] = {}
    base = None if re.match(r"\s*P[0-9T]", rule) else re.match(r"\s*([A-Za-z_][\w.]*)", rule)
    if base is not None:
        *parents, last = base.group(1).split(".")
        inner = data
        for part in parents:
            inner = inner.setdefault(part, {})
        inner[last] = "2026-01-01"
    try:
        due = compute_due(rule, data, datetime(2026, 1, 1, tzinfo=UTC))
    except ScriptError as err:
        return f"due {rule[:60]!r}: {err.message}"
    except Exception:  # SpiffWorkflow raises bare Exception for a bad duration
        due = None
    if due is None:
        return (f"due {rule[:60]!r} is not a due rule: write a duration such as 'P7D', a date "
                "field such as 'client.release_date', or a date field plus or minus a "
                "duration such as 'client.release_date - P7D'")
    return None


def check_due(document: BpmnDocument) -> None:
    for prop in document.root.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") != DUE_PROPERTY or prop.get("value") is None:
            continue
        problem = due_problem(str(prop.get("value")))
        if problem is not None:
            raise document.refuse(prop, "due", problem, attribute=DUE_PROPERTY,
                                  value=str(prop.get("value"))[:100])


def check_task_expressions(document: BpmnDocument) -> None:
    """A task's `pathwaysAssign` and `pathwaysOrganisation` are expressions: refuse one that
    does not parse at publish, not when a case reaches the task."""
    for prop in document.root.iter(f"{{{SPIFF_NS}}}property"):
        name, value = prop.get("name"), prop.get("value")
        if name not in (ASSIGN, TASK_ORGANISATION) or value is None:
            continue
        try:
            expressions.parse(str(value))
        except ExpressionError as err:
            raise document.refuse(prop, "task_expression", f"{name} {str(value)[:60]!r}: "
                                  f"{err.message}", attribute=name,
                                  value=str(value)[:100]) from err


def _literal(source: str) -> Any:
    """The value of a Python literal (None when the text is an expression to evaluate)."""
    try:
        return ast.literal_eval(source.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def check_timers(document: BpmnDocument) -> None:
    for definition in document.all("timerEventDefinition"):
        values = [c for c in definition if local_name(c) in _TIMER_KINDS]
        if not values:
            raise document.refuse(definition, "timer_without_value",
                                  "a timer needs a timeDuration, timeDate or timeCycle")
        for value in values:
            problem = timer_problem(local_name(value), value.text or "")
            if problem is not None:
                raise document.refuse(value, "timer", problem, attribute=local_name(value),
                                      value=(value.text or "")[:100])


def timer_problem(kind: str, text: str) -> str | None:
    """Why a timer's expression can never give a usable time, or None.

    A quoted literal ('P7D', "2026-01-01T09:00:00Z", 'R3/PT1H') is checked in full now; any
    other expression (a date field of the case) must at least compile in the sandbox."""
    source = text.strip()
    if not source:
        return f"the timer's {kind} is empty"
    if _ISO_DURATION.fullmatch(source) or _BARE_ISO.fullmatch(source):  # (a name is lower case)
        return (f"the timer's {kind} {source[:60]!r} is not in quotes: SpiffWorkflow evaluates "
                f"it as Python, so write '{source[:60]}'")
    try:
        literal = ast.literal_eval(source)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return _expression_problem(kind, source)
    if not isinstance(literal, str):
        return (f"the timer's {kind} {source[:60]!r} is not text: write an ISO 8601 "
                "value in quotes, such as 'P7D'")
    return _iso_problem(kind, literal.strip())


def _expression_problem(kind: str, source: str) -> str | None:
    """Why a timer expression that is not a literal would not compile, or None."""
    try:
        compile_expression(source)
    except ScriptError as err:
        return f"the timer's {kind} {source[:60]!r} is not a valid expression: {err.message}"
    except (SyntaxError, ValueError) as err:
        return f"the timer's {kind} {source[:60]!r} is not a valid expression: {err}"
    return None


def _iso_problem(kind: str, value: str) -> str | None:
    """Why a quoted timer value is not the ISO 8601 value its kind needs, or None."""
    try:
        clock.check_duration(value)
    except ScriptError as err:
        return err.message
    try:
        _ISO_PARSERS.get(kind, _parse_cycle)(value)
    except Exception:
        what, example = _TIMER_EXAMPLES[kind]
        return (f"the timer's {kind} {value[:60]!r} is not a valid ISO 8601 {what} (such as "
                f"{example}); negative values are not allowed")
    return None


def _parse_duration(value: str) -> None:
    if not _ISO_DURATION.fullmatch(value.upper()):
        raise ValueError
    TimerEventDefinition.parse_iso_duration(value)


def _parse_date(value: str) -> None:
    if value.upper().startswith("P"):
        raise ValueError
    if not isinstance(TimerEventDefinition.parse_time_or_duration(value), datetime):
        raise ValueError


def _parse_cycle(value: str) -> None:
    parts = value.upper().replace("--", "/").split("/")
    if not parts[0].startswith("R") or len(parts) not in (2, 3) or (
            parts[0][1:] and not parts[0][1:].isdigit()):
        raise ValueError
    for part in parts[1:]:
        if part.startswith("P") and not _ISO_DURATION.fullmatch(part):
            raise ValueError
    TimerEventDefinition.parse_iso_recurring_interval(value)


# timer kind -> a parse that raises on a value SpiffWorkflow could not use
_ISO_PARSERS: dict[str, Callable[[str], None]] = {
    "timeDuration": _parse_duration, "timeDate": _parse_date, "timeCycle": _parse_cycle}


_BARE_ISO = re.compile(r"(R\d*/)?P(?=[\dT])[0-9A-Z.,]*|\d{4}-\d{2}-\d{2}[0-9T:.+Z-]*")
_ISO_DURATION = re.compile(
    r"P(?!$)(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?W)?(\d+(?:[.,]\d+)?D)?"
    r"(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?")


def check_code(document: BpmnDocument) -> None:
    """Scripts and conditions the sandbox would refuse when the case reaches them."""
    scripts = [*document.all("script"), *document.root.iter(f"{{{SPIFF_NS}}}preScript",
                                                            f"{{{SPIFF_NS}}}postScript")]
    for element in scripts:
        source = element.text or ""
        if not source.strip():
            continue
        try:
            compile_script(source)
        except ScriptError as err:
            raise document.refuse(element, "script", err.message) from err
        except (SyntaxError, ValueError) as err:
            raise document.refuse(element, "script", f"script does not compile: {err}") from err
        if _defines_class(source):
            raise document.refuse(element, "script", "script is not allowed: class statements "
                                  "are not available in definitions")
    expressions = [*document.all("conditionExpression"), *document.all("loopCondition"),
                   *document.all("completionCondition"), *document.all("loopCardinality"),
                   *document.all("condition"),
                   *document.root.iter(f"{{{SPIFF_NS}}}messagePayload")]
    for element in expressions:
        source = (element.text or "").strip()
        if not source:
            raise document.refuse(element, "empty_expression",
                                  f"an empty {local_name(element)}")
        try:
            compile_expression(source)
        except ScriptError as err:
            raise document.refuse(element, "expression", err.message) from err
        except (SyntaxError, ValueError) as err:
            raise document.refuse(element, "expression",
                                  f"expression does not compile: {err}") from err


def _defines_class(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.ClassDef) for node in ast.walk(tree))

