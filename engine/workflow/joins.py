"""How case data from parallel branches is merged where they join.

SpiffWorkflow merges the branches' data with `DeepMerge`, whose list merge ends with
`del a[len(b):]`: a list two branches (or a loop in one branch) added to is cut to the length
of one branch's copy, and items vanish without an error. Our joins merge instead against the
data the branches started from (the data of the task where they split):

* dicts are merged key by key, at any depth;
* lists that every branch only added to keep the items they started with, then the items
  each branch added, in the order the branches reached the join; a list one branch rebuilt
  (not only added to) keeps every item of both, the earlier branch's first, never truncated;
* a value only one branch changed takes that branch's value (a list too: one branch's list
  rebuilt while the other's is as it started is the rebuilt one);
* a value two branches changed differently (a scalar, or values of different types) takes
  the value of the branch that reached the join last;
* a key one branch deleted stays if another branch still holds it: no branch's data is
  dropped.

A parallel multi-instance activity is a join too: its instances all start from the data
the activity started with (kept in its internal data until it finishes), and each one's data
is merged in as it completes, by the same rule (an activity that collects an output
collection is left as the library does it: that path does not merge).

A process's end is a join too (`MergingEndJoin`): every path that reaches it meets there,
such as a non-interrupting handler's path and its activity's. A handler's path starts from
the answers given inside its activity when it went off (engine.workflow.interrupts), not
from where the branches split, so it is merged against those: what it did not change since
(a for_each's list of items, replaced by their answers on the other path) is not taken for
a change. SpiffWorkflow's own merge there raised on a list of numbers against a list of
answers, and the branch that ended last overwrote what the others had answered.

A standard loop is not a join: its rounds run one after another, so the loop takes each
round's data as the round left it (`_ContinuingLoop`), never a DeepMerge with the round before.

The parser is told to build parallel and inclusive gateways, parallel multi-instance activities
and standard loops from the classes below (`with_merging_joins`, used by
engine.workflow.definitions), so the library itself is not patched.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, GatewayParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.util.task import TaskState

_MISSING: Any = object()
_SPLIT_DATA = "pathways_split_data"  # a parallel multi-instance's data when it started


def merge_branches(base: dict[str, Any], branches: list[dict[str, Any]],
                   starts: list[dict[str, Any] | None] | None = None) -> dict[str, Any]:
    """The data after a join: `branches` (each branch's data, in the order they reached the
    join) merged against `base` (the data where they split), as the module docstring says;
    `starts` gives, per branch, the data it started from where that is later than the split
    (a handler's path: what it went off with), else None. Two branches are merged against
    the later start of the two."""
    if not branches:
        return deepcopy(base)
    starts = starts or [None] * len(branches)
    merged, started = deepcopy(branches[0]), starts[0]
    for branch, own in zip(branches[1:], starts[1:], strict=True):
        merged = _merge(next(s for s in (own, started, base) if s is not None), merged, branch)
        started = own if own is not None else started
    return merged


def _merge(base: Any, ours: Any, theirs: Any) -> Any:
    """`theirs` (the later branch) merged into `ours` (the branches merged so far)."""
    if theirs is _MISSING:
        return ours
    if ours is _MISSING:
        return deepcopy(theirs)
    if theirs == base:
        return ours  # the later branch left it as it started (and so did ours, or ours changed it)
    if ours == base:
        return deepcopy(theirs)  # only the later branch changed it
    if isinstance(ours, list) and isinstance(theirs, list):
        return _merge_lists(base, ours, theirs)
    if isinstance(ours, dict) and isinstance(theirs, dict):  # even equal: lists inside add up
        keyed = base if isinstance(base, dict) else {}
        out = dict(ours)
        for key, value in theirs.items():
            out[key] = _merge(keyed.get(key, _MISSING), ours.get(key, _MISSING), value)
        return out
    if ours == theirs:
        return ours
    return deepcopy(theirs)  # both changed it: the later one wins


def _merge_lists(base: Any, ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Each branch's additions, in order; without a common start, what theirs holds beyond
    ours (an item held n times by theirs and m by ours: n - m more)."""
    start = base if isinstance(base, list) else []
    if ours[:len(start)] == start and theirs[:len(start)] == start:
        return ours + deepcopy(theirs[len(start):])
    unmatched, added = list(ours), []
    for item in theirs:
        if item in unmatched:
            unmatched.remove(item)
        else:
            added.append(deepcopy(item))
    return ours + added


def merge_arrived(arrived: list[Any]) -> dict[str, Any]:
    """The data after a join the tasks `arrived` (each branch's last, in the order they
    reached it) meet at: merge_branches against where they split, a handler's path against
    what it went off with."""
    base, starts = _split(arrived)
    return merge_branches(base, [t.data for t in arrived], starts)


def _split(tasks: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any] | None]]:
    """The data of the nearest task all `tasks` descend from (where the branches split), and
    per task the data its branch started from where that is not the split's: the first task
    below the split whose spec `starts_from_inside` (a handler's path,
    engine.workflow.interrupts), else None."""
    chains = []
    for task in tasks:
        chain, node = [], task
        while node is not None:
            chain.append(node)
            node = node.parent
        chains.append(chain)
    common = set(map(id, chains[0])).intersection(*(set(map(id, c)) for c in chains[1:]))
    starts: list[dict[str, Any] | None] = []
    for chain in chains:
        below = [node for node in chain if id(node) not in common
                 and getattr(node.task_spec, "starts_from_inside", False)]
        starts.append(dict(below[-1].data) if below else None)
    for node in chains[0]:
        if id(node) in common:
            return dict(node.data), starts
    return {}, starts


class _MergingJoin:
    """A join whose `_run_hook` merges the arriving branches by `merge_branches`."""

    def _run_hook(self, my_task: Any) -> bool:
        others = sorted(
            (t for t in my_task.workflow.tasks.values()
             if t.task_spec == self and t.has_state(TaskState.FINISHED_MASK)
             and not my_task.is_descendant_of(t)),
            key=lambda t: t.last_state_change)
        arrived = [t.parent for t in others if t.parent is not None]
        if my_task.parent is not None:
            arrived.append(my_task.parent)
        for task in others:
            # As the library does: a branch reset into a cancelled path leaves stale children.
            if task.has_state(TaskState.COMPLETED):
                task._drop_children(force=True)
        if len(arrived) > 1:
            my_task.data = merge_arrived(arrived)
        else:
            my_task._inherit_data()
        return True


class MergingParallelGateway(_MergingJoin, ParallelGateway):  # type: ignore[misc]
    """A parallel gateway that joins branches without losing list items."""


class MergingInclusiveGateway(_MergingJoin, InclusiveGateway):  # type: ignore[misc]
    """An inclusive gateway that joins branches without losing list items; it still
    chooses its outgoing flows as the library's does."""

    def _run_hook(self, my_task: Any) -> bool:
        _MergingJoin._run_hook(self, my_task)
        # the library's inclusive _run_hook, minus its own (truncating) merge
        matches, defaults = self._get_matching_outputs(my_task)
        if len(matches + defaults) == 0:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


class MergingEndJoin(_MergingJoin, _EndJoin):  # type: ignore[misc]
    """A process's end, joining every path that reaches it without losing what any of them
    answered (see the module docstring); then, as the library's, the process's data."""

    def _run_hook(self, my_task: Any) -> bool:
        _MergingJoin._run_hook(self, my_task)
        my_task.workflow.data.update(my_task.data)
        return True


def with_merging_end(spec: Any) -> None:
    """Give a process spec (its own class of end join left alone) the merging end join."""
    if type(spec.end) is _EndJoin:
        spec.end.__class__ = MergingEndJoin


class _MergingMultiInstance:
    """A parallel multi-instance activity merging each instance's data by `merge_branches`
    against the data it started with (mixed in before the library's class)."""

    def create_children(self, my_task: Any) -> None:
        """Keep the data the instances start from (inherited by now), then create them."""
        my_task.internal_data[_SPLIT_DATA] = deepcopy(my_task.data)
        super().create_children(my_task)  # type: ignore[misc]

    def merge_child(self, workflow: Any, child: Any) -> None:
        spec: Any = self
        if spec.data_output is not None and spec.output_item is not None:
            super().merge_child(workflow, child)  # type: ignore[misc]  # no data merge there
            return
        my_task = child.parent
        if spec.input_item is not None:  # the instance's own (see _InstanceItem)
            child.data.pop(spec.input_item.bpmn_id, None)
        base = my_task.internal_data.get(_SPLIT_DATA) or {}
        my_task.data = merge_branches(base, [my_task.data, child.data])
        my_task.internal_data["merged"].append(str(child.id))
        # what the library's ParallelMultiInstanceTask.merge_child does after merging
        if spec.check_completion_condition(my_task):
            for instance in spec._instances(my_task):
                instance.cancel()
            my_task._set_state(TaskState.READY)
        elif spec.children_complete(my_task):
            my_task._set_state(TaskState.READY)
        if my_task.has_state(TaskState.READY):
            my_task.internal_data.pop(_SPLIT_DATA, None)  # done: it only weighs now


class _ContinuingLoop:
    """A standard loop whose rounds run one after another, each starting from the data the
    round before left (mixed in before the library's class): the loop takes each round's data
    as it is. The library's DeepMerge would keep the items a round took out of a list, or cut
    a list to the round's length (a multiple-choice answer of ['a', 'b'], then ['c'], read
    ['a'] after the loop), and keep keys a round deleted."""

    def merge_child(self, workflow: Any, child: Any) -> None:
        spec: Any = self
        my_task = child.parent
        my_task.data = deepcopy(child.data)
        my_task.internal_data["merged"].append(str(child.id))
        # what the library's StandardLoopTask.merge_child does after merging
        if spec.loop_complete(my_task):
            my_task._set_state(TaskState.READY)
        else:
            spec.create_child(my_task)


class _InstanceItem:
    """A sequential multi-instance activity over a collection whose item stays the instance's
    own (mixed in before the library's class). BPMN 2.0.2 §13.3.7 gives each instance its
    inputDataItem; the library merges an instance's data, item and all, into the activity's,
    then refuses to start the next instance because the item "already exists": a case over
    two items stopped in error at the second. The item is left out of what is merged back."""

    def merge_child(self, workflow: Any, child: Any) -> None:
        spec: Any = self
        if spec.input_item is not None and spec.output_item is None:
            child.data.pop(spec.input_item.bpmn_id, None)
        super().merge_child(workflow, child)  # type: ignore[misc]


JOIN_OVERRIDES: dict[str, tuple[Any, Any]] = {
    full_tag("parallelGateway"): (GatewayParser, MergingParallelGateway),
    full_tag("inclusiveGateway"): (ConditionalGatewayParser, MergingInclusiveGateway),
}
_derived: dict[type, type] = {}


def _merging_task_parser(parser_class: type) -> type:
    """parser_class, building its parallel multi-instance activities with our merge, its
    sequential ones with `_InstanceItem` and its standard loops with `_ContinuingLoop`."""
    if parser_class not in _derived:
        instances = type(f"Merging{parser_class.PARALLEL_MI_CLASS.__name__}",  # type: ignore[attr-defined]
                         (_MergingMultiInstance, parser_class.PARALLEL_MI_CLASS), {})  # type: ignore[attr-defined]
        loop_class = parser_class.STANDARD_LOOP_CLASS  # type: ignore[attr-defined]
        loops = type(f"Continuing{loop_class.__name__}", (_ContinuingLoop, loop_class), {})
        sequential_class = parser_class.SEQUENTIAL_MI_CLASS  # type: ignore[attr-defined]
        sequential = type(f"ItemOwning{sequential_class.__name__}",
                          (_InstanceItem, sequential_class), {})
        _derived[parser_class] = type(f"Merging{parser_class.__name__}", (parser_class,),
                                      {"PARALLEL_MI_CLASS": instances,
                                       "STANDARD_LOOP_CLASS": loops,
                                       "SEQUENTIAL_MI_CLASS": sequential})
    return _derived[parser_class]


def with_merging_joins(overrides: dict[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    """A parser's OVERRIDE_PARSER_CLASSES with our joins: the gateways above, and every task
    parser building its parallel multi-instance activities from `_MergingMultiInstance`."""
    out = {tag: (_merging_task_parser(parser) if isinstance(parser, type)
                 and issubclass(parser, TaskParser) else parser, spec)
           for tag, (parser, spec) in overrides.items()}
    out.update(JOIN_OVERRIDES)
    return out
