"""The command line starts without its heavy imports: `pathways --help` loads none of the
engine's workflow, SQLAlchemy, Alembic, the DSL compiler or the commands' modules (each
command's module loads when it is used), and the help it prints is the same as with every
command loaded. Not timed (bench/ and the README measure the time); what is checked is
what is imported."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import adapters.cli
from adapters.cli import COMMANDS, cli, load_all

ROOT = Path(__file__).resolve().parents[2]

# What `pathways --help` used to import and no longer does (top-level package names, and
# modules of the project's own packages).
HEAVY_PACKAGES = ("sqlalchemy", "alembic", "SpiffWorkflow", "psycopg", "flask", "web", "yaml",
                  "jsonschema", "lxml", "orjson", "scipy", "statsmodels", "dsl")
HEAVY_MODULES = ("adapters.bootstrap", "adapters.settings", "adapters.sql", "engine.cases",
                 "engine.workflow", "engine.model", "engine.outcomes")

_PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["pathways", *{argv!r}]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        runpy.run_module("adapters.cli", run_name="__main__")
    except SystemExit:
        pass
print(json.dumps({{"modules": sorted(sys.modules), "out": out.getvalue()}}))
"""


def _run(*argv: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _PROBE.format(argv=list(argv))], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _heavy(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if m.split(".")[0] in HEAVY_PACKAGES
            or any(m == h or m.startswith(h + ".") for h in HEAVY_MODULES)
            or (m.startswith("adapters.cli.") and m != "adapters.cli.common")]


def test_help_and_a_mistyped_command_import_nothing_heavy() -> None:
    for argv in (["--help"], [], ["--json", "no-such-command"]):
        assert _heavy(_run(*argv)["modules"]) == [], argv


def test_a_command_loads_its_module_when_used() -> None:
    result = _run("export", "--help")
    assert "adapters.cli.exports" in result["modules"]  # type: ignore[operator]
    assert "adapters.cli.cases" not in result["modules"]  # type: ignore[operator]
    assert "xes" in str(result["out"])


def test_the_help_is_the_same_as_with_every_command_loaded() -> None:
    lazy = _run("--help")["out"]
    load_all()
    loaded = cli.get_help(cli.make_context("pathways", ["--help"], resilient_parsing=True))
    assert lazy == loaded + "\n"


def test_commands_names_every_command_with_its_module_and_help() -> None:
    """A command a module registers but COMMANDS does not name could not be run."""
    for info in pkgutil.iter_modules(adapters.cli.__path__):
        if info.name not in ("__main__", "common"):
            importlib.import_module(f"adapters.cli.{info.name}")
    found = {name: (command.callback.__module__.rsplit(".", 1)[1] if command.callback else "",
                    command.get_short_help_str(1000))
             for name, command in cli.commands.items()}
    assert found == COMMANDS
