"""Every command of the `pathways` CLI, found from the click group itself, and argument
vectors for it built from its parameters: a command added later is covered without
touching the tests.

A parameter's value is chosen by its role, read from its type and name: an id (ID type), a
file (click.Path), a pathway, a task, a username, a choice (its first), or plain text. The
failure modes of the tests replace one role's value with something broken.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import click

from adapters.cli import ID, cli, load_all

# Commands whose success never returns (a server; a worker without --rounds): they run
# only where they fail before starting, or with options that make them stop.
SERVES_FOREVER = {("serve",)}
# Options every run of the command gets: the worker stops, passwords come from stdin
# (an empty one) instead of a prompt.
EXTRA_OPTIONS: Mapping[tuple[str, ...], tuple[str, ...]] = {
    ("worker",): ("--rounds", "1", "--interval", "0"),
    ("users", "add"): ("--password-stdin",),
    ("users", "password"): ("--password-stdin",),
}
# Arguments that name something new (created by the command), not something looked up.
NEW_NAMES = {(("users", "add"), "username"), (("orgs", "add"), "organisation_id")}


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    command: click.Command

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def params(self) -> list[click.Parameter]:
        return [p for p in self.command.params if p.name != "json_flag"]

    def roles(self) -> set[str]:
        """The roles of its required parameters (what a failure mode can break)."""
        return {role_of(self.path, p) for p in self.params() if p.required}

    def takes_more_arguments(self) -> bool:
        """Whether an extra positional argument could be meant (optional or variadic)."""
        return any(isinstance(p, click.Argument) and (not p.required or p.nargs == -1)
                   for p in self.params())

    def options(self) -> set[str]:
        return {name for p in self.params() if isinstance(p, click.Option) for name in p.opts}


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[Command]:
    """Every leaf command under group, hidden ones included, depth first."""
    load_all()  # the top group loads its commands' modules on first use
    found: list[Command] = []
    for name in sorted(group.commands):
        sub = group.commands[name]
        if isinstance(sub, click.Group):
            found += all_commands(sub, (*prefix, name))
        else:
            found.append(Command((*prefix, name), sub))
    return found


def role_of(path: tuple[str, ...], param: click.Parameter) -> str:
    name = param.name or ""
    if param.type is ID:
        return "case" if name == "case_id" else "id"
    if isinstance(param.type, click.Path):
        return "output" if name == "output" else "file"
    if isinstance(param.type, click.Choice):
        return "choice"
    if (path, name) in NEW_NAMES:
        return "new_name"
    if name in ("pathway", "task_id", "username"):
        return {"task_id": "task"}[name] if name == "task_id" else name
    return "text"


def argv_for(command: Command, values: Mapping[str, str],
             overrides: Mapping[str, str] | None = None) -> list[str]:
    """ARGS for `pathways --json PATH... ARGS`: every required parameter given the value of
    its role (or of its name in overrides), then its EXTRA_OPTIONS."""
    positional: list[str] = []
    options: list[str] = []
    ids = 0
    for param in command.params():
        if not param.required:
            continue
        role = role_of(command.path, param)
        if overrides and param.name in overrides:
            value = overrides[param.name]
        elif role == "choice":
            assert isinstance(param.type, click.Choice)
            value = str(param.type.choices[0])
        else:
            value = values[role]
            if role == "id" and value.isdigit():  # two ids (from, to) name two things
                value, ids = str(int(value) + ids), ids + 1
        if isinstance(param, click.Argument):
            positional.append(value)
        else:
            assert isinstance(param, click.Option)
            options += [param.opts[0], value]
    if "--output" in command.options() and not any(
            p.required for p in command.params() if p.name == "output"):
        options += ["--output", values["output"]]  # results as a JSON report, not the export
    return [*command.path, *options, *EXTRA_OPTIONS.get(command.path, ()), *positional]


def commands_with(role: str) -> Iterator[Command]:
    return (c for c in all_commands() if role in c.roles())
