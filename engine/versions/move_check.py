"""Why a case's steps keep it from moving to another version (engine.versions.migration
has the rules): each step it completed, started or waits at, compared with its counterpart
in the new version by what the change does to this case."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import StandardLoopTask
from SpiffWorkflow.util.task import TaskState

from engine.versions.form_compat import form_problems
from engine.workflow.implicit_flows import SPLIT_SUFFIX

if TYPE_CHECKING:
    from engine.versions.migration import _Comparer

StepKey = tuple[str, str]  # (process id, step id)
# said of a step of the round of a loop the case is in (engine.versions.round_moves moves
# the case by itself then, and says so)
NEXT_ROUND = "it can move once it starts its next round of {loop!r}"

# a task the case has reached (not only predicted), and one it has yet to do
_REACHED = (TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
            | TaskState.ERROR)
_AHEAD = TaskState.PREDICTED_MASK | TaskState.FUTURE | TaskState.READY | TaskState.WAITING
# splits that start every branch (or every branch whose condition holds): a branch added
# after one ran would never run, and its join would wait for it (an ImplicitSplit: the
# outgoing flows of an activity, engine.workflow.implicit_flows)
_SPLITS = frozenset({"ParallelGateway", "InclusiveGateway", "ImplicitSplit"})


def _is_split(spec: Any) -> bool:
    """By what the spec is, not its own class name: the parser gives Pathways' subclasses
    (MergingParallelGateway, ...), which a name check would miss."""
    return any(cls.__name__ in _SPLITS for cls in type(spec).__mro__)


def workflows_of(workflow: Any) -> Iterator[Any]:
    yield workflow
    yield from workflow.subprocesses.values()


def _describe(changes: Mapping[str, Any]) -> str:
    return ", ".join("what leads to it" if kind == "inputs" else
                     "what comes next" if kind == "order" else
                     f"form: {'; '.join(detail)}" if kind == "form" and isinstance(detail, list)
                     else kind for kind, detail in changes.items())


class MoveChecker:
    """Why a case's steps keep it from moving (None where a step does not), each step and
    reason given once."""

    def __init__(self, comparer: _Comparer, version_label: str, workflow: Any,
                 done_steps: Mapping[str, set[str]]) -> None:
        self.comparer = comparer
        self.version_label = version_label
        self.workflow = workflow
        self.done_steps = done_steps
        self.visited: set[tuple[StepKey, str]] = set()
        # the reasons that hold only in the round of a loop the case is in: the loop's id
        self.rounds: dict[str, str] = {}
        self._answers: dict[str, list[Any]] = {}

    def answers(self, field_name: str) -> list[Any]:
        """Every value this case holds for a form field (in any task's data)."""
        if field_name not in self._answers:
            self._answers[field_name] = [
                data[field_name] for each in workflows_of(self.workflow)
                for data in (each.data, *(task.data for task in each.tasks.values()))
                if field_name in data]
        return self._answers[field_name]

    def refuse_if_changed(self, key: StepKey, what: str, *, with_inputs: bool) -> str | None:
        step, label = key[1].removesuffix(SPLIT_SUFFIX), self.version_label  # its activity
        if (key, what) in self.visited:
            return None
        self.visited.add((key, what))
        if key not in self.comparer.old_specs:
            return None  # not a step of the old version: nothing to compare
        if self.comparer.new_spec(key) is None:
            return f"step {step!r}, which this case {what}, is removed in {label}"
        changes: dict[str, Any] = dict(self.comparer.changes(key, with_inputs=with_inputs))
        if "form" in changes:
            old, new = self.comparer.described(key)
            problems = form_problems(old.get("form"), new.get("form"), self.answers)
            if problems:
                changes["form"] = problems
            else:
                del changes["form"]
        if what == "has completed":
            self.drop_untaken(key, changes)
        elif "inputs" in changes and self.done_inputs_kept(key):
            del changes["inputs"]
        if not changes:
            return None
        loop = _running_loop(self.workflow, key[0])
        reason = f"step {step!r}, which this case {what}, changes in {label} ({_describe(changes)})"
        if loop is None:
            return reason
        reason += f"; {NEXT_ROUND.format(loop=loop)}"
        self.rounds[reason] = loop
        return reason

    def reached(self, process: str, state: TaskState = _REACHED) -> set[str]:
        """The steps of a process this case has reached (done, or at them now; with
        state=COMPLETED: done)."""
        found = set(self.done_steps.get(process, ()))
        for each in workflows_of(self.workflow):
            if each.spec.name == process:
                found |= {task.task_spec.name for task in each.tasks.values()
                          if task.has_state(state)}
        return found

    def done_inputs_kept(self, key: StepKey) -> bool:
        """Whether what leads to a step the case waits at (a join) changed only where the
        case has not been: every step leading to it that the case has done still does (a
        step added between a branch's current task and the join is ahead of the case)."""
        done = self.reached(key[0], TaskState.COMPLETED)
        kept = {spec.name for spec in self.comparer.new_spec(key).inputs}
        return all(name in kept for name in self.comparer.renames.names(
            spec.name for spec in self.comparer.old_specs[key].inputs if spec.name in done))

    def drop_untaken(self, key: StepKey, changes: dict[str, Any]) -> None:
        """Forget a completed step's changes of what comes next (and of a decision's
        conditions) made only where the case did not go: every successor it took is still
        one, by the same condition (a step added ahead of the case, or on a branch it did
        not take). Not for a split that starts every branch."""
        old_spec = self.comparer.old_specs[key]
        if _is_split(old_spec) or not {"order", "conditions"} & set(changes):
            return
        reached = self.reached(key[0])
        taken = self.comparer.renames.names(
            spec.name for spec in old_spec.outputs if spec.name in reached)
        if not set(taken) <= {spec.name for spec in self.comparer.new_spec(key).outputs}:
            return
        changes.pop("order", None)
        old, new = self.comparer.described(key)
        if "conditions" in changes and all(
                _condition_of(old, name) == _condition_of(new, name) for name in taken):
            del changes["conditions"]

    def ahead(self, key: StepKey) -> bool:
        """Whether the case has yet to do this step again (done in an earlier round of a loop
        or before going back, and not done in the round it is in now): then what it does is
        judged when the case gets there, on the new version."""
        process, step = key
        found = [task for each in workflows_of(self.workflow)
                 if each.spec.name == process and not each.is_completed()
                 for task in each.tasks.values() if task.task_spec.name == step]
        return bool(found) and not any(task.has_state(TaskState.COMPLETED) for task in found) \
            and any(task.has_state(_AHEAD) for task in found)

    def current_steps(self, tasks: list[tuple[str, Any]]) -> list[str | None]:
        return [f"its current step {task.task_spec.name!r} is removed in {self.version_label}"
                for process, task in tasks if task.has_state(TaskState.READY)
                and self.comparer.new_spec((process, task.task_spec.name)) is None]

    def unfinished_steps(self, tasks: list[tuple[str, Any]]) -> list[str | None]:
        reasons: list[str | None] = []
        for process, task in tasks:
            key = (process, task.task_spec.name)
            if task.has_state(TaskState.WAITING):
                reasons.append(self.refuse_if_changed(key, "is waiting at", with_inputs=True))
            elif task.has_state(TaskState.STARTED | TaskState.ERROR):
                reasons.append(self.refuse_if_changed(key, "has started", with_inputs=True))
        return reasons

    def completed_steps(self, tasks: list[tuple[str, Any]]) -> list[str | None]:
        keys = [(process, task.task_spec.name) for process, task in tasks
                if task.has_state(TaskState.COMPLETED)]
        keys += [(process, step) for process, steps in sorted(self.done_steps.items())
                 for step in sorted(steps)]
        return [self.refuse_if_changed(key, "has completed", with_inputs=False)
                for key in keys if not self.ahead(key)]


def _condition_of(described: Mapping[str, Any], target: str) -> tuple[Any, ...]:
    """How a decision chooses the branch to a step: its conditions, and if it is the default."""
    conditions = described.get("conditions") or {"branches": [], "default": None}
    return (*(condition for to, condition in conditions["branches"] if to == target),
            conditions["default"] == target)


def _loops(workflow: Any, process: str | None = None) -> Iterator[str]:
    """The ids of the loops (repeats) whose current round runs the process (None: any)."""
    for sub_id, sub in workflow.subprocesses.items():
        if process not in (None, sub.spec.name) or sub.is_completed():
            continue
        for each in workflows_of(workflow):
            owner = each.tasks.get(sub_id)
            parent = owner.parent if owner is not None else None
            if parent is not None and isinstance(parent.task_spec, StandardLoopTask):
                yield str(getattr(parent.task_spec, "bpmn_id", None) or parent.task_spec.name)


def _running_loop(workflow: Any, process: str) -> str | None:
    """The id of the loop (repeat) whose current round runs the process, if one does."""
    return next(_loops(workflow, process), None)


def running_loops(workflow: Any) -> set[str]:
    """The ids of the loops (repeats) a round of which the case is in now."""
    return set(_loops(workflow))
