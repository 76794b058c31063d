"""No CLI command ever prints a traceback: every failure is one JSON document of the error
shape {"error": {"code", "message", "details"}} on stdout (with --json), or a short
`error: ...` line on stderr (without), and the exit code is non-zero.

Every command and subcommand is found from the click group (tests/robustness/commands.py), so
a command added later is run here without touching this file. Each runs against each
failure mode: unknown ids, pathways, tasks and users; ids out of range and malformed
arguments, dates and JSON; unknown options and missing arguments; a case in error, completed,
cancelled, with a corrupt stored state, or on a version whose BPMN no longer parses; an empty
database, one that cannot be reached, a SQLite file that is not a database, a URL that is
not one; a definitions folder with a broken file; missing, empty and broken files.

The bulk runs in-process through click's CliRunner (a subprocess costs about a second); a
few run through the real process boundary. A failure nobody planned for would be an
`internal_error`: these tests refuse that code, so the last-resort handler cannot hide a
bug from them. Storage-touching tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from adapters import cli as cli_module
from adapters.bootstrap import bootstrap
from adapters.cli import cli as pathways_cli
from adapters.settings import Settings
from engine.cases.services import Engine
from tests.conftest import PostgresTestDatabase
from tests.e2e.conftest import base_env as base_env  # the fixtures
from tests.e2e.conftest import cli as cli
from tests.e2e.conftest import fresh_cli as fresh_cli
from tests.e2e.test_cli import Cli
from tests.robustness.broken_world import ADMIN, BrokenWorld, bpmn, build
from tests.robustness.commands import SERVES_FOREVER, Command, all_commands, argv_for
from tests.web.conftest import CHEAP_HASHER

ERROR_KEYS = {"code", "message", "details"}
# Commands that answer bad files with their documented report (a list of problems) and a
# non-zero exit, rather than with the error shape.
REPORTS = {("validate",), ("outcomes", "import"), ("outcomes", "matched-group")}
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"


# -- running the CLI in-process --------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    argv: Sequence[str]
    result: Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    def describe(self) -> str:
        return (f"pathways {' '.join(self.argv)}\nexit {self.code}\nstdout: "
                f"{self.result.stdout[:2000]}\nstderr: {self.result.stderr[:2000]}\n"
                f"exception: {self.result.exception!r}")

    def no_traceback(self) -> None:
        exception = self.result.exception
        assert exception is None or isinstance(exception, SystemExit), self.describe()
        assert "Traceback" not in self.result.stdout + self.result.stderr, self.describe()

    def document(self, *, report: bool = False) -> Any:
        """The one JSON document of stdout: a result, or the error shape (never an
        internal_error) when the command failed; with report, a failure may also be the
        command's documented report of problems (validate, outcome imports)."""
        self.no_traceback()
        try:
            document = json.loads(self.result.stdout)
        except ValueError:
            raise AssertionError(f"stdout is not one JSON document\n{self.describe()}") from None
        if self.code != 0 and not (report and isinstance(document, dict)
                                   and "error" not in document):
            assert isinstance(document, dict) and set(document) == {"error"}, self.describe()
            error = document["error"]
            assert set(error) == ERROR_KEYS, self.describe()
            assert isinstance(error["code"], str) and error["code"], self.describe()
            assert isinstance(error["message"], str) and error["message"], self.describe()
            assert isinstance(error["details"], dict), self.describe()
            assert error["code"] != "internal_error", self.describe()
        return document

    def error(self, *codes: str) -> dict[str, Any]:
        """The error printed by a --json call that must fail, with one of codes."""
        document = self.document()
        assert self.code != 0, self.describe()
        error: dict[str, Any] = document["error"]
        assert not codes or error["code"] in codes, self.describe()
        return error

    def text_error(self) -> str:
        """A call without --json that must fail: a short `error:` (or click's usage) on
        stderr, nothing on stdout."""
        self.no_traceback()
        assert self.code != 0, self.describe()
        assert self.result.stdout == "", self.describe()
        stderr = self.result.stderr
        assert stderr.startswith(("error: ", "Usage: ")), self.describe()
        assert len(stderr.splitlines()) <= 20, self.describe()
        return stderr


class Pathways:
    """The CLI in-process on one database, with an empty definitions folder and an incident
    log of its own."""

    def __init__(self, database_url: str, work: Path) -> None:
        self.database_url = database_url
        self.work = work
        self.definitions = work / "definitions"
        self.definitions.mkdir(parents=True, exist_ok=True)
        self.incident_log = work / "incidents.log"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str | None]:
        return {"PATHWAYS_DATABASE_URL": None, "PATHWAYS_DEBUG": None,
                "PATHWAYS_DEFINITIONS_DIR": str(self.definitions),
                "PATHWAYS_INCIDENT_LOG": str(self.incident_log), **(extra or {})}

    def run(self, argv: Sequence[str], *, json_mode: bool = True, db: str | None = None,
            env: dict[str, str] | None = None) -> Run:
        full = ["--db", db or self.database_url, *(["--json"] if json_mode else []), *argv]
        result = CliRunner().invoke(pathways_cli, full, env=self.env(env), input="",
                                    catch_exceptions=True)
        return Run(full, result)


def answers(run: Run, command: Command) -> Any:
    """One JSON document, a result or the error shape (or the command's report)."""
    return run.document(report=command.path in REPORTS)


def runnable(command: Command) -> bool:
    return command.path not in SERVES_FOREVER


# -- fixtures --------------------------------------------------------------------------------


@dataclass
class Broken:
    pathways: Pathways
    world: BrokenWorld
    files: dict[str, Path]

    def good(self) -> dict[str, str]:
        """A value for each parameter role that names something that exists and works."""
        return {"case": str(self.world.cases["active"]), "id": "1", "pathway": "robust",
                "task": self.world.tasks["active"], "username": ADMIN,
                "file": str(self.files["good"]), "output": str(self.pathways.work / "out" / "x"),
                "text": "x", "new_name": "newbie", "choice": ""}


def _files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {
        "good": ("robust_copy.bpmn", bpmn("robust_copy")),
        "malformed_xml": ("malformed.bpmn", "<bpmn:definitions><bpmn:process>"),
        "not_bpmn": ("other.bpmn", "<?xml version='1.0'?><html><body/></html>"),
        "empty": ("empty.bpmn", ""),
        "broken_yaml": ("broken.yaml", "pathway: [unclosed\n  steps: {"),
        "yaml_not_a_pathway": ("listy.yaml", "- 1\n- 2\n"),
        "broken_csv": ("broken.csv", "this,is\nnot,\"the,right\ncolumns"),
    }
    paths = {}
    for key, (name, text) in written.items():
        paths[key] = folder / name
        paths[key].write_text(text, encoding="utf-8")
    paths["binary"] = folder / "binary.bpmn"
    paths["binary"].write_bytes(b"\xff\xfe\x00\x01garbage\x80\x81")
    paths["directory"] = folder / "a_folder.bpmn"
    paths["directory"].mkdir(exist_ok=True)
    paths["missing"] = folder / "no-such-file.bpmn"
    return paths


@pytest.fixture
def broken(migrated_database_url: str, tmp_path: Path) -> Iterator[Broken]:
    application = bootstrap(Settings(database_url=migrated_database_url,
                                     definitions_dir=tmp_path / "no-definitions"),
                            hasher=CHEAP_HASHER)
    try:
        world = build(application)
    finally:
        application.close()
    yield Broken(Pathways(migrated_database_url, tmp_path / "work"), world,
                 _files(tmp_path / "files"))


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# -- the command list itself -------------------------------------------------------------------


def test_every_command_is_found() -> None:
    """The enumeration reaches nested groups and hidden commands (a guard on the guard)."""
    names = {c.name for c in all_commands()}
    assert {"cases show", "users tokens revoke", "migrate run", "export xes", "worker",
            "serve", "tasks complete", "outcomes matched-group"} <= names
    assert len(names) >= 40


# -- unknown things ----------------------------------------------------------------------------

UNKNOWN = {"case": "999999", "id": "999999", "pathway": "no_such_pathway",
           "task": "no-such-task", "username": "nobody"}


@pytest.mark.parametrize("role", sorted(UNKNOWN))
def test_every_command_refuses_unknown_things_as_not_found(broken: Broken, role: str) -> None:
    commands = [c for c in all_commands() if role in c.roles() and runnable(c)]
    assert commands, role
    for command in commands:
        values = {**broken.good(), role: UNKNOWN[role]}
        broken.pathways.run(argv_for(command, values)).error("not_found")


def test_without_json_an_unknown_thing_is_one_line_on_stderr(broken: Broken) -> None:
    for command in (c for c in all_commands() if "case" in c.roles()):
        stderr = broken.pathways.run(argv_for(command, {**broken.good(), "case": "999999"}),
                                     json_mode=False).text_error()
        assert stderr.startswith("error: ") and "999999" in stderr


# -- malformed command lines -----------------------------------------------------------------

BAD_IDS = ("0", "abc", "99999999999", "1e400", "1.5", "")
BAD_OPTION_VALUES: dict[str, tuple[str, ...]] = {
    "--data": ("{not json", "[1, 2]", '{"a": NaN}', '{"a": 1e400}', "\"text\""),
    "--since": ("2026-13-45", "yesterday"),
    "--now": ("not-a-time", "2026-02-30T10:00"),
    "--split": ("1=x", "x", "1=1,1=2", "0=50"),
    "--field": ("novalue", "=value", "age=1e400"),
    "--where": ("step", "task=review"),
    "--interval": ("-1", "abc", "inf"),
    "--port": ("0", "99999", "http"),
    "--workers": ("0", "65", "two"),
    "--threads": ("0", "1e3"),
    "--timeout": ("0", "-5", "inf"),
    "--kind": ("no_such_kind",),
    "--status": ("no_such_status",),
    "--per-100": ("-5", "NaN"),
    "--binary-rate": ("101",),
    "--size": ("0", "many"),
    "--role": ("emperor",),
    "--seed": ("abc",),
}


@SQLITE_ONLY
def test_every_command_refuses_a_malformed_command_line(broken: Broken) -> None:
    """Unknown options, extra or missing arguments, ids out of range: invalid_argument."""
    good = broken.good()
    for command in all_commands():
        base = argv_for(command, good)
        broken.pathways.run([*base, "--no-such-option"]).error("invalid_argument")
        if not command.takes_more_arguments():
            broken.pathways.run([*base, "one-argument-too-many"]).error("invalid_argument")
        if any(p.required for p in command.params()):
            broken.pathways.run(list(command.path)).error("invalid_argument")
        for param in command.params():
            if param.type is not cli_module.ID:
                continue
            for bad in BAD_IDS:
                overrides = {param.name or "": bad}
                argv = argv_for(command, good, overrides)
                if not param.required:
                    argv = [*argv_for(command, good), param.opts[0], bad]  # type: ignore[attr-defined]
                error = broken.pathways.run(argv).error("invalid_argument")
                assert param.name in error["details"].get("fields", {}), error


@SQLITE_ONLY
def test_an_unknown_or_missing_command_is_invalid_argument(broken: Broken) -> None:
    for argv in (["no-such-command"], [], ["cases"], ["users", "tokens", "nope"]):
        run = broken.pathways.run(argv)
        assert run.error("invalid_argument") and run.code == 2, run.describe()
    assert "No such command" in broken.pathways.run(["nope"], json_mode=False).text_error()


@SQLITE_ONLY
def test_every_command_refuses_malformed_option_values(broken: Broken) -> None:
    """Dates, JSON, splits, fields, ports...: whichever command has the option."""
    good = broken.good()
    seen = set()
    for command in all_commands():
        for option, values in BAD_OPTION_VALUES.items():
            if option not in command.options() or (
                    option in CHOICES_ONLY and not _is_choice(command, option)):
                continue
            seen.add(option)
            for value in values:
                extra = [option, value]
                if option == "--seed":
                    extra = ["--seed", value]  # --seed without --split: a usage problem
                argv = [*argv_for(command, good, {option.lstrip("-").replace("-", "_"): value}),
                        *([] if _is_required(command, option) else extra)]
                broken.pathways.run(argv).error("invalid_argument", "invalid_data",
                                                "not_found")
    assert seen == set(BAD_OPTION_VALUES)


# Elsewhere these are free-text filters (one that finds nothing is no failure): broken only
# where they are a choice or required.
CHOICES_ONLY = ("--kind", "--status", "--role")


def _is_choice(command: Command, option: str) -> bool:
    return any(option in getattr(p, "opts", ()) and (isinstance(p.type, click.Choice)
                                                     or p.required)
               for p in command.params())


def _is_required(command: Command, option: str) -> bool:
    return any(option in getattr(p, "opts", ()) and p.required for p in command.params())


def test_a_prompt_that_gets_no_answer_is_aborted_in_json(broken: Broken) -> None:
    run = broken.pathways.run(["users", "password", ADMIN])
    assert run.error("aborted")["message"] == "aborted"
    assert "Aborted!" in run.result.stderr


# -- broken files ----------------------------------------------------------------------------

FILE_PROBLEMS = ("missing", "malformed_xml", "not_bpmn", "empty", "broken_yaml",
                 "yaml_not_a_pathway", "broken_csv", "binary", "directory")


@SQLITE_ONLY
def test_every_command_refuses_missing_and_broken_files(broken: Broken) -> None:
    commands = [c for c in all_commands() if "file" in c.roles()]
    assert commands
    for command in commands:
        for problem in FILE_PROBLEMS:
            if command.path == ("validate",) and problem == "not_bpmn":
                continue  # validate reads XML without a process as valid: see the report
            values = {**broken.good(), "file": str(broken.files[problem])}
            run = broken.pathways.run(argv_for(command, values))
            document = run.document(report=command.path in REPORTS)
            assert run.code != 0, run.describe()
            if command.path in REPORTS and "error" not in document:
                continue
            assert document["error"]["code"] in ("invalid_definition", "io_error",
                                                 "invalid_argument", "invalid_data"), \
                run.describe()


# -- broken cases and versions ---------------------------------------------------------------

KINDS = ("error", "completed", "cancelled", "corrupt", "rotten")


def test_every_command_on_broken_cases_answers_json(broken: Broken) -> None:
    """Each command naming a case, on each broken case; each naming a pathway, on the one
    whose stored BPMN no longer parses; and every command on a database holding them."""
    for kind in KINDS:
        for command in (c for c in all_commands() if "case" in c.roles()):
            values = {**broken.good(), "case": str(broken.world.cases[kind])}
            answers(broken.pathways.run(argv_for(command, values)), command)
    for command in (c for c in all_commands() if runnable(c)):
        answers(broken.pathways.run(argv_for(command, {**broken.good(), "pathway": "rotten"})),
                command)
        answers(broken.pathways.run(argv_for(command, broken.good())), command)


def test_a_corrupt_stored_state_is_a_state_format_error_naming_the_case(broken: Broken
                                                                        ) -> None:
    case = broken.world.cases["corrupt"]
    run = broken.pathways.run(["tasks", "complete", broken.world.tasks["corrupt"]])
    error = run.error("state_format")
    assert error["details"]["case"] == case and str(case) in error["message"]
    broken.pathways.run(["cases", "cancel", str(case)]).error("state_format")
    broken.pathways.run(["cases", "show", str(case)]).document()  # the record is readable
    application = bootstrap(Settings(database_url=broken.pathways.database_url),
                            hasher=CHEAP_HASHER)
    try:  # a second version to migrate to: the damaged case is refused, the others move
        application.engine.publish({"robust.bpmn": bpmn("robust").replace(
            'name="Review"', 'name="Review again"')}, "robust.bpmn", note="v2", author="t")
    finally:
        application.close()
    report = broken.pathways.run(["migrate", "robust", "--from", "1", "--to", "2"]).document()
    refused = {r["case"]: r["reason"] for r in report["cases"] if not r["ok"]}
    assert "damaged" in refused[case] and str(case) in refused[case]
    assert report["moved"] >= 1


def test_a_version_that_no_longer_parses_is_an_invalid_stored_definition(broken: Broken
                                                                          ) -> None:
    case = broken.world.cases["rotten"]
    for argv in (["tasks", "complete", broken.world.tasks["rotten"]],
                 ["cases", "start", "rotten", "--client", str(broken.world.client)],
                 ["cases", "cancel", str(case)],
                 ["versions", "diff", "rotten", "1", "1"]):
        error = broken.pathways.run(argv).error("invalid_definition")
        assert error["details"].get("pathway") == "rotten", error
        assert error["details"].get("version") == 1, error


def test_commands_that_do_not_fit_the_case_state_are_invalid_state(broken: Broken) -> None:
    cases = broken.world.cases
    for argv in (["cases", "cancel", str(cases["completed"])],
                 ["cases", "cancel", str(cases["cancelled"])],
                 ["cases", "retry", str(cases["active"])],
                 ["cases", "retry", str(cases["completed"])],
                 ["cases", "retry", str(cases["cancelled"])]):
        broken.pathways.run(argv).error("invalid_state")


# -- broken databases and settings -----------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("where", ["unreachable", "not_a_database", "not_a_url"])
def test_every_command_on_a_database_it_cannot_use_is_a_database_error(
        broken: Broken, where: str) -> None:
    work = broken.pathways.work
    url = {"unreachable": UNREACHABLE, "not_a_url": "notadb://x",
           "not_a_database": f"sqlite:///{work / 'garbage.sqlite'}"}[where]
    (work / "garbage.sqlite").write_bytes(b"this is not a SQLite database at all" * 100)
    for command in (c for c in all_commands() if runnable(c)):
        run = broken.pathways.run(argv_for(command, broken.good()), db=url)
        if command.path == ("compile",):  # needs no database
            run.document()
        elif command.path in REPORTS and run.code != 0 and "error" not in run.document(
                report=True):
            continue  # the file's problems are reported before the database is opened
        else:
            run.error("database_error")
            text = broken.pathways.run(argv_for(command, broken.good()), db=url,
                                       json_mode=False).text_error()
            assert text.startswith("error: database"), text


def test_every_command_on_an_empty_database_answers_json(
        broken: Broken, database_url: str, request: pytest.FixtureRequest) -> None:
    """A database with no schema yet (a new SQLite file, a new PostgreSQL schema): each
    command brings the schema up and answers, found or not found, in JSON."""
    if database_url.startswith("sqlite"):
        empty = f"sqlite:///{broken.pathways.work / 'empty.sqlite'}"
    else:
        server: PostgresTestDatabase = request.getfixturevalue("postgres_database")
        schema = server.create_schema()
        request.addfinalizer(lambda: server.drop_schema(schema))
        empty = server.schema_url(schema)
    for command in (c for c in all_commands() if runnable(c)):
        answers(broken.pathways.run(argv_for(command, broken.good()), db=empty), command)


@SQLITE_ONLY
def test_a_definitions_folder_with_a_broken_file(broken: Broken) -> None:
    folder = broken.pathways.definitions
    (folder / "broken.bpmn").write_text("<bpmn:definitions>", encoding="utf-8")
    (folder / "half.yaml").write_text("pathway: half\nsteps: [", encoding="utf-8")
    broken.pathways.run(["init"]).error("invalid_definition")
    for command in (c for c in all_commands() if runnable(c)):
        answers(broken.pathways.run(argv_for(command, broken.good())), command)


# -- the last resort -------------------------------------------------------------------


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the unexpected happened")


@SQLITE_ONLY
def test_an_unexpected_exception_is_an_incident_not_a_traceback(
        broken: Broken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Engine, "get_case", _explode)
    argv = ["cases", "show", str(broken.world.cases["active"])]
    run = broken.pathways.run(argv)
    run.no_traceback()
    assert run.code == 1
    error = json.loads(run.result.stdout)["error"]
    assert error["code"] == "internal_error"
    assert error["message"] == "RuntimeError: the unexpected happened"
    incident = error["details"]["incident"]
    logged = broken.pathways.incident_log.read_text(encoding="utf-8")
    assert f"incident {incident}" in logged and "Traceback" in logged
    assert "cases show" in logged and "_explode" in logged
    assert incident in run.result.stderr and "Traceback" not in run.result.stderr

    text = broken.pathways.run(argv, json_mode=False)
    assert text.text_error().startswith("error: RuntimeError: the unexpected happened")

    debug = broken.pathways.run(argv, env={"PATHWAYS_DEBUG": "1"})
    assert json.loads(debug.result.stdout)["error"]["code"] == "internal_error"
    assert "Traceback" in debug.result.stderr and "_explode" in debug.result.stderr


@SQLITE_ONLY
def test_an_incident_log_that_cannot_be_written_still_answers(
        broken: Broken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Engine, "get_case", _explode)
    blocked = broken.pathways.work / "a-file"
    blocked.write_text("", encoding="utf-8")
    run = broken.pathways.run(["cases", "show", "1"],
                              env={"PATHWAYS_INCIDENT_LOG": str(blocked / "incidents.log")})
    run.no_traceback()
    error = json.loads(run.result.stdout)["error"]
    assert error["code"] == "internal_error" and error["details"]["log"] is None


# -- through the real process boundary ----------------------------------------------------------

_EXPLODING_CLI = (
    "import sys; from engine.cases.services import Engine\n"
    "def explode(*a, **k): raise RuntimeError('the unexpected happened')\n"
    "Engine.get_case = explode\n"
    "from adapters.cli import main; sys.argv[0] = 'pathways'; main()\n")


def test_the_real_process_prints_json_errors_only(cli: Cli, tmp_path: Path) -> None:
    application = bootstrap(Settings(database_url=cli.database_url or "",
                                     definitions_dir=tmp_path / "none"), hasher=CHEAP_HASHER)
    try:
        world = build(application)
    finally:
        application.close()
    log = tmp_path / "incidents.log"
    env = {"PATHWAYS_INCIDENT_LOG": str(log)}
    corrupt, unknown_option, bad_id, unreachable = cli.run_many([
        cli.argv(["--json", "tasks", "complete", world.tasks["corrupt"]]),
        cli.argv(["cases", "show", "1", "--json", "--no-such-option"]),
        cli.argv(["--json", "cases", "show", "99999999999"]),
        ["--db", UNREACHABLE, "--json", "cases", "list"]], env=env)
    assert corrupt.error("state_format")["details"]["case"] == world.cases["corrupt"]
    unknown_option.error("invalid_argument")
    assert "--no-such-option" in unknown_option.stderr  # and click's usage for people
    assert unknown_option.returncode == 2
    bad_id.error("invalid_argument")
    unreachable.error("database_error")
    for outcome in (corrupt, unknown_option, bad_id, unreachable):
        assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.stderr

    process = subprocess.run([sys.executable, "-c", _EXPLODING_CLI,
                              *cli.argv(["--json", "cases", "show", "1"])],
                             cwd=cli.cwd, env={**cli.environment(env)}, capture_output=True,
                             text=True, timeout=120, check=False)
    assert process.returncode == 1, process.stderr
    error = json.loads(process.stdout)["error"]
    assert error["code"] == "internal_error" and "Traceback" not in process.stderr
    assert error["details"]["incident"] in log.read_text(encoding="utf-8")


def test_module_exposes_the_group_class() -> None:
    assert isinstance(cli_module.cli, cli_module.JsonErrorsGroup)
