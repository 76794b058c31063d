"""Commands on clients: clients add, clients list."""

from __future__ import annotations

from typing import Any

import click

from adapters.cli.common import Context, UsageProblem, cli, command, emit
from engine.text import check_text, is_json, parse_json

# -- clients -------------------------------------------------------------------------------


def _parse_fields(pairs: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageProblem(f"--field {pair!r} is not key=value",
                               details={"field": pair})
        if is_json(raw):  # JSON: the API's strict rules (no NaN, NUL, huge numbers, nesting)
            value: Any = parse_json(raw, field=key.strip())
        else:
            value = check_text(raw, key.strip())  # not JSON: stored as text
        fields[key.strip()] = value
    return fields


@cli.group()
def clients() -> None:
    """People supported by the programme."""


@clients.command("add")
@click.option("--name", required=True, help="The client's name.")
@click.option("--field", "field_pairs", multiple=True, metavar="KEY=VALUE",
              help="A profile field; VALUE is read as JSON when it parses, else as text.")
@command
def clients_add(ctx: Context, name: str, field_pairs: tuple[str, ...]) -> None:
    """Add a client."""
    client = ctx.app.engine.add_client(name, _parse_fields(field_pairs))
    emit(ctx.json_mode, {"id": client.id, "name": client.name, "fields": client.fields},
          lambda: str(client.id))


@clients.command("list")
@command
def clients_list(ctx: Context) -> None:
    """Every client."""
    found = ctx.app.engine.clients()
    emit(ctx.json_mode, [{"id": c.id, "name": c.name, "fields": c.fields} for c in found],
          lambda: "\n".join(f"{c.id}  {c.name}" for c in found) or "no clients")
