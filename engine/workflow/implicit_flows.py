"""Sequence flows leaving an activity without a gateway, run as BPMN 2.0.2 says.

BPMN 2.0.2 (§10.2.1 Sequence Flow, §10.3.1 Activity `default`, §13.2.1): when an activity
completes, every outgoing flow without a condition gets a token (an implicit parallel split);
a flow with a condition (drawn with a mini-diamond) gets one only if its condition holds (an
implicit inclusive split); the activity's default flow gets one only when no condition on
its other outgoing flows holds. A token that can go nowhere (conditions only, none true, no
default) is an incident, as at an inclusive gateway: the case stops in error there.

SpiffWorkflow 3.2 refuses an activity with several outgoing flows ("Multiple outgoing flows
are not supported") and would ignore a condition on an activity's single outgoing flow. So
the parser of every activity is told (`with_implicit_splits`, used by
engine.workflow.definitions) to put an `ImplicitSplit` behind the activity when it has
several outgoing flows or a conditional one: a step of SpiffWorkflow's own kind (named
`<activity>.ImplicitSplit`, like its `.BoundaryEventSplit`) that takes the flows above. It
carries the activity's id, so its failure and its `decision` event name the activity.

An intermediate event (caught or thrown) and a boundary event with several outgoing flows
are a parallel split too (§10.5.4, §13.5: each outgoing flow gets a token; BPMN allows no
condition on them, and validation refuses one): SpiffWorkflow refuses them as it does an
activity, so their parsers put the same ImplicitSplit behind them. (A start event with several
flows SpiffWorkflow splits by itself.)

Several flows into an activity (an uncontrolled merge, §13.3.1) need nothing here:
SpiffWorkflow gives each arriving token its own run of the activity, as BPMN says
(tests/conformance/test_implicit_flows.py holds it to that).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.util.task import TaskState

SPLIT_SUFFIX = ".ImplicitSplit"
ACTIVITY_TAGS = ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask",
                 "receiveTask", "businessRuleTask", "callActivity", "subProcess",
                 "transaction", "adHocSubProcess")
# BPMN 2.0.2 §10.5.2 / §10.5.4: an event with several outgoing flows is a parallel split too
# (SpiffWorkflow refuses it, as for an activity; a start event it already splits itself)
EVENT_TAGS = ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")


class ImplicitSplit(BpmnTaskSpec):  # type: ignore[misc]
    """What an activity's outgoing flows do when it completes (see the module docstring).

    `flows` holds, per outgoing flow in the parser's order, (condition or None, whether it
    is the default flow, the name of the step it leads to)."""

    def __init__(self, wf_spec: Any, name: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, name, **kwargs)
        self.flows: list[tuple[str | None, bool, str]] = []

    @property
    def decides(self) -> bool:
        """Whether a condition chooses among the flows (a decision, not only a split)."""
        return any(condition is not None for condition, _, _ in self.flows)

    def add_flow(self, target: Any, condition: str | None, is_default: bool) -> None:
        self.connect(target)
        self.flows.append((None if is_default else condition, is_default, target.name))

    def _predict_hook(self, my_task: Any) -> None:
        """Before it runs: the unconditioned flows as likely as the activity, the others
        maybe."""
        state = TaskState.MAYBE if my_task.state == TaskState.MAYBE else TaskState.LIKELY
        always = [name for condition, default, name in self.flows
                  if condition is None and not default]
        my_task._sync_children([self._spec(my_task, name) for name in always], state)
        present = {child.task_spec.name for child in my_task.children}
        for name in (name for _, _, name in self.flows if name not in present):
            my_task._add_child(self._spec(my_task, name), TaskState.MAYBE)

    def _run_hook(self, my_task: Any) -> bool:
        """A token on each flow taken; an incident when none can be."""
        chosen = self.taken(my_task)
        if not chosen:
            raise WorkflowTaskException(
                f"no sequence flow leaving {self.bpmn_id!r} can be taken: no condition on "
                "its outgoing flows holds and it has no default flow", task=my_task)
        my_task._sync_children([self._spec(my_task, name) for name in chosen],
                               TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True

    def taken(self, my_task: Any) -> list[str]:
        """The steps the flows that get a token lead to (one per flow, in order): every
        unconditioned flow and every one whose condition holds, else the default."""
        engine = my_task.workflow.script_engine
        held = [condition is not None and bool(engine.evaluate(
                    my_task, condition, external_context=my_task.workflow.data_objects))
                for condition, _, _ in self.flows]
        return [name for (condition, default, name), holds in zip(self.flows, held, strict=True)
                if holds or (condition is None and not default)
                or (default and not any(held))]

    @staticmethod
    def _spec(my_task: Any, name: str) -> Any:
        return my_task.workflow.spec.task_specs[name]


class ImplicitSplitConverter(BpmnTaskSpecConverter):  # type: ignore[misc]
    """An ImplicitSplit as a dict, its flows as a gateway's conditions (`cond_task_specs`,
    `default_task_spec`), so `pathways versions diff` and a migration compare them as they
    compare a gateway's."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        dct["cond_task_specs"] = [{"condition": condition, "task_spec": name}
                                  for condition, default, name in spec.flows if not default]
        dct["default_task_spec"] = next(
            (name for _, default, name in spec.flows if default), None)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        flows = [(c["condition"], False, c["task_spec"]) for c in dct.pop("cond_task_specs")]
        default = dct.pop("default_task_spec")
        bpmn_id, bpmn_name = dct["bpmn_id"], dct.pop("bpmn_name")
        spec = self.task_spec_from_dict(dct)
        spec.bpmn_id, spec.bpmn_name = bpmn_id, bpmn_name
        spec.flows = flows + ([(None, True, default)] if default is not None else [])
        return spec


class _SplittingActivity:
    """Mixed into an activity's parser: several outgoing flows, or a conditional one, go
    through an ImplicitSplit behind the activity."""

    def handles_multiple_outgoing(self) -> bool:
        return True

    def connect_outgoing(self, outgoing_task: Any, sequence_flow_node: Any,
                         is_default: bool) -> None:
        parser: Any = self
        flows = parser.process_parser.get_outgoing_sequence_flows(parser.bpmn_id)
        if len(flows) < 2 and all(parser.parse_condition(f) is None for f in flows):
            super().connect_outgoing(outgoing_task, sequence_flow_node, is_default)  # type: ignore[misc]
            return
        name = f"{parser.bpmn_id}{SPLIT_SUFFIX}"
        split = parser.spec.task_specs.get(name)
        if split is None:
            split = ImplicitSplit(parser.spec, name, lane=parser.task.lane)
            split.bpmn_id, split.bpmn_name = parser.bpmn_id, parser.task.bpmn_name
            parser.task.connect(split)
        split.add_flow(outgoing_task, parser.parse_condition(sequence_flow_node), is_default)


_derived: dict[type, type] = {}


def _splitting_class(parser_class: type) -> type:
    if parser_class not in _derived:
        _derived[parser_class] = type(f"Splitting{parser_class.__name__}",
                                      (_SplittingActivity, parser_class), {})
    return _derived[parser_class]


def _splitting(parser: Any) -> Any:
    """The activity parser (a TaskParser class, or a function choosing one and returning
    its instance), splitting as above."""
    if isinstance(parser, type) and issubclass(parser, TaskParser):
        return _splitting_class(parser)

    def parse(*args: Any, **kwargs: Any) -> Any:
        made = parser(*args, **kwargs)
        made.__class__ = _splitting_class(type(made))
        return made

    return parse


def with_implicit_splits(overrides: dict[str, tuple[Any, Any]],
                         defaults: dict[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    """A parser's OVERRIDE_PARSER_CLASSES (its PARSER_CLASSES for the activities it does
    not override) with every activity's parser splitting as above."""
    out = dict(overrides)
    for tag in map(full_tag, ACTIVITY_TAGS + EVENT_TAGS):
        parser, spec = overrides.get(tag) or defaults[tag]
        out[tag] = (_splitting(parser), spec)
    return out
