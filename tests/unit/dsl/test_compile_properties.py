"""Properties of dsl.compile over random valid documents: each one validates, compiles to BPMN
the engine parses, runs to completion on the real Engine with random valid form data, and
compiles to the same bytes every time.

The generator (`documents`) builds plain dicts, as yaml.safe_load gives them, from every step
kind and form field type. It keeps them valid by construction: conditions only read names
that are defined on every path to them (the fields of an initial task, required fields of
earlier tasks in the same step list or of a parallel or repeat before, client fields, the
result of a refer that waited), `end` is only ever the last step of a list and never inside a
parallel branch, and a decide whose every branch may end is only ever the last step of its
list, so no step is unreachable. Ids are numbered (`task_3`), so they never collide with the
ids the compiler derives (`<id>_merge`, `start`, a role's lane...).

Parallel branches always have steps: the validator refuses empty ones, because flows from a
split straight into its join leave SpiffWorkflow 3.2 with a stale task after the join.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from dsl import compile_pathway, validate
from engine import Engine
from engine.workflow.definitions import parse_bundle
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

# the open task picked at random is picked alike on a replay (tests/unit/conftest.py)
pytestmark = pytest.mark.usefixtures("task_ids_in_creation_order")

HELPER_ID = "helper_pathway"
HELPER: dict[str, Any] = {
    "pathway": HELPER_ID,
    "title": "Helper pathway",
    "roles": {"helper": {"title": "Helper"}},
    "steps": [{"task": "help_out", "role": "helper", "title": "Help out",
               "form": {"helped": {"type": "boolean", "required": True}}},
              {"end": "helped_end", "reason": "helped"}],
}
PROPERTIES = settings(max_examples=100, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TITLES = ("Check in", "Review <needs> & risks", 'Ask "how are you?"', "Café visit",
          "Référence n° 3", "Plan: next steps", "A", "Follow-up; then close",
          "Two\nlines", "  padded  ", "{braces} and 'quotes'")
# a message's braces are placeholders ({client.name}); doubled, they are braces
MESSAGES = (*(title.replace("{", "{{").replace("}", "}}") for title in TITLES),
            "Case {case} for {client.name}", "{{not a placeholder}}")
WORDS = ("yes", "no", "not sure", "on", "off", "a & b", "<none>", "1", "true", "hostel",
         "family", "café")
REASONS = ("completed", "declined", "moved away", "not engaged")
DURATIONS_FOR = ("PT1H", "P1D", "P2D", "PT30M")
# conditions on the initial task's fields, which every path defines
INITIAL_FORM: dict[str, Any] = {
    "gate_a": {"type": "boolean", "required": True, "title": "Gate A"},
    "gate_b": {"type": "boolean", "required": True},
    "score": {"type": "integer", "required": True, "min": 0, "max": 10},
}
FIELD_TYPES = ("text", "long_text", "number", "integer", "boolean", "date", "choice",
               "multiple_choice", "scale")


@dataclass
class Scope:
    """Names defined on every path to the current point."""

    booleans: list[str] = field(default_factory=list)
    integers: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)  # <refer>_result of refers that waited

    def copy(self) -> Scope:
        return Scope(list(self.booleans), list(self.integers), list(self.results))


class Builder:
    """Draws one document's steps; ids and field names are numbered, so unique."""

    def __init__(self, draw: st.DrawFn, roles: list[str], client_fields: dict[str, str]) -> None:
        self.draw = draw
        self.roles = roles
        self.client = client_fields
        self.budget = draw(st.integers(2, 12))  # steps, beyond the initial task
        self.count = 0
        self.defined = Scope()
        self.visible_names: list[str] = []  # booleans defined before the form being drawn
        self.in_for_each = False  # a for_each inside another is refused
        self.block_depth = 2  # blocks only at depths below this

    def new_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    # -- expressions --

    def condition(self, scope: Scope) -> Any:
        atoms = self.draw(st.lists(st.sampled_from(self.atoms(scope)), min_size=1, max_size=2))
        if len(atoms) == 1:
            return atoms[0]
        joiner = self.draw(st.sampled_from([" and ", " or "]))
        return joiner.join(f"({atom})" if isinstance(atom, str) else str(atom).lower()
                           for atom in atoms)

    def atoms(self, scope: Scope) -> list[Any]:
        found: list[Any] = [True, False, 1, " true "]
        for name in scope.booleans:
            found += [name, f"not {name}"]
        for name in scope.integers:
            found += [f"{name} > 5", f"{name} <= 3", f"{name} in [1, 2, 3]",
                      f"{name} * 2 >= 7"]
        if self.client.get("release_date") == "date":
            found += ['days_between("2026-01-01", release_date) > 25',
                      'client.release_date < "2026-01-20"']
        for name in scope.results:
            found += [f"{name}.case > 0", f'{name}.exit_reason == "helped"']
        if "settled" in self.client:
            found += ["settled", "not client.settled"]
        if "children" in self.client:
            found += ["children > 1", "client.children == 0"]
        return found

    def date_expression(self) -> str:
        options = ['date("2026-01-09")', 'date("2025-12-01")']  # a past date fires at once
        if self.client.get("release_date") == "date":
            options += ["release_date", "client.release_date", "date(release_date)"]
        return self.draw(st.sampled_from(options))

    # -- step lists --

    def steps(self, scope: Scope, depth: int, *, may_end: bool, can_end: bool,
              min_size: int = 0) -> list[dict[str, Any]]:
        """A step list. may_end: the list may end the pathway (an `end` last, or a decide
        last whose every arm ends); can_end: an `end` may appear at all (not in parallel)."""
        scope = scope.copy()  # names defined in this list do not leak out of it
        size = self.draw(st.integers(min_size, 3))
        end = may_end and can_end and self.draw(st.integers(0, 3)) == 0
        out: list[dict[str, Any]] = []
        for index in range(size):
            if self.budget <= 0 and len(out) >= min_size:
                break
            final = index == size - 1 and not end
            out.append(self.step(scope, depth, final=final, may_end=may_end, can_end=can_end))
        if end:
            out.append({"end": self.new_id("end"), "reason": self.draw(st.sampled_from(REASONS))})
        self.defined = scope  # what the list's own tasks defined, for callers to carry on
        return out

    def carry(self, outer: Scope) -> None:
        """Names the list just drawn defined on every path through it are defined after it
        too (after a parallel's join, or after a repeat: each round runs the whole list)."""
        for mine, theirs in ((outer.booleans, self.defined.booleans),
                             (outer.integers, self.defined.integers)):
            mine.extend(name for name in theirs if name not in mine)

    def step(self, scope: Scope, depth: int, *, final: bool, may_end: bool,
             can_end: bool) -> dict[str, Any]:
        self.budget -= 1
        kinds = ["task", "task", "wait", "record", "notify", "refer"]
        if depth < 3 and self.budget >= 1:
            kinds += ["decide", "parallel", "repeat"] * 2
            kinds += [] if self.in_for_each else ["for_each"]
        if depth < self.block_depth and self.budget >= 1:
            kinds += ["block"]
        kind = self.draw(st.sampled_from(kinds))
        if kind == "task":
            return self.task(scope)
        if kind == "decide":
            branches = [{"when": self.condition(scope),
                         "steps": self.steps(scope, depth + 1, may_end=can_end,
                                             can_end=can_end)}
                        for _ in range(self.draw(st.integers(1, 2)))]
            return {"decide": self.new_id("decide"), "branches": branches,
                    "otherwise": self.steps(scope, depth + 1, may_end=may_end and final,
                                            can_end=can_end)}
        if kind == "parallel":
            sid = self.new_id("parallel")
            branches = []
            gained = scope.copy()
            count = self.draw(st.integers(2, 3))
            for _index in range(count):
                branches.append({"steps": self.steps(scope, depth + 1, may_end=False,
                                                     can_end=False, min_size=1)})
                self.carry(gained)
            scope.booleans[:], scope.integers[:] = gained.booleans, gained.integers
            return {"parallel": sid, "branches": branches}
        if kind == "repeat":
            return self.repeat(scope, depth, can_end=can_end)
        if kind == "block":
            return self.block(scope, depth, can_end=can_end)
        if kind == "for_each":
            return self.for_each(scope, depth)
        if kind == "wait":
            sid = self.new_id("wait")
            if self.draw(st.booleans()):
                return {"wait": sid, "for": self.draw(st.sampled_from(DURATIONS_FOR))}
            return {"wait": sid, "until": self.date_expression()}
        if kind == "record":
            step: dict[str, Any] = {"record": self.new_id("record"),
                                    "outcome": self.draw(st.sampled_from(WORDS[5:10]))}
            values: list[Any] = [None, True, 3, "'text'", *scope.booleans,
                                 *(f"{name} + 1" for name in scope.integers),
                                 *(f"{name}.case" for name in scope.results),
                                 *(name for name in self.client if name != "settled"),
                                 *(["children + 1"] if "children" in self.client else [])]
            value = self.draw(st.sampled_from(values))
            if value is not None:
                step["value"] = value
            if self.draw(st.booleans()):
                step["when"] = self.condition(scope)
            return step
        if kind == "notify":
            return {"notify": self.new_id("notify"), "to": self.draw(st.sampled_from(self.roles)),
                    "message": self.draw(st.sampled_from(MESSAGES))}
        sid = self.new_id("refer")
        step = {"refer": sid, "pathway": HELPER_ID}
        wait = self.draw(st.sampled_from([None, False, True]))
        if wait is not None:
            step["wait"] = wait
        if wait:
            scope.results.append(f"{sid}_result")
        return step

    def repeat(self, scope: Scope, depth: int, *, can_end: bool) -> dict[str, Any]:
        sid = self.new_id("repeat")
        step: dict[str, Any] = {"repeat": sid}
        if self.draw(st.booleans()):
            step["every"] = "P1D"
        body_scope = scope.copy()
        body: list[dict[str, Any]] = []
        if self.draw(st.booleans()):  # until a boolean the round's first task sets
            flag = self.new_id("done")
            body.append(self.task(body_scope, forced=flag))
            self.budget -= 1
            until = flag
            either: bool = self.draw(st.booleans())
            if body_scope.booleans and either:
                until = f"{flag} or {self.draw(st.sampled_from(body_scope.booleans))}"
            step["until"] = until
        body += self.steps(body_scope, depth + 1, may_end=can_end, can_end=can_end,
                           min_size=0 if body else 1)
        self.carry(scope)
        step["steps"] = body
        step["max"] = self.draw(st.integers(1, 4))
        return step

    def block(self, scope: Scope, depth: int, *, can_end: bool) -> dict[str, Any]:
        """A block and one or two handlers (a message nobody sends, a date or a time; each
        interrupting or not). What the body defines is not defined after it: a handler may
        have cut it short."""
        step: dict[str, Any] = {"block": self.new_id("block"),
                                "steps": self.steps(scope, depth + 1, may_end=can_end,
                                                    can_end=can_end, min_size=1)}
        handlers = []
        for _ in range(self.draw(st.integers(1, 2))):
            trigger = self.draw(st.sampled_from(["message", "after", "at"]))
            handler: dict[str, Any] = {
                "message": {"message": self.new_id("news")},
                "after": {"after": self.draw(st.sampled_from(DURATIONS_FOR))},
                "at": {"at": self.date_expression()}}[trigger]
            interrupting = self.draw(st.booleans())
            if not interrupting or self.draw(st.booleans()):
                handler["interrupting"] = interrupting
            handler["steps"] = self.steps(scope, depth + 1, may_end=can_end and interrupting,
                                          can_end=can_end and interrupting, min_size=1)
            handlers.append(handler)
        step["handlers"] = handlers
        return step

    def for_each(self, scope: Scope, depth: int) -> dict[str, Any]:
        sid = self.new_id("each")
        items = self.draw(st.sampled_from(["[1, 2]", "[]", "['a', 'b', 'c']", "[true]"]))
        self.in_for_each = True
        body = self.steps(scope, depth + 1, may_end=False, can_end=False, min_size=1)
        self.in_for_each = False
        return {"for_each": sid, "in": items, "steps": body}

    # -- tasks and forms --

    def task(self, scope: Scope, *, forced: str | None = None) -> dict[str, Any]:
        step: dict[str, Any] = {"task": self.new_id("task"),
                                "role": self.draw(st.sampled_from(self.roles)),
                                "title": self.draw(st.sampled_from(TITLES))}
        if self.draw(st.booleans()):
            step["instructions"] = self.draw(st.sampled_from(TITLES))
        dues = [None, "P2D", "P7D", "PT12H"]
        if self.client.get("release_date") == "date":
            dues += ["release_date - P7D", "release_date", "release_date + P1D",
                     "client.release_date - P1W"]
        due = self.draw(st.sampled_from(dues))
        if due is not None:
            step["due"] = due
        form: dict[str, Any] = {}
        if forced is not None:
            form[forced] = {"type": "boolean", "required": True, "title": "Done this round"}
        for _ in range(self.draw(st.integers(0, 4))):
            kind = self.draw(st.sampled_from(FIELD_TYPES))
            self.count += 1
            name = f"{kind}_{self.count}"
            self.visible_names = scope.booleans
            form[name] = self.form_field(kind, form)
        empty_form: bool = self.draw(st.booleans())
        if form or empty_form:
            step["form"] = form
        # required fields always shown are defined for what follows in this list
        for name, spec in form.items():
            if spec.get("required") and "visible_when" not in spec:
                if spec["type"] == "boolean":
                    scope.booleans.append(name)
                elif spec["type"] in ("integer", "scale"):
                    scope.integers.append(name)
        return step

    def form_field(self, kind: str, form: dict[str, Any]) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": kind}
        draw = self.draw
        if draw(st.booleans()):
            spec["title"] = draw(st.sampled_from(TITLES))
        if draw(st.integers(0, 3)) == 0:
            spec["help"] = draw(st.sampled_from(TITLES))
        if draw(st.booleans()):
            spec["required"] = draw(st.booleans())
        earlier = [name for name, other in form.items() if other["type"] == "boolean"]
        earlier += self.visible_names
        if earlier and draw(st.integers(0, 2)) == 0:
            name = draw(st.sampled_from(earlier))
            spec["visible_when"] = draw(st.sampled_from([name, f"not {name}"]))
        if kind in ("text", "long_text"):
            if draw(st.booleans()):
                spec["max_length"] = draw(st.integers(1, 40))
            if kind == "text" and "phone" in self.client and draw(st.booleans()):
                spec["prefill"] = "client.phone"
                if draw(st.booleans()):
                    spec["save_to"] = "client.phone"
        elif kind in ("number", "integer", "scale"):
            numbers = (st.integers(-50, 50) if kind != "number"
                       else st.one_of(st.integers(-50, 50),
                                      st.floats(-50, 50, allow_nan=False).map(
                                          lambda x: round(x, 2))))
            low, high = sorted([draw(numbers), draw(numbers)])
            if kind == "scale" or draw(st.booleans()):
                spec["min"] = low
            if kind == "scale" or draw(st.booleans()):
                spec["max"] = high
            if kind == "scale" and draw(st.booleans()):
                spec["labels"] = {str(low): "Low", str(high): "High"}
            if kind == "integer" and "children" in self.client and draw(st.integers(0, 3)) == 0:
                spec["save_to"] = "client.children"
        elif kind in ("choice", "multiple_choice"):
            spec["options"] = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4,
                                            unique=True))
        return spec


@st.composite
def documents(draw: st.DrawFn, *, block_depth: int = 2, for_each: bool = True
              ) -> dict[str, Any]:
    """A valid document; `block` steps only above block_depth levels of nesting, `for_each`
    steps only if for_each."""
    roles = draw(st.lists(st.sampled_from(["worker", "manager", "peer_mentor"]),
                          min_size=1, max_size=3, unique=True))
    client_fields: dict[str, str] = {}
    for name, kind in (("release_date", "date"), ("phone", "text"), ("settled", "boolean"),
                       ("children", "integer")):
        if draw(st.booleans()):
            client_fields[name] = kind
    doc: dict[str, Any] = {"pathway": "generated", "title": draw(st.sampled_from(TITLES))}
    if draw(st.booleans()):
        doc["description"] = draw(st.sampled_from(TITLES))
    if draw(st.booleans()):
        doc["organisation"] = "some_org"
    doc["roles"] = {role: ({"title": role.replace("_", " ").title()} if draw(st.booleans())
                           else {"title": f"The {role}", "organisations": ["some_org"]})
                    for role in roles}
    if client_fields:
        doc["client_fields"] = client_fields
    builder = Builder(draw, roles, client_fields)
    builder.block_depth = block_depth
    builder.in_for_each = not for_each  # as if inside one: no for_each is drawn
    initial = {"task": "intake", "role": roles[0], "title": "Intake",
               "form": copy.deepcopy(INITIAL_FORM)}
    scope = Scope(booleans=["gate_a", "gate_b"], integers=["score"])
    doc["steps"] = [initial, *builder.steps(scope, 0, may_end=True, can_end=True, min_size=1)]
    return doc


# -- form data ----------------------------------------------------------------------------


def value_for(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for one property of a compiled form's JSON Schema."""
    kind = prop.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low = prop.get("minimum", -1000)
        high = prop.get("maximum", low + 1000 if "minimum" in prop else 1000)
        low, high = min(low, high) + 0, high + 0  # + 0: -0.0 becomes 0.0, as floats() wants
        if kind == "integer":
            return st.integers(int(low), int(high))
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
        if math.ceil(low) > math.floor(high):
            return floats
        return st.one_of(st.integers(math.ceil(low), math.floor(high)), floats)
    if kind == "array":
        options = prop["items"]["enum"]
        return st.lists(st.sampled_from(options), unique=True, max_size=len(options))
    assert kind == "string", prop
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    if prop.get("format") == "date":
        return st.dates(date(2020, 1, 1), date(2030, 12, 31)).map(date.isoformat)
    return st.text(max_size=min(prop.get("maxLength", 30), 30))


def form_data(data: st.DataObject, schema: dict[str, Any] | None) -> dict[str, Any]:
    if not schema:
        return {}
    required = set(schema.get("required", []))
    answer: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if name in required or prop.get("x-pathways-required-when-visible") \
                or data.draw(st.booleans(), label=f"fill {name}"):
            answer[name] = data.draw(value_for(prop), label=name)
    return answer


# -- running a case -----------------------------------------------------------------------


def act(engine: Engine, clock: FakeClock, data: st.DataObject) -> bool:
    """One move: complete a random open task (of any case) with random valid data and return
    True, or, when no task is open, let 12 hours pass, fire due timers, deliver messages."""
    tasks = sorted(engine.list_tasks(), key=lambda v: (v.task.case_id, v.task.step, v.task.id))
    if tasks:
        view = tasks[data.draw(st.integers(0, len(tasks) - 1), label="task")]
        answer = form_data(data, view.schema)
        note(f"complete {view.task.pathway}.{view.task.step} with {answer!r}")
        engine.complete_task(view.task.id, answer)
        return True
    clock.advance(hours=12)
    engine.fire_due_timers(clock.now())
    engine.deliver_messages()
    return False


def run_to_the_end(engine: Engine, clock: FakeClock, case_id: int, data: st.DataObject, *,
                   status: Callable[[], str] | None = None,
                   on_error: Callable[[], None] | None = None) -> None:
    """Complete open tasks of every case of the client (the referred ones too) in a random
    order with random valid data, letting time pass whenever nothing is open, until the case
    is no longer active. `status` reads the case's status (by default, as stored);
    `on_error` mends a case in error, which then runs on (by default an error ends the run)."""
    idle = 0
    for _ in range(3000):
        now = engine.get_case(case_id).case.status if status is None else status()
        if now == "error" and on_error is not None:
            on_error()
            continue
        if now != "active":
            return
        if act(engine, clock, data):
            idle = 0
            continue
        idle += 1
        assert idle <= 120, f"case {case_id} waits for nothing that ever comes"
    raise AssertionError(f"case {case_id} did not finish")


def client_values(client_fields: dict[str, str], data: st.DataObject) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in client_fields.items():
        if kind == "date":
            values[name] = data.draw(st.dates(date(2025, 12, 1), date(2026, 2, 28)).map(
                date.isoformat), label=name)
        elif kind == "boolean":
            values[name] = data.draw(st.booleans(), label=name)
        elif kind == "integer":
            values[name] = data.draw(st.integers(0, 4), label=name)
        else:
            storable = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
            values[name] = data.draw(st.text(storable, max_size=12), label=name)
    return values


def checked(document: dict[str, Any]) -> dict[str, Any]:
    """The document through YAML and dsl.validate, which must find no problems."""
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    note(text)
    loaded, problems = validate(text, "generated.yaml", known_pathways={HELPER_ID})
    assert problems == [], "\n".join(str(p) for p in problems)
    assert loaded == document
    return loaded


@PROPERTIES
@given(document=documents(), data=st.data())
def test_every_valid_document_compiles_parses_and_runs_to_completion(
        document: dict[str, Any], data: st.DataObject) -> None:
    loaded = checked(document)
    compiled = compile_pathway(loaded)
    parsed = parse_bundle(compiled.files(), compiled.bpmn_file)
    assert parsed.pathway == "generated"

    clock = FakeClock()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
    helper = compile_pathway(HELPER)
    engine.publish(helper.files(), helper.bpmn_file)
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Generated", client_values(loaded.get("client_fields") or {},
                                                          data))
    case_id = engine.start_case("generated", client.id or 0).case.id or 0
    run_to_the_end(engine, clock, case_id, data)

    case = engine.get_case(case_id).case
    events = engine.events(case_id)
    note("\n".join(f"{e.seq} {e.type} {e.step or ''} {e.data}" for e in events))
    assert [e.type for e in events if e.type == "error"] == []
    assert case.status == "completed", case.error
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "case_started"
    assert events[-1].type == "case_completed"
    assert engine.list_tasks(case_id=case_id) == []
    ends = [step for step in _walk(loaded["steps"]) if "end" in step]
    reasons = {str(step["reason"]) for step in ends}
    exit_reason = events[-1].data.get("exit_reason")
    assert exit_reason is None or exit_reason in reasons


def _walk(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for step in steps:
        found.append(step)
        for branch in step.get("branches") or []:
            found += _walk(branch["steps"])
        found += _walk(step.get("otherwise") or [])
        if "repeat" in step or "block" in step or "for_each" in step:
            found += _walk(step["steps"])
        for handler in step.get("handlers") or []:
            found += _walk(handler["steps"])
    return found


@PROPERTIES
@given(document=documents())
def test_compiling_is_deterministic_and_leaves_the_document_alone(
        document: dict[str, Any]) -> None:
    loaded = checked(document)
    before = copy.deepcopy(loaded)
    first = compile_pathway(loaded)
    assert loaded == before
    second = compile_pathway(copy.deepcopy(loaded))
    assert first.bpmn.encode("utf-8") == second.bpmn.encode("utf-8")
    assert first.forms == second.forms
    assert list(first.forms) == list(second.forms)
    assert first.files() == second.files()
