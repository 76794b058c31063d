"""Publish refuses every model that could never run, saying where: the broken-file corpus.

Each file of corpus/ breaks one rule and declares, in its first lines, the refusal expected:

    <!-- expect: code=invalid_definition rule=reserved_id element=Start line=6 message~="id" -->
    # expect: code=invalid_definition line=12 column=5 element=pause message~="1000 years"

(`key=value` must equal the refusal's field, `message~="text"` must be inside its message;
the file is always the corpus file itself.) Every file is published in-process through
Engine.publish on one SQLite database (DSL files first through read_bundle, as the CLI does),
and nothing may be published. A few go through the real `pathways publish --json` to prove
the CLI prints one JSON error and no traceback. Every shipped definition and test data file
must still publish (no false refusals).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.definition_files import publish_order, read_bundle
from adapters.sql import SqlAlchemyUnitOfWorkFactory, make_engine, upgrade
from dsl import DslError
from engine import Engine
from engine.errors import DefinitionError, EngineError
from engine.model import Bundle, PathwayVersion
from engine.workflow.definitions import bundle_hash
from tests.e2e.test_cli import Cli
from tests.unit.engine.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
DATA = ROOT / "tests" / "data"
DEFINITIONS = ROOT / "definitions"
BROKEN_BPMN = sorted(CORPUS.glob("*.bpmn"))
BROKEN_DSL = sorted(CORPUS.glob("*.yaml"))
_EXPECT = re.compile(r"expect:\s*(?P<body>.*?)\s*(?:-->)?\s*$")
_FIELD = re.compile(r'(?P<key>\w+)(?P<op>~?=)(?:"(?P<quoted>[^"]*)"|(?P<plain>\S+))')
# the pathways the corpus's DSL files may refer to
KNOWN_PATHWAYS = {"housing_support", "family_support"}


def expectation(path: Path) -> dict[str, tuple[str, str]]:
    """key -> (operator, value) from the file's `expect:` line."""
    for line in path.read_text(encoding="utf-8").splitlines()[:5]:
        found = _EXPECT.search(line)
        if found:
            return {m["key"]: (m["op"], m["quoted"] if m["quoted"] is not None else m["plain"])
                    for m in _FIELD.finditer(found["body"])}
    raise AssertionError(f"{path.name} declares no `expect:` line")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One Engine on one migrated SQLite file for the whole corpus (every publish is refused,
    so the files cannot affect each other; the test checks that too)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('corpus') / 'pathways.sqlite3'}"
    upgrade(url)
    database = make_engine(url)
    try:
        yield Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
    finally:
        database.dispose()


def refusal(engine: Engine, path: Path) -> dict[str, Any]:
    """Publish one corpus file; the refusal as code, file, line, column, element, message."""
    before = [(v.pathway, v.number) for v in engine.versions()]
    try:
        if path.suffix == ".yaml":
            files, main = read_bundle(path, known_pathways=KNOWN_PATHWAYS)
        else:
            files, main = {path.name: path.read_text(encoding="utf-8")}, path.name
        result = engine.publish(files, main)
    except DslError as err:
        first = err.problems[0]
        found = {"code": err.code, "file": first.file, "line": first.line,
                 "column": first.column, "element": first.path, "message": first.message,
                 "rule": None}
    except DefinitionError as err:
        found = {"code": err.code, "file": err.file, "line": err.line, "column": err.column,
                 "element": err.element, "message": err.message,
                 "rule": err.details.get("rule")}
    else:
        raise AssertionError(f"{path.name} was published: {result}")
    assert [(v.pathway, v.number) for v in engine.versions()] == before, "something published"
    return found


def test_the_corpus_has_a_file_for_every_rule() -> None:
    assert len(BROKEN_BPMN) >= 45 and len(BROKEN_DSL) >= 15
    assert len(BROKEN_BPMN) + len(BROKEN_DSL) >= 60


@pytest.mark.parametrize("path", BROKEN_BPMN + BROKEN_DSL, ids=lambda p: p.name)
def test_each_broken_file_is_refused_where_it_is_broken(engine: Engine, path: Path) -> None:
    found = refusal(engine, path)
    assert found["file"] is not None and Path(found["file"]).name == path.name, found
    for key, (op, value) in expectation(path).items():
        if op == "~=":
            assert value in str(found[key]), (key, value, found)
        else:
            assert str(found[key]) == value, (key, value, found)
    assert isinstance(found["line"], int) and found["line"] >= 1, found
    assert "Traceback" not in str(found["message"])


def test_nothing_in_the_corpus_was_published(engine: Engine) -> None:
    for path in BROKEN_BPMN[:5]:
        refusal(engine, path)
    assert engine.versions() == []


def test_a_refusal_is_the_same_on_postgresql(database_url: str) -> None:
    """The checks are pure; this proves the refusal leaves both backends' versions empty."""
    upgrade(database_url)
    database = make_engine(database_url)
    try:
        engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
        for name in ("reserved_start.bpmn", "timer_negative.bpmn", "script_class.bpmn"):
            found = refusal(engine, CORPUS / name)
            assert (found["rule"], found["element"]) == (
                expectation(CORPUS / name)["rule"][1], expectation(CORPUS / name)["element"][1])
        assert engine.versions() == []
    finally:
        database.dispose()


def test_a_version_stored_before_these_checks_still_runs(tmp_path: Path) -> None:
    """The checks guard publishing only: a version already in a database that breaks a rule
    harmless at run time (a startQuantity of 0, which SpiffWorkflow ignores) still loads and
    runs, so upgrading Pathways strands no case."""
    path = CORPUS / "start_quantity_zero.bpmn"
    files = {path.name: path.read_text(encoding="utf-8")}
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url)
    database = make_engine(url)
    try:
        uow_factory = SqlAlchemyUnitOfWorkFactory(database)
        with uow_factory() as uow:  # as an earlier release published it
            uow.versions.add_bundle(Bundle(bundle_hash(files), files))
            uow.versions.add(PathwayVersion(pathway="corpus", number=1,
                                            bundle_hash=bundle_hash(files),
                                            main_file=path.name))
            uow.commit()
        engine = Engine(uow=uow_factory, clock=FakeClock())
        with pytest.raises(DefinitionError):
            engine.publish(files, path.name)  # publishing it today is refused
        client = engine.add_client("Old")
        view = engine.start_case("corpus", client.id or 0)
        assert view.case.status == "active" and [t.task.step for t in view.tasks] == ["x"]
    finally:
        database.dispose()


def _shipped() -> list[Path]:
    return [path for path, _ in publish_order(DEFINITIONS)]


def test_every_shipped_definition_still_publishes(engine: Engine, tmp_path: Path) -> None:
    """No false refusals: the shipped pathways publish in `pathways init` order (on a fresh
    database of their own, as they refer to each other)."""
    url = f"sqlite:///{tmp_path / 'shipped.sqlite3'}"
    upgrade(url)
    database = make_engine(url)
    try:
        fresh = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
        known = {path.name.split(".")[0] for path in _shipped()}
        published = []
        for path in _shipped():
            files, main = read_bundle(path, known_pathways=known)
            published.append(fresh.publish(files, main, unless_published=True).pathway)
        assert set(published) == known
    finally:
        database.dispose()


# (tests/data/golden/ holds the DSL compiler's expected output, without its forms: the
# shipped YAML it comes from is published above)
TEST_DATA = sorted(DATA.glob("*.bpmn"))


@pytest.mark.parametrize("path", TEST_DATA, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_test_data_file_still_publishes(tmp_path: Path, path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.sqlite3'}"
    upgrade(url)
    database = make_engine(url)
    try:
        fresh = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
        if path.name == "needs_consent.bpmn":  # calls sign_consent, published first
            fresh.publish(*read_bundle(DATA / "sign_consent.bpmn"))
        files, main = read_bundle(path)
        if path.name == "signal_programme.bpmn":  # a template: its scope is filled in by tests
            files = {name: text.replace('value="SCOPE"', 'value="programme"')
                     for name, text in files.items()}
        try:
            result = fresh.publish(files, main)
        except EngineError as err:
            raise AssertionError(f"{path.name} refused: {err.message}") from err
        assert result.changed
    finally:
        database.dispose()


# -- the real CLI: one JSON error on stdout, nothing on stderr -----------------------------

CLI_SAMPLES = ["reserved_start.bpmn", "not_well_formed.bpmn"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_refuses_broken_files_with_json_only(cli: Cli) -> None:
    samples = [CORPUS / name for name in CLI_SAMPLES] + [
        path for path in BROKEN_DSL if "rule=timer" in path.read_text(encoding="utf-8")][:1]
    samples.append(BROKEN_DSL[0])
    outcomes = cli.many(*[("publish", str(path)) for path in samples],
                        *[("validate", str(path)) for path in samples])
    published, validated = outcomes[:len(samples)], outcomes[len(samples):]
    for path, outcome, check in zip(samples, published, validated, strict=True):
        assert outcome.returncode != 0 and check.returncode != 0, (outcome, check)
        for run in (outcome, check):
            assert "Traceback" not in run.stderr and run.stderr.strip() == "", run
        error = outcome.error("invalid_definition")
        expected = expectation(path)
        lines = {str(error["details"].get("line"))} | {
            str(p.get("line")) for p in error["details"].get("problems", [])}
        assert expected["line"][1] in lines, error
        # `pathways validate` finds the same problem at the same place, without publishing
        (report,) = json.loads(check.stdout)["files"]
        assert not report["valid"]
        assert expected["line"][1] in {str(p["line"]) for p in report["problems"]}, report
    assert json.loads(cli.run("definitions", "list").stdout) == []
