"""Check a pathway file against the DSL (the README's reference); report every problem, located.

Four layers, each adding problems rather than stopping at the first:

1. loading (dsl.loader): YAML syntax, duplicate keys, size and shape limits;
2. the JSON Schema shipped as dsl/schema.json: the document, then each step against its
   kind's `$defs` schema (found by its kind key: dispatch, not a oneOf, so a message names
   the one thing that is wrong) and each form field against its type's schema;
3. what a schema cannot say: declared roles and client fields, unique step ids, expressions
   that parse and read only defined names, unreachable steps, min <= max;
4. types (dsl.types): options that do not exist, yes/no compared with text, numbers added
   to dates, answers read where some path has not asked them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from jsonschema.protocols import Validator

from dsl.date_check import AskedFields, DateCheck
from dsl.errors import DslError, DslProblem
from dsl.kinds import block as block_kind
from dsl.kinds import for_each as for_each_kind
from dsl.kinds.task_timers import TIMER_SUFFIXES
from dsl.loader import LoadedDocument, Path, Position, format_path, load, value_at
from dsl.schema import FIELD_TYPES, KINDS, json_schema, key_owners, schema_validators
from dsl.steps import (
    all_steps,
    branch_lists,
    number_bounds,
    reads,
    reads_nothing,
    step_ends,
    step_kind,
    step_kinds,
)
from dsl.types import one_word_a_place, type_problems
from dsl.validate_go_to import GoTos
from dsl.validate_kinds import StepKindChecks
from dsl.validate_messages import NotificationChecks
from dsl.validate_rounds import RoundNames
from dsl.wording import (
    closest_word,
    describe_value,
    did_you_mean,
    key_name_message,
    keyword_message,
    path_label,
    schema_noun,
)
from engine.data_names import reserved_data_name
from engine.errors import ScriptError
from engine.schema_errors import MISSING, UNKNOWN, SchemaError, schema_errors
from engine.workflow.expressions import (
    FUNCTIONS,
    ExpressionError,
    evaluate,
    is_duration_literal,
)

__all__ = ["FIELD_TYPES", "KINDS", "MAX_EXPRESSION", "json_schema", "load_pathway", "reads",
           "validate"]

# ids the compiler derives from step ids; a step may not take one of them for itself
_GENERATED_SUFFIXES = ("_merge", "_join", "_done", "_di", "_wait", "_start", "_end", "_lanes",
                       "_init", "_mark", "_exit", *TIMER_SUFFIXES)
_GENERATED_PREFIXES = ("flow_", "msg_")
MAX_EXPRESSION = 1000  # characters: bounds parsing time and memory
_CLIENT_REF = re.compile(r"client\.([a-z][a-z0-9_]*)")
_SCALE_VALUE = re.compile(r"-?[0-9]{1,18}")
_PATHWAY_ID = re.compile(r"[a-z][a-z0-9_]*")
_EXPRESSIONS_HELP = "see Expressions in the README's DSL reference for what an expression can use"


# -- the checks ----------------------------------------------------------------------------


class _Checker(NotificationChecks, StepKindChecks):
    def __init__(self, document: LoadedDocument, file: str,
                 known_pathways: Collection[str] | None) -> None:
        self.document = document
        self.data = document.data
        self.file = file
        self.problems: list[DslProblem] = []
        self.required_seen: set[tuple[Path, str]] = set()
        roles = self.data.get("roles")
        self.roles: dict[str, Any] | None = roles if isinstance(roles, dict) else None
        client_fields = self.data.get("client_fields")
        # field -> its type: a client field is a type, or {type, sensitive}
        self.client_fields: dict[str, Any] = {
            name: spec.get("type") if isinstance(spec, dict) else spec
            for name, spec in (client_fields.items() if isinstance(client_fields, dict) else ())}
        pathway = self.data.get("pathway")
        self.known_pathways: set[str] | None = None
        if known_pathways is not None:
            self.known_pathways = set(known_pathways)
            if isinstance(pathway, str):
                self.known_pathways.add(pathway)
        self.form_fields: set[str] = set()
        self.sensitive_fields: dict[str, str] = {}  # form field -> its category
        self.sensitive_client_fields: dict[str, str] = {
            name: str(spec["sensitive"])
            for name, spec in (client_fields.items() if isinstance(client_fields, dict) else ())
            if isinstance(spec, dict) and spec.get("sensitive")}
        self.set_names: set[str] = set()  # case data a `set` step writes
        self.options: dict[str, str] = {}  # a choice option -> a field that offers it
        self.referral_results: set[str] = set()
        # case data a block's message or a for_each puts there -> what puts it there
        self.written: dict[str, str] = {}
        self.generated_ids: set[str] = set()  # element ids a block or for_each adds
        self.step_ids: list[tuple[Position, str, Path]] = []  # where, id, path of the id
        self.asked: AskedFields | None = None  # form fields in order, once a date needs them
        self.renamed: list[tuple[str, str, Path]] = []  # step id, renamed_from, its path

    # reporting

    def report(self, path: Path, message: str, *, at: Position | None = None) -> None:
        line, column = at or self.document.where(path)
        self.problems.append(DslProblem(self.file, line, column, format_path(path), message))

    def report_key(self, path: Path, message: str) -> None:
        self.report(path, message, at=self.document.key_where(path))

    # the walk

    def run(self) -> None:
        for step, kind, _ in all_steps(self.data.get("steps"), ("steps",)):
            self.note_names(step, kind)
        self.rounds = RoundNames(self.data, self.document.where,
                                 self.form_fields | set(self.client_fields))
        for path, message in self.rounds.field_problems(self.data):
            self.report_key(path, message)
        self.go_tos = GoTos(self.data, self.document.where)
        for path, message in [*self.rounds.id_problems(), *self.go_tos.id_problems()]:
            self.report(path, message)
        self.schema_problems(schema_validators()[""], self.data, ())
        self.steps(self.data.get("steps"), ("steps",), parallel=None)
        self.duplicate_step_ids()
        self.renamed_from_ids()
        self.problems = one_word_a_place(self.problems,
                                         type_problems(self.document, self.file))

    def note_names(self, step: dict[str, Any], kind: str) -> None:
        """The names a step puts in case data, for the expressions that read them."""
        if kind == "task" and isinstance(step.get("form"), dict):
            self.form_fields.update(key for key in step["form"] if isinstance(key, str))
            self.note_options(step["form"])
            self.note_sensitive(step)
        if kind == "refer" and step.get("wait") is True and isinstance(step["refer"], str):
            self.referral_results.add(f"{step['refer']}_result")
        if kind == "set" and isinstance(step.get("values"), dict):
            self.set_names.update(key for key in step["values"] if isinstance(key, str))
        self.note_written(step, kind)

    def note_written(self, step: dict[str, Any], kind: str) -> None:
        """What include, block and for_each steps put in case data."""
        if kind == "include" and isinstance(step.get("provides"), list):
            self.form_fields.update(n for n in step["provides"] if isinstance(n, str))
        if kind == "block":
            self.written.update(block_kind.written_names(step))
        if kind == "for_each":
            self.written.update(for_each_kind.written_names(step))

    def steps(self, steps: Any, path: Path, *, parallel: Path | None) -> None:
        if not isinstance(steps, list):
            return
        ended: tuple[str, Path] | None = None
        for index, step in enumerate(steps):
            step_path = (*path, index)
            if ended is not None:
                self.unreachable(step, step_path, *ended)
            self.step(step, step_path, parallel=parallel)
            if ended is None and step_ends(step):
                ended = (str(step.get(step_kind(step) or "end")), step_path)

    def unreachable(self, step: Any, path: Path, ender: str, ender_path: Path) -> None:
        kind = step_kind(step)
        name = f"step {step[kind]!r}" if kind else "this step"
        line = self.document.where(ender_path)[0]
        how = ("ends the pathway" if step_kind(value_at(self.data, ender_path)) == "end"
               else "ends the pathway on every branch")
        self.report(path, f"{name} can never run: it comes after {ender!r} (line {line}), "
                          f"which {how}; move it before {ender!r}, or remove it")

    def step(self, step: Any, path: Path, *, parallel: Path | None) -> None:
        if not isinstance(step, dict):
            self.report(path, f"a step must be a mapping such as `- task: <id>` with its keys "
                              f"indented under it, not {describe_value(step)}")
            return
        kinds = step_kinds(step)
        if not kinds:
            self.no_kind(step, path)
            return
        if len(kinds) > 1:
            self.report_key((*path, kinds[1]),
                            f"this step has several kinds ({', '.join(kinds)}): a step has "
                            f"exactly one; split it into {len(kinds)} steps")
            return
        kind = kinds[0]
        self.schema_problems(schema_validators()[kind], step, path)
        if isinstance(step[kind], str):
            self.step_ids.append((self.document.where((*path, kind)), step[kind],
                                  (*path, kind)))
            if isinstance(step.get("renamed_from"), str):
                self.renamed.append((step[kind], step["renamed_from"], (*path, "renamed_from")))
        getattr(self, f"check_{kind}")(step, path, parallel)
        for nested, nested_path in branch_lists(step, kind, path):
            inner = nested_path if kind == "parallel" else parallel
            if kind == "parallel" and nested == []:
                # SpiffWorkflow mishandles a split flowing straight into its join
                self.report(nested_path, "a parallel branch needs at least one step: remove "
                                         "the empty branch")
            self.steps(nested, nested_path, parallel=inner)

    def no_kind(self, step: dict[str, Any], path: Path) -> None:
        kinds = ", ".join(KINDS)
        for key in step:
            near = closest_word(key, KINDS)
            if near and key not in key_owners()["step"]:
                self.report_key((*path, key),
                                f"unknown step kind {key!r} (did you mean {near!r}?): a step "
                                f"starts with one of {kinds}, holding the step's id")
                return
        self.report(path, f"this step has no kind: start it with one of {kinds}, holding the "
                          "step's id, e.g. `- task: first_contact`")

    def duplicate_step_ids(self) -> None:
        first: dict[str, Position] = {}
        roles = self.data.get("roles")
        taken = {"start", "end", str(self.data.get("pathway"))}
        taken |= set(roles) if isinstance(roles, dict) else set()
        taken |= self.generated_ids
        for position, step_id, path in sorted(self.step_ids, key=lambda item: item[0]):
            if step_id in taken or step_id.endswith(_GENERATED_SUFFIXES) \
                    or step_id.startswith(_GENERATED_PREFIXES):
                self.report(path, f"step id {step_id!r} is reserved (the pathway, a role, "
                                  "start/end, or a name the compiler generates, ending in "
                                  f"{', '.join(_GENERATED_SUFFIXES)}): choose another id")
            elif step_id in first:
                self.report(path, f"step id {step_id!r} is already used by the step at line "
                                  f"{first[step_id][0]}: step ids must be unique in the file; "
                                  "rename one of them")
            else:
                first[step_id] = position

    def renamed_from_ids(self) -> None:
        """A step is renamed from an id this version no longer uses, and only one step is."""
        lines = {step_id: position[0] for position, step_id, _ in self.step_ids}
        first: dict[str, tuple[str, Path]] = {}
        for step_id, old, path in self.renamed:
            if old in lines:
                self.report(path, f"renamed_from {old!r} is the id of a step of this version "
                                  f"(line {lines[old]}): name the id the step had before, "
                                  "which no step has now")
            elif old in first:
                other, other_path = first[old]
                self.report(path, f"step {other!r} (line "
                                  f"{self.document.where(other_path)[0]}) is already renamed "
                                  f"from {old!r}: only one step can take its place")
            else:
                first[old] = (step_id, path)

    # per kind

    def check_task(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        self.role(step.get("role"), (*path, "role"), "the task's role")
        due = step.get("due")
        if isinstance(due, str) and not is_duration_literal(due.strip()):
            self.expression((*path, "due"))  # parses, reads defined names
            self.date_expression(path, "due")
        for key in ("assign", "organisation"):
            if key in step:
                self.expression((*path, key))
        form = step.get("form")
        if isinstance(form, dict):
            for name, field in form.items():
                self.field(field, (*path, "form", name))
                self.field_name(name, (*path, "form", name))
        self.task_timers(step, path)

    def check_decide(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        branches = step.get("branches")
        if isinstance(branches, list):
            for index, branch in enumerate(branches):
                if isinstance(branch, dict) and "when" in branch:
                    self.expression((*path, "branches", index, "when"))

    def check_parallel(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        """Nothing beyond the schema: its branches are walked like every nested step list."""

    def check_wait(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        if "until" in step:
            self.expression((*path, "until"))
            self.date_expression(path, "until")
            self.constant_date((*path, "until"))

    def date_expression(self, step: Path, key: str) -> None:
        """A due or until gives a date from dates known by then (dsl.date_check)."""
        path = (*step, key)
        source = value_at(self.data, path)
        if not isinstance(source, str) or (key == "until" and reads_nothing(source)
                                           and not is_duration_literal(source.strip())):
            return  # a constant until: constant_date evaluates it
        if self.asked is None:
            self.asked = AskedFields.of(self.data, self.client_fields)
        lead = len(source) - len(source.lstrip())
        for offset, message in DateCheck(self.asked, step, key).run(source):
            self.report(path, message, at=self.document.inside(path, lead + offset))

    def constant_date(self, path: Path) -> None:
        """A `wait until:` that reads no name gives the same value for every case: refuse it
        unless it is a date, since each case reaching the wait would fail there."""
        source = value_at(self.data, path)
        if not isinstance(source, str) or not reads_nothing(source) \
                or is_duration_literal(source.strip()):  # date_expression says: use for
            return
        try:
            value = evaluate(source, {})
        except (ExpressionError, ScriptError) as err:  # ScriptError: past the sandbox's bounds
            self.report(path, f"`until: {source.strip()}` always fails ({err.message}): "
                              'write a date such as date("2026-03-01") or a date field')
            return
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            datetime.fromisoformat(value)
        except ValueError:
            self.report(path, f"`until: {source.strip()}` is always {value!r}, which is not a "
                              'date: write a date such as date("2026-03-01") or a date field')

    def check_repeat(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        if "until" in step:
            self.expression((*path, "until"))

    def check_refer(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        pathway = step.get("pathway")
        known = self.known_pathways
        if known is not None and isinstance(pathway, str) and pathway not in known:
            ids = sorted(name for name in known if _PATHWAY_ID.fullmatch(name))  # not file names
            listed = ", ".join(ids[:20]) or "none"
            self.report((*path, "pathway"),
                        f"pathway {pathway!r} is not known{did_you_mean(pathway, ids)}: "
                        f"publish it first, or refer to one of the known pathways ({listed})")

    def check_record(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        for key in ("value", "when"):
            if key in step:
                self.expression((*path, key))

    def check_notify(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        self.recipient(step.get("to"), (*path, "to"))
        self.template((*path, "message"), task_names=False, sensitive=step.get("sensitive"))

    def check_end(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        if parallel is not None:
            owner = parallel[:-3]
            name = value_at(self.data, owner)
            owner_id = name.get("parallel") if isinstance(name, dict) else None
            self.report((*path, "end"),
                        f"a parallel branch cannot end the pathway: remove the end step "
                        f"{step['end']!r} from the branch, or put it after the parallel step "
                        f"{owner_id!r}")

    # shared checks

    def role(self, role: Any, path: Path, what: str) -> None:
        if self.roles is None or not isinstance(role, str) or role in self.roles:
            return
        declared = ", ".join(sorted(self.roles)) or "none yet"
        self.report(path, f"role {role!r} ({what}) is not declared under roles"
                          f"{did_you_mean(role, self.roles)}: declare it there, e.g. "
                          f"`{role}: {{title: ...}}`, or use a declared role ({declared})")

    def client_ref(self, path: Path) -> None:
        value = value_at(self.data, path)
        if not isinstance(value, str) or not (match := _CLIENT_REF.fullmatch(value)):
            return
        name = match.group(1)
        if name not in self.client_fields:
            guess = did_you_mean(name, self.client_fields)
            self.report(path, f"{value!r} names the client field {name!r}, which is not "
                              f"declared under client_fields{guess}"
                              f": declare `{name}: <type>` there, or correct the name")

    def field_name(self, name: Any, path: Path) -> None:
        """A form answer becomes case data under its own name: not one the engine writes."""
        if not isinstance(name, str):
            return
        problem = reserved_data_name(name)
        if problem is None and name in self.referral_results:
            problem = (f"{name!r} is reserved: the referral step it is named after puts the "
                       "referred case's result there")
        if problem is None and name in self.written:
            problem = f"{name!r} is reserved: {self.written[name]}"
        if problem is not None:
            self.report_key(path, f"form field {problem}; rename the field")

    def field(self, field: Any, path: Path) -> None:
        if not isinstance(field, dict):
            return  # the task's schema reports it
        kind = field.get("type")
        types = ", ".join(FIELD_TYPES)
        if "type" not in field:
            self.report(path, f"missing required key 'type' (one of {types}): add it to "
                              "this form field, e.g. `{type: text, title: ...}`")
            return
        if not isinstance(kind, str) or kind not in FIELD_TYPES:
            guess = did_you_mean(kind, FIELD_TYPES) if isinstance(kind, str) else ""
            self.report((*path, "type"), f"{describe_value(kind)} is not a field type{guess}: "
                                         f"use one of {types}")
            return
        self.schema_problems(schema_validators()[f"{kind}_field"], field, path)
        for key in ("prefill", "save_to"):
            self.client_ref((*path, key))
        self.field_conditions(field, path)
        bounds = number_bounds(field)
        if bounds is not None and bounds[0] > bounds[1]:
            self.report((*path, "max"), f"min ({bounds[0]}) is greater than max ({bounds[1]}): "
                                        "swap them, or correct one")
        labels = field.get("labels")
        if kind == "scale" and bounds is not None and isinstance(labels, dict):
            self.scale_labels(labels, bounds, path)

    def field_conditions(self, field: dict[str, Any], path: Path) -> None:
        """A field's expressions parse and read defined names; required_when is not said
        beside required: true."""
        for key in ("visible_when", "required_when", "computed"):
            if key in field:
                self.expression((*path, key))
        for key in ("required", "required_when", "prefill"):
            if "computed" in field and key in field:
                self.report_key((*path, key), f"a computed field is never entered, so {key} "
                                              "does not apply: remove it, or the computed")
        if "required_when" in field and field.get("required") is True:
            self.report_key((*path, "required"),
                            "required: true makes the field always required, so its "
                            "required_when never matters: remove one of them")

    def scale_labels(self, labels: dict[str, Any], bounds: tuple[float, float],
                     path: Path) -> None:
        """A scale's labels name values from its min to its max."""
        low, high = bounds
        for key in labels:
            if _SCALE_VALUE.fullmatch(key) and not low <= int(key) <= high:
                self.report_key((*path, "labels", key),
                                f"the label for {key} is outside the scale ({low} to "
                                f"{high}): label values from min to max")

    def expression(self, path: Path) -> None:
        source = value_at(self.data, path)
        if isinstance(source, bool):
            source = "true" if source else "false"  # `when: true`, as the compiler reads it
        elif isinstance(source, int | float):
            source = str(source)  # `value: 3`; inf and nan then read as undefined names
        elif not isinstance(source, str):
            return  # the schema reports anything else
        lead = len(source) - len(source.lstrip())
        if len(source) > MAX_EXPRESSION:
            self.report(path, f"the expression is {len(source)} characters long, more than the "
                              f"{MAX_EXPRESSION} allowed: record parts of it as form fields, "
                              "or split it across steps")
            return
        try:
            used = reads(source)
        except (RecursionError, MemoryError):  # CPython's parser on absurd nesting
            self.report(path, f"invalid expression {source.strip()[:40]!r}...: it nests too "
                              "deeply to parse: simplify it")
            return
        except ExpressionError as err:
            at = self.document.inside(path, lead + (err.offset or 0))
            hint = ("write a condition, e.g. `not consent_given`" if not source.strip()
                    else f"correct it; {_EXPRESSIONS_HELP}")
            self.report(path, f"invalid expression {source.strip()!r}: {err.message}: {hint}",
                        at=at)
            return
        for name, offset in sorted(used.items(), key=lambda item: (item[1], item[0])):
            about_rounds, message = self.rounds.problem(name, path)
            message = message if about_rounds else self.undefined(name)
            if message:
                self.report(path, message, at=self.document.inside(path, lead + offset))

    def note_options(self, form: dict[Any, Any]) -> None:
        for field, spec in form.items():
            if isinstance(spec, dict) and isinstance(spec.get("options"), list):
                for option in spec["options"]:
                    self.options.setdefault(str(option), str(field))

    def undefined(self, name: str) -> str | None:
        root, _, rest = name.partition(".")
        if root == "client":
            field = rest.split(".")[0]
            if not field or field in self.client_fields:
                return None
            return (f"{name!r} reads the client field {field!r}, which is not declared under "
                    f"client_fields{did_you_mean(field, self.client_fields)}: declare "
                    f"`{field}: <type>` there, or correct the name")
        defined = (self.form_fields | set(self.client_fields) | self.referral_results
                   | self.set_names | set(self.written) | set(FUNCTIONS))
        if root in defined:
            return None
        if not rest and root in self.options:  # `risk == high`: the option, unquoted
            return (f"{root!r} is not defined: it is an option of {self.options[root]!r}; "
                    f"as a value it is text, so put it in quotes: '{root}'")
        return (f"{root!r} is not defined{did_you_mean(root, defined)}: no task's form has a field "
                f"{root!r} and no client field of that name is declared; add the field to a "
                "form or to client_fields, or correct the spelling")

    # schema errors, in words

    def schema_problems(self, validator: Validator, instance: Any, base: Path) -> None:
        for problem in schema_errors(validator.iter_errors(instance)):
            self.schema_problem(problem, base)

    def schema_problem(self, problem: SchemaError, base: Path) -> None:
        error = problem.error
        path: Path = (*base, *problem.path)
        schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
        value = error.instance
        if problem.kind == UNKNOWN:
            self.unknown_key(problem.key, schema, path[:-1])
        elif problem.kind == MISSING:
            self.missing_key(problem.key, value if isinstance(value, dict) else {}, schema,
                             path[:-1])
        elif error.validator == "uniqueItems" and isinstance(value, list):
            self.duplicate_items(value, path)
        elif "propertyNames" in error.schema_path:
            self.report_key((*path, str(value)), key_name_message(error, schema))
        else:
            self.report(path, keyword_message(error, schema, path))

    def unknown_key(self, key: str, schema: Mapping[str, Any], path: Path) -> None:
        allowed = list(schema.get("properties", {}))
        title, noun = str(schema.get("title", "this mapping")), schema_noun(schema)
        group = "field" if noun.endswith(" field") else "step"
        near = did_you_mean(key, allowed)
        owners = key_owners()[group].get(key)
        if not near and owners and group == "field":
            near = f" (it belongs to {' and '.join(owners)} fields)"
        elif not near and owners and noun.endswith(" step"):
            near = f" (it belongs to {' and '.join(owners)} steps)"
        self.report_key((*path, key),
                        f"unknown key {key!r}{near}: {title} has the keys "
                        f"{', '.join(allowed)}; remove it or correct the spelling")

    def missing_key(self, key: str, value: Mapping[str, Any], schema: Mapping[str, Any],
                    path: Path) -> None:
        properties = schema.get("properties", {})
        misspelt = {closest_word(given, properties) for given in value if given not in properties}
        if key in misspelt or (path, key) in self.required_seen:
            return  # a misspelt key is reported as unknown, with the right spelling
        self.required_seen.add((path, key))
        description = properties.get(key, {}).get("description")
        about = f" ({description})" if description else ""
        self.report(path, f"missing required key {key!r}{about}: add `{key}: ...` to "
                          f"this {schema_noun(schema)}")

    def duplicate_items(self, items: list[Any], path: Path) -> None:
        seen: list[tuple[type, Any, int]] = []
        for index, item in enumerate(items):
            first = next((i for t, v, i in seen if t is type(item) and v == item), None)
            if first is None:
                seen.append((type(item), item, index))
                continue
            self.report((*path, index), f"{item!r} appears twice in {path_label(path)} (first as "
                                        f"item {first + 1}): remove the duplicate")


# -- the public functions ------------------------------------------------------------------


def validate(text: str, file: str, *, known_pathways: Collection[str] | None = None
             ) -> tuple[dict[str, Any] | None, list[DslProblem]]:
    """(the document, every problem sorted by line and column) for a pathway's YAML text.

    The document is the YAML's plain data (None when it could not be loaded); it is only
    safe to compile when there are no problems. known_pathways, when given, are the ids a
    `refer` may name (the pathway itself is always known).
    """
    document, problems = load(text, file)
    if document is None:
        return None, problems
    checker = _Checker(document, file, known_pathways)
    checker.run()
    unique = dict.fromkeys([*problems, *checker.problems])
    return document.data, sorted(unique, key=lambda p: (p.line, p.column, p.path, p.message))


def load_pathway(text: str, file: str, *, known_pathways: Collection[str] | None = None
                 ) -> dict[str, Any]:
    """The validated document, ready to compile; DslError listing every problem otherwise."""
    document, problems = validate(text, file, known_pathways=known_pathways)
    if problems or document is None:
        raise DslError(problems)
    return document
