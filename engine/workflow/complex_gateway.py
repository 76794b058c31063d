"""The complex gateway (BPMN 2.0.2 §10.6.5, §13.3.5), run as BPMN says.

SpiffWorkflow 3.2 has no parser for `complexGateway` (publish failed with its bare "no support
implemented for this task type"), so Pathways builds it from `ComplexGateway`, a merging
inclusive gateway (engine.workflow.joins) that decides differently when to fire:

* as a join it fires as soon as its `activationCondition` holds, an expression over the case
  data and `_activationCount`, the number of tokens waiting at it (RestrictedPython forbids
  names starting with `_`, so the name is rewritten to `ACTIVATION_COUNT` before compiling);
  it then waits for the remaining tokens, the ones that were already upstream when it fired,
  and absorbs each WITHOUT firing again; once none can still arrive it has reset, and the
  next token starts a new activation (a token that went through the gateway, round a loop,
  starts one at once). Without an activationCondition it fires when every token that can
  still arrive has arrived, as an inclusive join does;
* as a split it takes every outgoing flow whose condition holds, else its default flow;
  neither is an incident: the case stops in error at the gateway, named.

What a token is, is in the task tree: a task of the gateway's spec whose parent completed.
Each carries its part in `internal_data` (stored with the case, so a reload between two
tokens changes nothing): `waiting` (counted by `_activationCount`), `fired`, `consumed` by a
firing (with the firing's task id, whose data merges only those), `absorbed`, and `reset`
for a firing whose remaining tokens all came (or can no longer come).

A token that went round a loop through a firing not reset yet waits (WAITING, unmarked) until
that firing resets, then starts the next activation, as BPMN holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import ConditionalGatewayConverter
from SpiffWorkflow.util.task import TaskState

from engine.errors import ScriptError
from engine.workflow.joins import MergingInclusiveGateway, merge_arrived
from engine.workflow.sandbox import compile_expression
from engine.workflow.validation_document import BpmnDocument, owner_id

MARK = "pathways_complex"
FIRED_BY = "pathways_complex_fired_by"
ACTIVATION_COUNT = "activation_count__pathways"
_COUNT_NAME = re.compile(r"(?<![\w.])_activationCount\b")
_TOKEN_HERE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def activation_source(condition: str) -> str:
    """The activationCondition as the sandbox compiles it (`_activationCount` renamed)."""
    return _COUNT_NAME.sub(ACTIVATION_COUNT, condition.strip())


class ComplexGateway(MergingInclusiveGateway):
    """A complex gateway (see the module docstring)."""

    def __init__(self, wf_spec: Any, name: str, activation_condition: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(wf_spec, name, **kwargs)
        self.activation_condition = activation_condition

    def _update_hook(self, my_task: Any) -> bool:
        """A token arrived (or waits on): absorb it, fire, or wait."""
        if my_task.internal_data.get(MARK) is None:
            if self._held(my_task):
                my_task._set_state(TaskState.WAITING)
                return False
            firing = self._open_firing(my_task)
            if firing is not None:
                self._absorb(my_task, firing)
                return False
            my_task.internal_data[MARK] = "waiting"
        if my_task.internal_data.get(MARK) != "waiting":
            return False
        waiting = [t for t in self._tokens(my_task) if t.internal_data.get(MARK) == "waiting"
                   and not t.has_state(TaskState.FINISHED_MASK)]  # not cancelled meanwhile
        my_task._inherit_data()
        if not self._activated(my_task, waiting):
            my_task._set_state(TaskState.WAITING)
            return False
        for task in waiting:
            if task is not my_task:
                task.internal_data[MARK] = "consumed"
                task.internal_data[FIRED_BY] = str(my_task.id)
                task.cancel()
        my_task.internal_data[MARK] = "fired"
        if not self._may_still_arrive(my_task, my_task):
            my_task.internal_data[MARK] = "reset"  # every token came: nothing to absorb
        return True

    def _run_hook(self, my_task: Any) -> bool:
        """Merge the data of the tokens this firing consumed; take the outgoing flows."""
        consumed = sorted((t for t in self._tokens(my_task)
                           if t.internal_data.get(FIRED_BY) == str(my_task.id)),
                          key=lambda t: t.last_state_change)
        arrived = [t.parent for t in [*consumed, my_task] if t.parent is not None]
        if len(arrived) > 1:
            my_task.data = merge_arrived(arrived)
        matches, defaults = self._get_matching_outputs(my_task)
        if not matches + defaults:
            raise WorkflowTaskException(
                f"no sequence flow leaving complexGateway {self.bpmn_id!r} can be taken: no "
                "condition on its outgoing flows holds and it has no default flow",
                task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True

    def _tokens(self, my_task: Any) -> Iterator[Any]:
        """The tasks of this gateway in the task's (sub)process."""
        return (t for t in my_task.workflow.tasks.values() if t.task_spec == self)

    def _open_firing(self, my_task: Any) -> Any:
        """The firing not yet reset that this token was upstream of, if any."""
        return next((t for t in self._tokens(my_task) if t.internal_data.get(MARK) == "fired"
                     and not my_task.is_descendant_of(t)), None)

    def _held(self, my_task: Any) -> bool:
        """Whether this token went round a loop through a firing not reset yet: BPMN 2.0.2
        §13.3.5 holds it until the reset (the late tokens of that firing absorbed, or none
        able to come), then it starts the next activation."""
        for firing in self._tokens(my_task):
            if firing.internal_data.get(MARK) == "fired" and my_task.is_descendant_of(firing):
                if self._may_still_arrive(my_task, firing):
                    return True
                firing.internal_data[MARK] = "reset"
        return False

    def _absorb(self, my_task: Any, firing: Any) -> None:
        my_task.internal_data[MARK] = "absorbed"
        my_task.cancel()
        if not self._may_still_arrive(my_task, firing):
            firing.internal_data[MARK] = "reset"

    def _activated(self, my_task: Any, waiting: list[Any]) -> bool:
        if self.activation_condition is None:
            return not self._may_still_arrive(my_task, None)
        engine = my_task.workflow.script_engine
        context = {**my_task.workflow.data_objects, ACTIVATION_COUNT: len(waiting)}
        return bool(engine.evaluate(my_task, activation_source(self.activation_condition),
                                    external_context=context))

    def _may_still_arrive(self, my_task: Any, firing: Any) -> bool:
        """Whether a token upstream (not past `firing`) can still reach this gateway."""
        return any(task.task_spec != self and task.has_state(_TOKEN_HERE)
                   and not (firing is not None and task.is_descendant_of(firing))
                   and self._reaches(task.task_spec)
                   for task in my_task.workflow.tasks.values())

    def _reaches(self, start: Any) -> bool:
        seen, todo = {start.name}, [start]
        while todo:
            for output in todo.pop().outputs:
                if output == self:
                    return True
                if output.name not in seen:
                    seen.add(output.name)
                    todo.append(output)
        return False


class ComplexGatewayParser(ConditionalGatewayParser):  # type: ignore[misc]
    """Builds a ComplexGateway with its activationCondition."""

    def create_task(self) -> Any:
        nodes = self.xpath("./bpmn:activationCondition")
        text = (nodes[0].text or "").strip() if nodes else ""
        return self.spec_class(self.spec, self.bpmn_id, activation_condition=text or None,
                               **self.bpmn_attributes)


class ComplexGatewayConverter(ConditionalGatewayConverter):  # type: ignore[misc]
    """A ComplexGateway as a dict: a conditional gateway's, with its activationCondition
    (so `pathways versions diff` and a migration see a change to it)."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["activation_condition"] = spec.activation_condition
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        condition = dct.pop("activation_condition", None)
        spec = super().from_dict(dct)
        spec.activation_condition = condition
        return spec


def check_activation_conditions(document: BpmnDocument) -> None:
    """Each complex gateway's activationCondition compiles in the sandbox, refused at
    publish where it is written otherwise (not when a case reaches it)."""
    for element in document.all("activationCondition"):
        what = f"the activationCondition of complexGateway {owner_id(element)!r}"
        source = (element.text or "").strip()
        if not source:
            raise document.refuse(element, "empty_expression", f"{what} is empty")
        try:
            compile_expression(activation_source(source))
        except ScriptError as err:
            message = err.message.replace(ACTIVATION_COUNT, "_activationCount")
            raise document.refuse(element, "expression", f"{what}: {message}") from err
        except (SyntaxError, ValueError) as err:
            raise document.refuse(element, "expression",
                                  f"{what} does not compile: {err}") from err
