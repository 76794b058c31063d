"""Which answers a case certainly has at each expression: definite assignment over the steps.

A case that reads a name no step has set fails there at run time ("'x' is not defined"), so
the validator (dsl.types) flags a read of a name that some path to it never sets. The walk
follows how the compiled BPMN runs: a decide takes its first branch whose `when` holds (the
earlier ones did not), a parallel step waits for all its branches, a repeat's steps run at
least once (the loop tests after each round), and an `end` ends the case.

What a step sets is `step_defines`: one function, extended through DEFINERS for new step
kinds. A name set only on some paths is remembered with the conditions of those paths, so
`met_at_gate or contact_made` (contact_made asked only when `not met_at_gate`) is not flagged.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dsl.loader import Path
from dsl.steps import all_steps, branch_lists, step_kind
from engine.workflow.expressions import ExpressionError, parse


@dataclass(frozen=True)
class Type:
    """What an answer holds. kind: any, text, choice (one of `options`), choices (a list of
    them), boolean, number, date, duration, result (a referral's {case, exit_reason}), list."""

    kind: str
    options: tuple[Any, ...] = ()


ANY = Type("any")


@dataclass(frozen=True)
class Definition:
    """A name a step sets: `certain` when every run of the step sets it (a required field),
    else `why` it may not (said in the message of a read that needs it), and `when` it
    surely does (a field required when a condition holds)."""

    name: str
    type: Type
    certain: bool
    why: str = ""
    when: str | None = None  # not certain, but set whenever this condition holds


Definer = Callable[[Mapping[str, Any]], list[Definition]]

_FIELD_TYPES = {"text": "text", "long_text": "text", "number": "number", "integer": "number",
                "scale": "number", "boolean": "boolean", "date": "date", "choice": "choice",
                "multiple_choice": "choices"}


def field_type(spec: Any) -> Type:
    """The type of a form field (or client field) from its declaration."""
    kind = spec.get("type") if isinstance(spec, dict) else spec
    found = _FIELD_TYPES.get(kind) if isinstance(kind, str) else None
    if found is None:
        return ANY
    options = spec.get("options") if isinstance(spec, dict) else None
    if found in ("choice", "choices"):
        if not isinstance(options, list) or not all(
                isinstance(o, str | int | float) for o in options):
            return ANY
        return Type(found, tuple(options))
    return Type(found)


def _task(step: Mapping[str, Any]) -> list[Definition]:
    form = step.get("form")
    found = []
    for name, spec in (form.items() if isinstance(form, dict) else ()):
        if not isinstance(name, str) or not isinstance(spec, dict):
            continue
        computed = spec.get("computed") is not None  # worked out on every completion
        certain = computed or (spec.get("required") is True
                               and spec.get("visible_when") is None)
        why = ("it is required only when shown (visible_when)" if spec.get("required") is True
               else "it is not required")
        when = spec.get("required_when") if spec.get("visible_when") is None else None
        found.append(Definition(name, field_type(spec), certain, "" if certain else why,
                                when=str(when) if isinstance(when, str | bool) and not certain
                                else None))
    return found


def _set(step: Mapping[str, Any]) -> list[Definition]:
    values = step.get("values")
    return [Definition(name, ANY, True) for name in (values if isinstance(values, dict) else ())
            if isinstance(name, str)]


def _refer(step: Mapping[str, Any]) -> list[Definition]:
    if step.get("wait") is True and isinstance(step.get("refer"), str):
        return [Definition(f"{step['refer']}_result", Type("result"), True)]
    return []


def _include(step: Mapping[str, Any]) -> list[Definition]:
    provides = step.get("provides")
    return [Definition(name, ANY, True) for name in (provides if isinstance(provides, list)
                                                     else ()) if isinstance(name, str)]


def _for_each(step: Mapping[str, Any]) -> list[Definition]:
    sid = step.get("for_each")
    return [Definition(f"{sid}_results", Type("list"), True)] if isinstance(sid, str) else []


def _repeat(step: Mapping[str, Any]) -> list[Definition]:
    """A repeat keeps its rounds under its id (`<id>.rounds`) once it has run."""
    sid = step.get("repeat")
    return [Definition(sid, ANY, True)] if isinstance(sid, str) else []


DEFINERS: dict[str, Definer] = {"task": _task, "refer": _refer, "set": _set,
                                "include": _include, "for_each": _for_each, "repeat": _repeat}


def step_defines(step: Mapping[str, Any], kind: str) -> list[Definition]:
    """The names a step of this kind sets when it completes (none for a kind not known)."""
    definer = DEFINERS.get(kind)
    return definer(step) if definer is not None else []


# -- conditions: what a path knows to hold --------------------------------------------------

Fact = tuple[str, bool]  # (ast.dump of a condition, whether it holds)
Assumption = tuple[ast.expr, bool]


_DUMPS: dict[int, tuple[ast.AST, str]] = {}  # id -> (node, kept alive so ids stay unique)


def dump(node: ast.AST) -> str:
    """ast.dump, remembered: the same condition is compared at every read after it."""
    found = _DUMPS.get(id(node))
    if found is None:
        if len(_DUMPS) > 20000:
            _DUMPS.clear()
        found = _DUMPS[id(node)] = (node, ast.dump(node))
    return found[1]


def _canonical(node: ast.expr, truth: bool) -> tuple[ast.expr, bool]:
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        node, truth = node.operand, not truth
    return node, truth


def known_facts(assumptions: Sequence[Assumption]) -> set[Fact]:
    """Every condition the assumptions make hold (a and b true: a true, b true; ...)."""
    facts: set[Fact] = set()
    todo = list(assumptions)
    while todo and len(facts) < 1000:
        node, truth = _canonical(*todo.pop())
        facts.add((dump(node), truth))
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) is truth:
            todo += [(value, truth) for value in node.values]
    return facts


def implied(node: ast.expr, truth: bool, facts: set[Fact], depth: int = 0) -> bool:
    """Whether the facts make the condition `node` come out as `truth`."""
    node, truth = _canonical(node, truth)
    if (dump(node), truth) in facts:
        return True
    if not isinstance(node, ast.BoolOp) or depth > 20:
        return False
    checks = (implied(value, truth, facts, depth + 1) for value in node.values)
    return all(checks) if isinstance(node.op, ast.And) is truth else any(checks)


# -- the walk -------------------------------------------------------------------------------

Guard = frozenset[tuple[str, bool]]  # (ast.dump, truth) of conditions that together set a name


@dataclass(frozen=True)
class State:
    """What a path has set: names certainly set, and names set when one of their guards'
    conditions all held (a decide's branch)."""

    certain: frozenset[str]
    guarded: Mapping[str, frozenset[Guard]] = field(default_factory=dict)

    def with_names(self, names: Sequence[str], guarded: Mapping[str, Guard] | None = None
                   ) -> State:
        """This state after a step that sets names, and others under a condition."""
        if not guarded:
            return State(self.certain | set(names), self.guarded)
        merged = {name: set(guards) for name, guards in self.guarded.items()}
        for name, guard in guarded.items():
            merged.setdefault(name, set()).add(guard)
        return _state(self.certain | set(names), merged)

    def has(self, name: str, facts: set[Fact], conditions: Mapping[str, ast.expr]) -> bool:
        """Whether the name is set on every path, given the facts that hold where it is read
        (conditions: each guard's condition by its ast.dump)."""
        return name in self.certain or any(
            all(fact in facts or implied(conditions[fact[0]], fact[1], facts) for fact in guard)
            for guard in self.guarded.get(name, ()))


# bounds on the work for a huge document: a name's guards kept, and the conditions in one
# (beyond them a name counts as not set: a nested decide 8 deep reads as not asked)
_MAX_GUARDS = 16
_MAX_CONDITIONS = 8


def _kept(guards: set[Guard]) -> frozenset[Guard]:
    guards = _resolved(guards)
    fitting = sorted((sorted(guard) for guard in guards if len(guard) <= _MAX_CONDITIONS),
                     key=lambda facts: (len(facts), facts))
    return frozenset(frozenset(facts) for facts in fitting[:_MAX_GUARDS])


def _resolved(guards: set[Guard]) -> set[Guard]:
    """With each two guards that differ only in one condition's truth ({a, c} and {a, not
    c}), the guard without it ({a}): the name is set whichever way c went (asked when c,
    and in the branch for not c). The empty guard: set on every path."""
    found = set(guards)
    todo = list(found)
    while todo and len(found) < 4 * _MAX_GUARDS:
        guard = todo.pop()
        for condition, truth in guard:
            rest = guard - {(condition, truth)}
            if rest not in found and rest | {(condition, not truth)} in found:
                found.add(rest)
                todo.append(rest)
    return found


def alternatives(outcomes: Sequence[tuple[Guard, State | None]],
                 before: State | None = None) -> State | None:
    """After a choice of paths (a decide's branches): None when every path ended the case.
    before: the state the paths started from; a name it had set under a guard stays set
    under that guard, whichever path was taken."""
    reached = [(guard, state) for guard, state in outcomes if state is not None]
    if not reached:
        return None
    certain = frozenset.intersection(*(state.certain for _, state in reached))
    guarded: dict[str, set[Guard]] = {}
    for guard, state in reached:
        for name in state.certain - certain:
            guarded.setdefault(name, set()).add(guard)
        for name, inner in state.guarded.items():
            if name not in certain:
                kept = before.guarded.get(name, frozenset()) if before else frozenset()
                guarded.setdefault(name, set()).update(
                    each if each in kept else guard | each for each in inner)
    return _state(certain, guarded)


def _state(certain: frozenset[str], guarded: Mapping[str, set[Guard]]) -> State:
    """The state with these names, those set under the empty guard (on every path) among
    the certain ones."""
    kept = {name: _kept(guards) for name, guards in guarded.items()}
    everywhere = {name for name, guards in kept.items() if frozenset() in guards}
    return State(certain | everywhere, {name: guards for name, guards in kept.items()
                                        if name not in everywhere})


def together(states: Sequence[State | None]) -> State | None:
    """After steps that all run (a parallel step's branches)."""
    if not states or any(state is None for state in states):
        return None
    certain = frozenset().union(*(s.certain for s in states if s is not None))
    guarded: dict[str, set[Guard]] = {}
    for state in states:
        for name, guards in (state.guarded.items() if state is not None else ()):
            if name not in certain:
                guarded.setdefault(name, set()).update(guards)
    return _state(certain, guarded)


@dataclass(frozen=True)
class Read:
    """An expression, with what the paths to it have set and what holds when it is read."""

    path: Path
    state: State
    assumptions: tuple[Assumption, ...] = ()
    checks_answers: bool = True  # False where a missing name is harmless (visible_when)


@dataclass
class Holding:
    """A condition known to hold on the steps of a decide's branch (its `when`, and that
    the earlier branches' did not), until a step there sets a name the condition reads."""

    assumption: Assumption
    reads: frozenset[str]
    live: bool = True


@dataclass
class Walk:
    """The walk over the document's steps: every expression as a Read, and where each name
    is set (for messages)."""

    reads: list[Read] = field(default_factory=list)
    conditions: dict[str, ast.expr] = field(default_factory=dict)  # of guards, by ast.dump
    sites: dict[str, list[tuple[Path, Definition]]] = field(default_factory=dict)
    types: dict[str, list[Type]] = field(default_factory=dict)
    holding: list[Holding] = field(default_factory=list)  # the branches the walk is in

    def steps(self, steps: Any, path: Path, state: State | None) -> State | None:
        for index, step in enumerate(steps if isinstance(steps, list) else ()):
            kind = step_kind(step)
            if kind is None or state is None:
                continue  # malformed (the schema reports it), or unreachable (reported too)
            state = self.step(step, kind, (*path, index), state)
        return state

    def step(self, step: dict[str, Any], kind: str, path: Path, state: State) -> State | None:
        flow = _FLOWS.get(kind)
        if flow is None:
            return self.unknown_kind(step, kind, path, state)
        after = flow(self, step, path, state)
        certain, guarded = self.define(step, kind, path)
        self.forget([*certain, *guarded])
        return after.with_names(certain, guarded) if after is not None else None

    def forget(self, names: Sequence[str]) -> None:
        """A step set these names: the branch conditions that read one may no longer hold."""
        for holding in self.holding:
            if holding.live and not holding.reads.isdisjoint(names):
                holding.live = False

    def within(self, steps: Any, path: Path, state: State,
               assumptions: Sequence[Assumption]) -> State | None:
        """A decide's branch (or otherwise): its steps, read knowing its conditions hold.
        A branch with a go_to may run its steps again after they changed what a condition
        reads: such a condition is not relied on there."""
        again = _set_inside(steps) if _has_go_to(steps) else frozenset()
        added = [Holding(assumption, reads, reads.isdisjoint(again))
                 for assumption in assumptions for reads in [_names_in(assumption[0])]]
        self.holding.extend(added)
        try:
            return self.steps(steps, path, state)
        finally:
            del self.holding[len(self.holding) - len(added):]

    def define(self, step: dict[str, Any], kind: str, path: Path
               ) -> tuple[list[str], dict[str, Guard]]:
        """What the step sets: names surely, and names under a condition."""
        certain, guarded = [], {}
        for definition in step_defines(step, kind):
            self.sites.setdefault(definition.name, []).append((path, definition))
            self.types.setdefault(definition.name, []).append(definition.type)
            if definition.certain:
                certain.append(definition.name)
            elif definition.when is not None:
                guarded[definition.name] = self.guard([(_condition(definition.when), True)])
        return certain, guarded

    def read(self, path: Path, state: State, *assumed: Assumption,
             checks_answers: bool = True) -> None:
        holding = tuple(h.assumption for h in self.holding if h.live)
        self.reads.append(Read(path, state, (*holding, *assumed), checks_answers))

    def flow_task(self, step: dict[str, Any], path: Path, state: State) -> State:
        form = step.get("form")
        for name, spec in (form.items() if isinstance(form, dict) else ()):
            if isinstance(spec, dict) and "visible_when" in spec:
                self.read((*path, "form", name, "visible_when"), state, checks_answers=False)
        return state

    def flow_decide(self, step: dict[str, Any], path: Path, state: State) -> State | None:
        branches = step.get("branches")
        earlier: list[Assumption] = []
        outcomes: list[tuple[Guard, State | None]] = []
        for index, branch in enumerate(branches if isinstance(branches, list) else ()):
            if not isinstance(branch, dict):
                continue
            condition = _condition(branch.get("when"))
            self.read((*path, "branches", index, "when"), state, *earlier)
            guard = self.guard([*earlier, (condition, True)])
            outcome = self.within(branch.get("steps"), (*path, "branches", index, "steps"),
                                  state, [*earlier, (condition, True)])
            outcomes.append((guard, outcome))
            earlier.append((condition, False))
        otherwise = self.within(step.get("otherwise"), (*path, "otherwise"), state, earlier)
        return alternatives([*outcomes, (self.guard(earlier), otherwise)], state)

    def guard(self, assumptions: Sequence[Assumption]) -> Guard:
        facts = []
        for node, truth in (_canonical(*assumption) for assumption in assumptions):
            self.conditions.setdefault(dump(node), node)
            facts.append((dump(node), truth))
        return frozenset(facts)

    def flow_parallel(self, step: dict[str, Any], path: Path, state: State) -> State | None:
        branches = step.get("branches")
        return together([self.steps(branch.get("steps"), (*path, "branches", index, "steps"),
                                    state)
                         for index, branch in enumerate(branches if isinstance(branches, list)
                                                        else ()) if isinstance(branch, dict)])

    def flow_repeat(self, step: dict[str, Any], path: Path, state: State) -> State | None:
        # inside, `round` and the repeat's own record (<id>.rounds, <id>.round) are set
        sid = step.get("repeat")
        inner = state.with_names(["round", *([sid] if isinstance(sid, str) else [])])
        after = self.steps(step.get("steps"), (*path, "steps"), inner)  # runs at least once
        if after is not None and "until" in step:
            self.read((*path, "until"), after)
        return after

    def flow_wait(self, step: dict[str, Any], path: Path, state: State) -> State:
        if "until" in step:
            self.read((*path, "until"), state)
        return state

    def flow_record(self, step: dict[str, Any], path: Path, state: State) -> State:
        if "when" in step:
            self.read((*path, "when"), state)
        if "value" in step:  # computed only when `when` holds
            assumed = [(_condition(step["when"]), True)] if "when" in step else []
            self.read((*path, "value"), state, *assumed)
        return state

    def flow_plain(self, step: dict[str, Any], path: Path, state: State) -> State:
        """refer, notify: nothing read; what they set is step_defines'."""
        return state

    def flow_set(self, step: dict[str, Any], path: Path, state: State) -> State:
        """A set step's values, each read with the ones before it already set."""
        values = step.get("values")
        for name in (values if isinstance(values, dict) else ()):
            self.read((*path, "values", name), state)
            if isinstance(name, str):
                state = state.with_names([name], {})
                self.forget([name])
        return state

    def flow_end(self, step: dict[str, Any], path: Path, state: State) -> None:
        return None

    def unknown_kind(self, step: dict[str, Any], kind: str, path: Path,
                   state: State) -> State | None:
        """A kind this walk does not know: its own names set before its nested steps, which
        run as alternatives (a name set inside is not counted as certain after it)."""
        inner = state.with_names(*self.define(step, kind, path))
        nested = [self.steps(steps, nested_path, inner)
                  for steps, nested_path in branch_lists(step, kind, path)]
        outcomes: list[tuple[Guard, State | None]] = [(frozenset(), o) for o in nested]
        return alternatives([*outcomes, (frozenset(), inner)]) if outcomes else inner


def _names_in(node: ast.expr) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _has_go_to(steps: Any) -> bool:
    return any(kind == "go_to" for _, kind, _ in all_steps(steps, ()))


def _set_inside(steps: Any) -> frozenset[str]:
    """Every name the steps (nested ones too) may set."""
    return frozenset(definition.name for step, kind, _ in all_steps(steps, ())
                     for definition in step_defines(step, kind))


def _condition(source: Any) -> ast.expr:
    """The parsed condition; one that does not parse matches no other (it is reported)."""
    if isinstance(source, bool):
        return ast.Constant(source)
    try:
        return parse(str(source)).body
    except (ExpressionError, RecursionError, MemoryError):
        return ast.Name(f"<unparsed {id(source)}>")


_FLOWS: dict[str, Callable[[Walk, dict[str, Any], Path, State], State | None]] = {
    "task": Walk.flow_task, "decide": Walk.flow_decide, "parallel": Walk.flow_parallel,
    "repeat": Walk.flow_repeat, "wait": Walk.flow_wait, "record": Walk.flow_record,
    "end": Walk.flow_end, "refer": Walk.flow_plain, "notify": Walk.flow_plain,
    "set": Walk.flow_set, "go_to": Walk.flow_plain}


def walk(data: Mapping[str, Any], client_fields: Sequence[str]) -> Walk:
    """Every expression of the document with what is certainly set when it is read."""
    found = Walk()
    found.steps(data.get("steps"), ("steps",), State(frozenset(client_fields)))
    return found


def names_read(node: ast.AST, assumed: tuple[Assumption, ...] = ()
               ) -> Iterator[tuple[str, ast.AST, tuple[Assumption, ...]]]:
    """(root name, its node, what holds when it is evaluated) for each name an expression
    reads: `b` in `a and b` is read only when `a` holds, in `a or b` only when it does not."""
    if isinstance(node, ast.BoolOp):
        for index, value in enumerate(node.values):
            holds = isinstance(node.op, ast.And)
            yield from names_read(value, (*assumed, *((v, holds) for v in node.values[:index])))
        return
    if isinstance(node, ast.IfExp):
        yield from names_read(node.test, assumed)
        yield from names_read(node.body, (*assumed, (node.test, True)))
        yield from names_read(node.orelse, (*assumed, (node.test, False)))
        return
    if isinstance(node, ast.Attribute | ast.Name):
        root: ast.AST = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name):
            yield root.id, root, assumed
            return
    children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
    for child in children:
        yield from names_read(child, assumed)
