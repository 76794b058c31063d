"""Multi-instance activities as BPMN 2.0.2 says (§10.3.7, Tables 10.27-10.30; §13.3.7):
the events their `behavior` throws as instances complete, and the instance attributes.

SpiffWorkflow 3.2 runs the instances (loopCardinality or loopDataInputRef/inputDataItem,
loopDataOutputRef/outputDataItem, completionCondition) but ignores `behavior`: nothing was
thrown, so whatever waited for those events waited for ever. Nor does it give an instance
its number. Here, each multi-instance activity the parser builds is made a `_Behaving` one:

* `behavior="None"`: the event definition noneBehaviorEventRef names is thrown each time an
  instance completes; `"One"`: the one oneBehaviorEventRef names, once, when the first
  instance completes; `"All"` (the default): nothing is thrown; `"Complex"`: as each
  instance completes, each complexBehaviorDefinition's condition is evaluated and, when it
  holds, the event definitions of its `event` (an implicit throw event) are thrown. An event
  is thrown by the instance that completed (its data is the payload), as an intermediate
  throw event would throw it: a signal (to the case and, like every thrown signal, to the
  other cases), a message or an escalation (a boundary event on the activity catches it).
  The instances go on: only the completionCondition ends them early.
* each instance has `loopCounter`, its number (1 for the first created), in its data while it
  runs (scripts, conditions, forms, a subprocess body all read it); it is not merged back
  into the activity's data.
* the completionCondition and a complexBehaviorDefinition's condition are evaluated on the
  instance that completed, and may also read the activity's instance attributes
  numberOfInstances (created so far), numberOfActiveInstances, numberOfCompletedInstances,
  numberOfTerminatedInstances, and that instance's loopCounter.

Everything a case needs between commands is task state SpiffWorkflow serializes (the
instances' data and internal data, the activity's `merged` list); the events to throw live
on the spec, which is cached, never stored. Publish refuses a behaviour event that names no
event definition, or one of a kind an activity cannot throw
(engine.workflow.validation_rules_multi_instance).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import EscalationEventDefinition
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEventDefinitionParser
from SpiffWorkflow.spiff.serializer.task_spec import SpiffMultiInstanceConverter
from SpiffWorkflow.spiff.specs.event_definitions import (
    SignalEventDefinition as SpiffSignalEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine.workflow.bpmn_events import BroadcastSignalEventDefinition
from engine.workflow.bpmn_events import _naming_the_thrower as naming_the_thrower
from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.implicit_flows import ACTIVITY_TAGS

LOOP_COUNTER = "loopCounter"
_NUMBER = "pathways_loop_counter"  # an instance's loopCounter, in its internal data
_OUTPUT_ORDER = "pathways_output_order"  # loopCounter of each output item, in the activity
_CREATED = "pathways_instances_created"  # how many instances the activity has created
_MISSING: Any = object()
# what a behaviour may throw, and how SpiffWorkflow's event parser reads each
THROWABLE = {"signalEventDefinition": "parse_signal_event",
             "messageEventDefinition": "parse_message_event",
             "escalationEventDefinition": "parse_escalation_event"}
BEHAVIOR_REFS = {"None": "noneBehaviorEventRef", "One": "oneBehaviorEventRef"}


class _Behaving:
    """Mixed in before a multi-instance activity's class (see the module docstring)."""

    behavior: str = "All"
    # (condition or None, event definition): None/One, one entry without a condition;
    # Complex, one per event definition of each complexBehaviorDefinition
    behavior_events: list[tuple[str | None, Any]]

    def _update_hook(self, my_task: Any) -> Any:
        """Reached from a completed step, the activity is definite. SpiffWorkflow can leave
        it predicted (the path of a boundary event that went off as its activity completed),
        and creating instances under a predicted task failed: the case stopped in error
        ("Attempt to add non-predicted child to predicted task")."""
        if my_task.has_state(TaskState.PREDICTED_MASK) and my_task.parent is not None \
                and my_task.parent.has_state(TaskState.COMPLETED):
            my_task._set_state(TaskState.FUTURE)
        return super()._update_hook(my_task)  # type: ignore[misc]

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> None:
        """Create the next instance with its loopCounter: the instance inherits the
        activity's data as SpiffWorkflow creates it, so the number is put there meanwhile."""
        spec: Any = self
        number = _created(spec, my_task) + 1
        my_task.internal_data[_CREATED] = number
        before = my_task.data.get(LOOP_COUNTER, _MISSING)
        my_task.data[LOOP_COUNTER] = number
        try:
            super().create_child(my_task, item, key_or_index)  # type: ignore[misc]
        finally:
            if before is _MISSING:
                my_task.data.pop(LOOP_COUNTER, None)
            else:
                my_task.data[LOOP_COUNTER] = before
        created = [child for child in spec._instances(my_task)
                   if _NUMBER not in child.internal_data]
        for child in created:
            child.internal_data[_NUMBER] = number

    def merge_child(self, workflow: Any, child: Any) -> None:
        """Merge the instance as SpiffWorkflow does (its loopCounter left out), then throw
        what the behaviour says."""
        if not child.parent.has_state(TaskState.STARTED):
            return  # ran after the completionCondition cancelled it (see _collect_in_order)
        number = child.internal_data.get(_NUMBER)
        if number is not None and child.data.get(LOOP_COUNTER) == number:
            del child.data[LOOP_COUNTER]
        appended = self._appends(child)
        super().merge_child(workflow, child)  # type: ignore[misc]
        if appended:
            self._collect_in_order(child.parent, number)
        self._throw_behavior_events(child)

    def _appends(self, child: Any) -> bool:
        """Whether SpiffWorkflow will append this instance's output item to the output
        collection (rather than set it at the instance's key or index)."""
        spec: Any = self
        if spec.data_output is None or spec.output_item is None:
            return False
        my_task = child.parent
        output = spec.data_output.get(my_task) if spec.data_output.exists(my_task) else None
        data_input = spec.data_input.get(my_task) if spec.data_input is not None else None
        in_place = child.internal_data.get("key_or_index") is not None and (
            isinstance(output, Mapping) or data_input is output)
        return isinstance(output, list) and not in_place

    @staticmethod
    def _collect_in_order(my_task: Any, number: int | None) -> None:
        """Keep the output collection in the instances' order (BPMN 2.0.2 §10.3.7: the i-th
        item is the i-th instance's), not the order they completed in: SpiffWorkflow appends
        each item as its instance completes, so a parallel activity whose instances complete
        out of order (user tasks) had its items shuffled."""
        order = my_task.internal_data.setdefault(_OUTPUT_ORDER, [])
        order.append(number if number is not None else len(order) + 1)
        spec: Any = my_task.task_spec
        output = spec.data_output.get(my_task)
        if len(output) == len(order):
            ranked = sorted(range(len(order)), key=order.__getitem__)
            output[:] = [output[i] for i in ranked]
            order[:] = [order[i] for i in ranked]

    def check_completion_condition(self, my_task: Any) -> bool:
        """SpiffWorkflow's check (on the instance that completed last), with the instance
        attributes readable."""
        spec: Any = self
        merged = my_task.internal_data.get("merged", [])
        if not merged or spec.condition is None:
            return False
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        return bool(my_task.workflow.script_engine.evaluate(
            last, spec.condition, external_context=instance_attributes(spec, my_task, last)))

    def _throw_behavior_events(self, child: Any) -> None:
        spec: Any = self
        events = getattr(spec, "behavior_events", None) or []
        if not events or spec.behavior == "All":
            return
        my_task = child.parent
        if spec.behavior == "One" and len(my_task.internal_data.get("merged", [])) != 1:
            return
        engine = my_task.workflow.script_engine
        context = instance_attributes(spec, my_task, child)
        for condition, definition in events:
            if condition is None or engine.evaluate(child, condition, external_context=context):
                definition.throw(child)


def _created(spec: Any, my_task: Any) -> int:
    """How many instances the activity has created: counted as they are, since the finished
    instances of a sequential activity are compacted away (engine.workflow.pruning)."""
    counted = my_task.internal_data.get(_CREATED)
    return int(counted) if counted is not None else sum(1 for _ in spec._instances(my_task))


def instance_attributes(spec: Any, my_task: Any, instance: Any) -> dict[str, Any]:
    """BPMN 2.0.2 Table 10.30's attributes of the activity (and the instance's loopCounter).
    Instances no longer in the tree were compacted away once completed."""
    instances = list(spec._instances(my_task))
    compacted = max(0, _created(spec, my_task) - len(instances))
    return {
        "numberOfInstances": len(instances) + compacted,
        "numberOfActiveInstances": sum(
            1 for t in instances if not t.has_state(TaskState.FINISHED_MASK)),
        "numberOfCompletedInstances": compacted + sum(
            1 for t in instances if t.has_state(TaskState.COMPLETED)),
        "numberOfTerminatedInstances": sum(
            1 for t in instances if t.has_state(TaskState.CANCELLED)),
        LOOP_COUNTER: instance.internal_data.get(_NUMBER),
    }


class BehavingConverter(SpiffMultiInstanceConverter):  # type: ignore[misc]
    """A `_Behaving` activity as a dict: SpiffWorkflow's, with its behaviour and the events
    it throws, so `pathways versions diff` and a migration see a change to them (registered
    for the mixin in engine.workflow.state: specs are described by their nearest registered
    class, never stored)."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["behavior"] = spec.behavior
        dct["behavior_events"] = [
            {"condition": condition, "event": type(definition).__name__,
             "name": getattr(definition, "name", None), "code": getattr(definition, "code", None)}
            for condition, definition in getattr(spec, "behavior_events", [])]
        return dct


Behaving = _Behaving  # the mixin, for the serializer's registry
_behaving: dict[type, type] = {}


def _behaving_class(spec_class: type) -> type:
    if spec_class not in _behaving:
        _behaving[spec_class] = type(f"Behaving{spec_class.__name__}", (_Behaving, spec_class),
                                     {})
    return _behaving[spec_class]


class _BehaviorParser:
    """Mixed into an activity's parser: its multi-instance activity is a `_Behaving` one,
    with the events its behaviour throws read from the XML."""

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        parser: Any = self
        super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
        task = parser.task
        task.__class__ = _behaving_class(type(task))
        task.behavior = loop_characteristics.get("behavior", "All")
        task.behavior_events = _behavior_events(parser, loop_characteristics, task.behavior)


def _behavior_events(parser: Any, characteristics: Any, behavior: str
                     ) -> list[tuple[str | None, Any]]:
    if behavior in BEHAVIOR_REFS:
        ref = characteristics.get(BEHAVIOR_REFS[behavior])
        found = parser.doc_xpath(f'.//*[@id="{ref}"]') if ref else []
        return [(None, _event_definition(parser, found[0]))] if found else []
    if behavior != "Complex":
        return []
    events: list[tuple[str | None, Any]] = []
    for definition in characteristics.iterfind(f"{{{BPMN_NS}}}complexBehaviorDefinition"):
        condition = (definition.findtext(f"{{{BPMN_NS}}}condition") or "").strip()
        for event in definition.iterfind(f"{{{BPMN_NS}}}event"):
            events += [(condition, _event_definition(parser, element)) for element in event
                       if isinstance(element.tag, str) and local_name(element) in THROWABLE]
    return events


def _event_definition(parser: Any, element: Any) -> Any:
    """The event definition `element` read as an intermediate throw event's would be."""
    reader = SpiffEventDefinitionParser(parser.process_parser, None, element)
    definition = getattr(reader, THROWABLE[local_name(element)])(element)
    if type(definition) is SpiffSignalEventDefinition:
        definition.__class__ = BroadcastSignalEventDefinition  # as every thrown signal
    if isinstance(definition, EscalationEventDefinition):
        # as an escalation throw event's: the innermost catcher only (the boundary event on
        # the activity, not also an event subprocess of the process)
        definition.throw = naming_the_thrower(definition, definition.throw)
    return definition


_derived: dict[type, type] = {}


def _behavior_parser_class(parser_class: type) -> type:
    if parser_class not in _derived:
        _derived[parser_class] = type(f"Behavior{parser_class.__name__}",
                                      (_BehaviorParser, parser_class), {})
    return _derived[parser_class]


def _with_behavior(parser: Any) -> Any:
    """The activity parser (a TaskParser class, or a function choosing one and returning
    its instance) reading multi-instance behaviours as above."""
    if isinstance(parser, type) and issubclass(parser, TaskParser):
        return _behavior_parser_class(parser)

    def parse(*args: Any, **kwargs: Any) -> Any:
        made = parser(*args, **kwargs)
        made.__class__ = _behavior_parser_class(type(made))
        return made

    return parse


def with_multi_instance_behavior(overrides: dict[str, tuple[Any, Any]],
                                 defaults: dict[str, tuple[Any, Any]]
                                 ) -> dict[str, tuple[Any, Any]]:
    """A parser's OVERRIDE_PARSER_CLASSES (its PARSER_CLASSES for the activities it does
    not override) with every activity's parser building `_Behaving` multi-instances."""
    out = dict(overrides)
    for tag in map(full_tag, ACTIVITY_TAGS):
        parser, spec = overrides.get(tag) or defaults[tag]
        out[tag] = (_with_behavior(parser), spec)
    return out
