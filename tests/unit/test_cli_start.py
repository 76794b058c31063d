"""The command line starts without its heavy imports: `pathways --help` loads none of the
engine's workflow, SQLAlchemy, Alembic, the DSL compiler or the commands' modules (each
command's module loads when it is used), and the help it prints is the same as with every
command loaded. A command that only reads the database (on a schema at this code's
revision) loads no SpiffWorkflow, Alembic, DSL, web framework, metrics or e-mail library;
a database behind is still migrated first. Not timed (bench/ and the README measure the
time); what is checked is what is imported."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import adapters.cli
from adapters.cli import COMMANDS, cli, load_all
from adapters.sql.schema import current_revision, head_revision, upgrade

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


# What a command that only reads the database used to import and no longer does: the
# workflow engine and the definition checks (SpiffWorkflow, its XML and script sandbox),
# Alembic, the DSL compiler, the web framework, metrics, password hashing and e-mail.
NOT_FOR_READING = ("SpiffWorkflow", "alembic", "dsl", "yaml", "jsonschema", "lxml",
                   "RestrictedPython", "flask", "web", "prometheus_client", "werkzeug",
                   "smtplib", "scipy", "statsmodels")
NOT_FOR_READING_MODULES = ("engine.workflow.definitions", "engine.workflow.runner",
                           "engine.casework", "engine.cases.case_commands",
                           "adapters.metrics", "adapters.definition_files")
READING = (["definitions", "list"], ["--json", "tasks", "list"], ["clients", "list"],
           ["--json", "cases", "list"], ["versions", "list", "family_support"])


def _loaded(modules: object, packages: tuple[str, ...], names: tuple[str, ...]) -> list[str]:
    assert isinstance(modules, list)
    return sorted({m.split(".")[0] if m.split(".")[0] in packages else m for m in modules
                   if m.split(".")[0] in packages
                   or any(m == n or m.startswith(n + ".") for n in names)})


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'pathways.sqlite'}"
    subprocess.run([sys.executable, "-m", "adapters.cli", "--db", url, "init"], cwd=ROOT,
                   capture_output=True, text=True, check=True)
    return url


@pytest.mark.parametrize("argv", READING, ids=" ".join)
def test_a_command_reading_the_database_loads_no_workflow_engine(initialised: str,
                                                                   argv: list[str]) -> None:
    result = _run("--db", initialised, *argv)
    assert _loaded(result["modules"], NOT_FOR_READING, NOT_FOR_READING_MODULES) == []
    assert "error" not in str(result["out"])[:20]


def test_what_the_reading_commands_print_is_unchanged(initialised: str) -> None:
    listed = _run("--db", initialised, "definitions", "list")["out"]
    assert "family_support  v1" in str(listed)
    assert json.loads(str(_run("--db", initialised, "--json", "tasks", "list")["out"])) == []


def test_a_database_behind_is_migrated_before_the_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, "0029_case_notes")
    result = _run("--db", url, "--json", "tasks", "list")
    assert json.loads(str(result["out"])) == []
    assert "alembic" in result["modules"]  # type: ignore[operator]
    assert current_revision(url) == head_revision()


def test_the_access_report_loads_no_workflow_engine(initialised: str) -> None:
    """Casework's reads load its package (form checks, the case diagram's XML) but not
    the definition parser, SpiffWorkflow, Alembic or the DSL."""
    result = _run("--db", initialised, "access", "report")
    assert _loaded(result["modules"], ("SpiffWorkflow", "alembic", "dsl", "flask", "web",
                                       "prometheus_client", "RestrictedPython"),
                   ("engine.workflow.definitions", "engine.workflow.runner")) == []
    assert "no access recorded" in str(result["out"])
