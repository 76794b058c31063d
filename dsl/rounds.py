"""Per-round data of a `repeat`: the scripts that keep every round's answers and its number.

A repeat compiles to a subProcess with standardLoopCharacteristics; SpiffWorkflow merges each
round's data into the loop with DeepMerge, so without help only the last round's answers
survive. The compiler adds (as spiffworkflow pre/post scripts, no extra diagram nodes):

* on the subprocess, run for each round (`scriptsOnInstances`): before the round,
  `<id> = {"round": n, "rounds": [...]}` and `round = n`; after it, the round's answers
  appended to `<id>["rounds"]` (and, inside an enclosing repeat, `round` set back to the
  enclosing repeat's number). A repeat nested in this one is a part of this round's
  answers: its data moves into the round's entry, so each round of the outer repeat starts
  the inner one afresh (and the loop's DeepMerge never sees a list that shrinks).
* on each user task inside a repeat: before it, its own fields are set aside; after it,
  the fields it was given are this round's answers, and the ones left blank get the value
  set aside back (so the plain names still hold the latest answer, as before).

A repeat's `until` runs on the loop, outside the round, where `round` is not yet the
enclosing repeat's again: it reads `<id>.round` instead (rewrite_round).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dsl.expression_text import qualify_names

ROUND = "round"  # the current round's number, in conditions inside a repeat
ROUNDS = "rounds"  # <repeat id>.rounds: each completed round's answers
ANSWERS_PREFIX = "pathways_round_"  # + repeat id: the answers of the round under way
# the first line of every script written here: the engine's migration reads a script that
# starts so as bookkeeping derived from the forms and steps (engine.workflow.definition_model
# ROUNDS_SCRIPT; a test keeps the two equal)
ROUNDS_SCRIPT = "# pathways: a repeat's rounds (generated)\n"
SET_ASIDE = "pathways_before"  # a task's own fields, set aside while it is open


def _name(text: str) -> str:
    return json.dumps(text)


GIVEN = "pathways_given"  # scratch: whether a name holds data (not absent, not a builtin)


def _defined(name: str) -> list[str]:
    """Lines setting GIVEN: whether `name` is case data here (a builtin of that name,
    such as `type`, is not)."""
    return ["try:", f"    {GIVEN} = not callable({name})", "except NameError:",
            f"    {GIVEN} = False"]


def _ensure(name: str, default: str) -> list[str]:
    """Lines giving a bookkeeping name its default when an earlier script did not run (a
    case moved to this version in the middle of a round): never a failing round."""
    return ["try:", f"    {name}", "except NameError:", f"    {name} = {default}"]


def _ensure_repeat(sid: str) -> list[str]:
    return [*_defined(sid), f"if not {GIVEN}:", f"    {sid} = {{{_name(ROUNDS)}: []}}",
            f"del {GIVEN}"]


def round_start(sid: str) -> str:
    """Before each round: number it, and start collecting its answers."""
    return ROUNDS_SCRIPT + "\n".join([
        *_ensure_repeat(sid),
        f"{sid} = {{{_name(ROUND)}: len({sid}[{_name(ROUNDS)}]) + 1, "
        f"{_name(ROUNDS)}: {sid}[{_name(ROUNDS)}]}}",
        f"{ROUND} = {sid}[{_name(ROUND)}]",
        f"{ANSWERS_PREFIX}{sid} = {{}}",
    ]) + "\n"


def round_end(sid: str, nested: Sequence[str], enclosing: str | None) -> str:
    """After each round: its answers (with the data of the repeats nested in it) appended
    to the repeat's rounds; `round` back to the enclosing repeat's number."""
    answers = f"{ANSWERS_PREFIX}{sid}"
    lines = [*_ensure_repeat(sid), *_ensure(answers, "{}")]
    for inner in nested:
        lines += [*_defined(inner), f"if {GIVEN}:", f"    {answers}[{_name(inner)}] = {inner}",
                  f"    del {inner}", f"del {GIVEN}"]
    lines += [f"{sid} = {{{_name(ROUND)}: len({sid}[{_name(ROUNDS)}]) + 1, "
              f"{_name(ROUNDS)}: {sid}[{_name(ROUNDS)}] + [{answers}]}}",
              f"del {answers}"]
    if enclosing is not None:
        lines += ["try:", f"    {ROUND} = {enclosing}[{_name(ROUND)}]",
                  "except (NameError, KeyError, TypeError):", "    pass"]
    return ROUNDS_SCRIPT + "\n".join(lines) + "\n"


def task_before(fields: Sequence[str]) -> str:
    """Before a task in a round: set its own fields aside, so that what it is given can be
    told from what an earlier round left."""
    lines = [f"{SET_ASIDE} = {{}}"]
    for field in fields:
        lines += [*_defined(field), f"if {GIVEN}:",
                  f"    {SET_ASIDE}[{_name(field)}] = {field}", f"    del {field}"]
    lines.append(f"del {GIVEN}")
    return ROUNDS_SCRIPT + "\n".join(lines) + "\n"


def task_after(sid: str, fields: Sequence[str]) -> str:
    """After a task in a round: the fields it was given are the round's answers; a field
    left blank gets its earlier value back."""
    lines = [*_ensure(SET_ASIDE, "{}"), *_ensure(f"{ANSWERS_PREFIX}{sid}", "{}")]
    for field in fields:
        lines += [*_defined(field), f"if {GIVEN}:",
                  f"    {ANSWERS_PREFIX}{sid}[{_name(field)}] = {field}",
                  f"elif {_name(field)} in {SET_ASIDE}:",
                  f"    {field} = {SET_ASIDE}[{_name(field)}]"]
    lines += [f"del {GIVEN}", f"del {SET_ASIDE}"]
    return ROUNDS_SCRIPT + "\n".join(lines) + "\n"


def nested_repeats(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """The repeats directly in these steps (in decide and parallel branches too, not in
    a nested repeat's own steps)."""
    return [str(step["repeat"]) for step in _same_round(steps) if "repeat" in step]


def _same_round(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for step in steps or []:
        yield step
        if "repeat" in step:
            continue
        for branch in step.get("branches") or []:
            yield from _same_round(branch.get("steps") or [])
        yield from _same_round(step.get("otherwise") or [])


def rewrite_round(source: str, sid: str) -> str:
    """A repeat's `until` reads its own round as `<id>.round`; text without `round` comes
    back unchanged, byte for byte."""
    return qualify_names(source, {ROUND: sid})
