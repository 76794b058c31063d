"""Ad-hoc subprocesses (BPMN 2.0.2 §10.3.5) run as the specification says.

SpiffWorkflow 3.2 has an ad-hoc subprocess, but it evaluates the completionCondition as the
subprocess starts (BPMN: after each inner activity completes), fails to start one whose
condition is false (KeyError 'data_objects'), finds the inner activities to offer by their
`bpmn:incoming` children (a model without them offers nothing), merges its branches' data by
overwriting newer values with older ones, and refuses `ordering="Sequential"`. Pathways keeps
its parser and task spec and replaces what they do, through its extension points:

* `AdHocProcessParser` (the parser's AD_HOC_PARSER_CLASS) parses the inner activities that no
  sequence flow leads to as the subprocess's first activities: all offered together when it
  starts (ordering Parallel), or, ordering Sequential, one at a time with the performer
  choosing: the tasks for a person the flows allow offered together, an activity that takes
  time run alone (a gate before each, `SequentialGate`). Flows between inner activities are
  followed as anywhere else.
* `AdHocSpec` hears each inner activity complete: it records what that activity changed in
  the subprocess's data (so branches done in any order lose nothing), then evaluates the
  completionCondition on that data. Once it holds, nothing new starts: the open inner work
  is cancelled (cancelRemainingInstances, true by default), or only what is running (a
  started subprocess, call activity or multi-instance) is let finish and the subprocess
  completes after it. Without a condition it completes when all its activities are done, or
  when the caseworker finishes it (`finish`, the engine command `Engine.finish_adhoc`).
* `AdHocTask` hands the recorded data on as the subprocess's output.

Nothing here is serialized: specs are cached per version, and the state an ad-hoc
subprocess needs (what changed, whether it is closing) is kept in its subworkflow's data,
which SpiffWorkflow stores with the case.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.task_parsers import AdHocSubprocessParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.defaults import AdHocSubprocess
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser
from SpiffWorkflow.util.task import TaskState

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import ACTIVITIES, FLOW_NODES

# kept in the ad-hoc subworkflow's data (stored with the case)
CHANGES = "pathways_adhoc_changes"  # what its activities changed, latest value last
CLOSING = "pathways_adhoc_closing"  # its condition held or the caseworker finished it
_NOT_FIRST = frozenset({"startEvent", "endEvent", "boundaryEvent"})


class AdHocTask(AdHocSubprocess):  # type: ignore[misc]
    """The ad-hoc subprocess in its parent: its output is its input plus what its
    activities changed, in the order they completed."""

    def update_data(self, my_task: Any, subworkflow: Any) -> None:
        changes = subworkflow.data.get(CHANGES, {})
        my_task.data = {**deepcopy(my_task.data), **deepcopy(changes)}


class SequentialGate(BpmnTaskSpec):  # type: ignore[misc]
    """Before each first activity of a Sequential ad-hoc subprocess: lets its activity be
    offered only when that cannot make two activities run at once. A task for a person is
    done in one go, so those the partial order allows are offered together and the
    performer picks (BPMN 2.0.2 §10.3.5); an activity that takes time (a subprocess, a call,
    a multi-instance activity, a script's path) runs alone: it starts only when nothing else
    is open, and while it runs nothing else is offered."""

    def _update_hook(self, my_task: Any) -> bool:
        if _gate_busy(my_task):
            my_task._set_state(TaskState.WAITING)
            return False
        return bool(super()._update_hook(my_task))


def _for_a_person(gate: Any) -> bool:
    return all(getattr(output, "manual", False) for output in gate.task_spec.outputs)


def _gate_busy(my_task: Any) -> bool:
    offered_together = _for_a_person(my_task)
    for other in my_task.workflow.tasks.values():
        if other is my_task or not isinstance(other.task_spec, SequentialGate):
            continue
        if other.has_state(TaskState.READY) and not (offered_together and _for_a_person(other)):
            return True
        if other.has_state(TaskState.COMPLETED) and _open_work(
                other.workflow, other, offered_ok=offered_together):
            return True
    return False


def _is_end(workflow: Any, task: Any) -> bool:
    spec = workflow.spec
    return task.task_spec is spec.end or task.task_spec.name == "End"


def _open_work(workflow: Any, under: Any, *, offered_ok: bool = False) -> bool:
    """Whether any task below `under` (the subprocess's ending aside) is not finished; with
    `offered_ok`, a task offered to a person and not done yet does not count."""
    stack = list(under.children)
    while stack:
        task = stack.pop()
        offered = offered_ok and task.has_state(TaskState.READY) and task.task_spec.manual
        if not task.has_state(TaskState.FINISHED_MASK) and not _is_end(workflow, task) \
                and not offered:
            return True
        stack.extend(task.children)
    return False


class AdHocSpec(BpmnProcessSpec):  # type: ignore[misc]
    """The inner process of an ad-hoc subprocess (see the module's docstring)."""

    def __init__(self, *, completion_condition: str | None, cancel_remaining: bool,
                 sequential: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.completion_condition = completion_condition
        self.cancel_remaining = cancel_remaining
        self.sequential = sequential
        self.activities: set[str] = set()

    def wire(self, firsts: list[str], activities: set[str]) -> None:
        """Start offers the first activities (through a gate each when Sequential); what
        has no outgoing flow ends the subprocess's path; each activity reports completing."""
        ends = (self.start, self.end, self.task_specs.get("End"))
        # (a multi-instance or loop activity's instance spec has no inputs: it is no leaf)
        leaves = [spec for spec in self.task_specs.values()
                  if spec not in ends and not spec.outputs
                  and (spec.inputs or spec.name in firsts)]
        for leaf in leaves:
            leaf.connect(self.end)
        for name in firsts:
            first = self.task_specs[name]
            if self.sequential:
                gate = SequentialGate(self, f"{self.name}.Gate.{name}")
                self.start.connect(gate)
                gate.connect(first)
            else:
                self.start.connect(first)
        self.activities = set(activities)
        for name in activities:
            self.task_specs[name].completed_event.connect(self._activity_completed)

    def _activity_completed(self, workflow: Any, task: Any) -> None:
        if workflow.spec is not self:
            return
        before = task.parent.data if task.parent is not None else {}
        changes = workflow.data.setdefault(CHANGES, {})
        changes.update({key: deepcopy(value) for key, value in task.data.items()
                        if key not in before or before[key] != value})
        if not workflow.data.get(CLOSING) and self._condition_holds(workflow, task):
            workflow.data[CLOSING] = True
        if workflow.data.get(CLOSING):
            settle(workflow, keep_running=not self.cancel_remaining)

    def _condition_holds(self, workflow: Any, task: Any) -> bool:
        if not self.completion_condition:
            return False
        data = current_data(workflow)
        try:
            return bool(workflow.script_engine.environment.evaluate(
                self.completion_condition, data))
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"the completionCondition of ad-hoc subprocess {self.name!r} failed",
                task=task, exception=err) from err


def current_data(subworkflow: Any) -> dict[str, Any]:
    """The ad-hoc subprocess's data now: its input and what its activities changed."""
    parent = subworkflow.top_workflow.get_task_from_id(subworkflow.parent_task_id)
    return {**deepcopy(parent.data), **deepcopy(subworkflow.data.get(CHANGES, {}))}


def _under_started(task: Any) -> bool:
    current = task
    while current is not None:
        if current.has_state(TaskState.STARTED):
            return True
        current = current.parent
    return False


def _open_tasks(subworkflow: Any) -> list[Any]:
    """The unfinished tasks of the subworkflow itself (not of subprocesses inside it)."""
    return list(subworkflow.get_tasks(state=TaskState.NOT_FINISHED_MASK,
                                      skip_subprocesses=True))


def settle(subworkflow: Any, *, keep_running: bool) -> bool:
    """Close the ad-hoc subprocess: cancel its open inner work (but what is running, when
    `keep_running`), and complete it once nothing runs. Whether it completed now. The
    caller emits the subworkflow's completed event, unless a task completing does."""
    for task in _open_tasks(subworkflow):
        if task.has_state(TaskState.FINISHED_MASK):  # cancelled with an ancestor already
            continue
        if keep_running and _under_started(task):
            continue
        task.cancel()
    if _open_tasks(subworkflow):
        return False
    subworkflow.completed = True
    return True


class AdHocProcessParser(SpiffProcessParser):  # type: ignore[misc]
    """Parses an adHocSubProcess's content as an `AdHocSpec`."""

    def create_spec(self) -> AdHocSpec:
        node = self.node
        condition = node.find(f"{{{BPMN_NS}}}completionCondition")
        text = (condition.text or "").strip() if condition is not None else ""
        return AdHocSpec(
            completion_condition=text or None,
            cancel_remaining=node.get("cancelRemainingInstances", "true") != "false",
            sequential=node.get("ordering", "Parallel") == "Sequential",
            name=self.bpmn_id, description=self.get_name(), filename=self.filename)

    def _parse(self) -> None:
        super()._parse()
        spec: AdHocSpec = self.spec
        firsts = [child.get("id") for child in self._first_nodes()]
        activities = {child.get("id") for child in self.node
                      if local_name(child) in ACTIVITIES and child.get("id") in spec.task_specs
                      and child.get("triggeredByEvent") != "true"}
        spec.wire([self._first_spec_name(name) for name in firsts], activities)

    def _first_spec_name(self, node_id: str) -> str:
        """The spec that starts an activity's path: its boundary-event split if it has one."""
        split = f"{node_id}.BoundaryEventSplit"
        return split if split in self.spec.task_specs else node_id

    def _first_nodes(self) -> list[Any]:
        targets = {flow.get("targetRef") for flow in self.node.iterfind(
            f"{{{BPMN_NS}}}sequenceFlow")}
        return [child for child in self.node
                if local_name(child) in FLOW_NODES - _NOT_FIRST and child.get("id")
                and child.get("id") not in targets and child.get("triggeredByEvent") != "true"]

    def add_tasks(self) -> None:
        for child in self.node:
            if local_name(child) in ("startEvent", "endEvent"):
                raise ValidationException(
                    "an ad-hoc subprocess may not hold start or end events (BPMN 2.0.2 "
                    "§10.3.5)", node=child, file_name=self.filename)
        for child in self._first_nodes():
            self.parse_node(child)


ADHOC_PARSER_CLASSES = {full_tag("adHocSubProcess"): (AdHocSubprocessParser, AdHocTask)}


def running_inner_work(subworkflow: Any) -> list[str]:
    """The steps of the inner activities now running (started, not finished)."""
    return sorted({str(task.task_spec.bpmn_id or task.task_spec.name)
                   for task in subworkflow.get_tasks(state=TaskState.STARTED,
                                                    skip_subprocesses=True)})


def find_open_adhoc(workflow: Any, step: str) -> tuple[Any, Any] | None:
    """(the running ad-hoc task at `step`, its subworkflow), or None."""
    for sub_id, subworkflow in list(workflow.subprocesses.items()):
        if subworkflow.completed or not isinstance(subworkflow.spec, AdHocSpec):
            continue
        task = workflow.get_task_from_id(sub_id)
        if task is not None and str(task.task_spec.bpmn_id or task.task_spec.name) == step:
            return task, subworkflow
    return None


def finish(workflow: Any, step: str) -> None:
    """The caseworker ends the open ad-hoc subprocess at `step`: its offered activities are
    withdrawn and it completes, as its completionCondition would. Raises LookupError when
    no such subprocess is open, RuntimeError (naming them) when inner activities run."""
    found = find_open_adhoc(workflow, step)
    if found is None:
        raise LookupError(step)
    _, subworkflow = found
    running = running_inner_work(subworkflow)
    if running:
        raise RuntimeError(", ".join(running))
    subworkflow.data[CLOSING] = True
    settle(subworkflow, keep_running=False)
    subworkflow.completed_event(subworkflow)  # the ad-hoc task is then ready to go on
