"""The DSL through the real `pathways` CLI: validate, compile and publish YAML pathways.

Validation and compilation need no database, so those tests run once, in a working directory
that must stay free of ./pathways.sqlite; publishing and running cases run on SQLite and
PostgreSQL. As in test_cli.py, every call is a Python process, so independent calls run side
by side and related assertions share a test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from adapters.definition_files import pathway_name, read_bundle
from adapters.sql import make_engine
from adapters.sql.tables import bundles
from tests.e2e.test_cli import (
    DATA,
    MALFORMED_BPMN,
    MALFORMED_LINE,
    PUBLISH_KEYS,
    Cli,
    Outcome,
)

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "definitions"
SHIPPED = sorted(DEFINITIONS.glob("*.yaml"))
SHIPPED_PATHWAYS = {"gate_reception", "family_support", "mental_health_referral",
                    "housing_support", "employment_support", "housing_first",
                    "talking_therapies", "youth_justice_referral_order"}
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): \S")
PROBLEM_KEYS = {"file", "line", "column", "path", "message"}

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FLOW_NODES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
              "boundaryEvent", "task", "userTask", "serviceTask", "scriptTask", "sendTask",
              "receiveTask", "manualTask", "businessRuleTask", "callActivity", "subProcess",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
              "complexGateway"}

# Seven planted mistakes, each found by the text it is written in (see _at).
MISTAKES = """\
pathway: broken_support
title: Broken support
roles:
  worker:
    title: Worker
steps:
  - task: intake
    role: wroker
    title: Intake
    due: P7X
    form:
      ready: {type: boolean, required: true, titel: Ready}
      visits: {type: integer, title: Visits, min: lots}
  - decide: check
    branches:
      - when: ready and (
        steps: []
    otherwise: []
  - record: outcome
    outcome: done
    value: readiness
  - task: intake
    role: worker
    title: Again
  - end: closed
    reason: completed
"""

# The flow mapping opened on line 3 is never closed; PyYAML notices at `steps` on line 4.
UNCLOSED = """\
pathway: unclosed
title: Unclosed
roles: {worker: {title: Worker}
steps:
  - end: closed
    reason: completed
"""
UNCLOSED_AT = (4, 1)


def _at(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of needle in text."""
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _planted() -> dict[tuple[int, int], tuple[str, str]]:
    """(line, column) -> (path, a word the message must hold) for each mistake in MISTAKES."""
    return {
        _at(MISTAKES, "wroker"): ("steps[0].role", "wroker"),
        _at(MISTAKES, "titel"): ("steps[0].form.ready.titel", "titel"),
        _at(MISTAKES, "P7X"): ("steps[0].due", "P7X"),
        _at(MISTAKES, "lots"): ("steps[0].form.visits.min", "lots"),
        _at(MISTAKES, "("): ("steps[1].branches[0].when", "ready and ("),
        _at(MISTAKES, "readiness"): ("steps[2].value", "readiness"),
        _at(MISTAKES, "intake", nth=2): ("steps[3].task", "intake"),
    }


def _no_traceback(*outcomes: Outcome) -> None:
    for outcome in outcomes:
        assert "Traceback" not in outcome.stderr + outcome.stdout, outcome.stderr


# -- validate ------------------------------------------------------------------------------


@pytest.fixture
def offline(tmp_path: Path, base_env: dict[str, str]) -> Iterator[Cli]:
    """The CLI with no database named, in an empty working directory it must leave empty of
    a database."""
    work = tmp_path / "work"
    work.mkdir()
    yield Cli(work, None, base_env)
    assert not (work / "pathways.sqlite").exists()


def test_validate_reports_every_problem_with_its_location(offline: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "broken_support.yaml"
    bad.write_text(MISTAKES, encoding="utf-8")
    unclosed = tmp_path / "unclosed.yaml"
    unclosed.write_text(UNCLOSED, encoding="utf-8")
    huge = tmp_path / "huge.yaml"
    huge.write_text("pathway: huge\ntitle: Huge\ndescription: " + "x" * (2 * 1024 * 1024)
                    + "\n", encoding="utf-8")
    deep = tmp_path / "deep.yaml"
    deep.write_text("pathway: deep\ntitle: Deep\nroles: {worker: {title: Worker}}\n"
                    "steps: " + "[" * 200 + "]" * 200 + "\n", encoding="utf-8")
    broken_bpmn = tmp_path / "broken.bpmn"
    broken_bpmn.write_text(MALFORMED_BPMN, encoding="utf-8")
    intake = DATA / "intake.bpmn"  # valid, with its form beside it
    shipped = [str(p) for p in SHIPPED]
    refused = [str(unclosed), str(huge), str(deep), str(broken_bpmn)]

    all_valid, invalid, as_json = offline.run_many([
        ["validate", *shipped, str(intake)],
        ["validate", str(bad), *refused],
        ["validate", "--json", str(bad), *refused, str(SHIPPED[0]), str(intake)],
    ])
    _no_traceback(all_valid, invalid, as_json)

    assert {pathway_name(p) for p in SHIPPED} == SHIPPED_PATHWAYS
    assert all_valid.returncode == 0, all_valid.stdout + all_valid.stderr
    assert all_valid.stdout.strip() == f"{len(SHIPPED) + 1} file(s) valid"

    # Every problem of every file in one run, one a line, each located.
    assert invalid.returncode == 1, invalid.stderr
    assert invalid.stderr == ""
    by_file: dict[str, list[re.Match[str]]] = {}
    for line in invalid.stdout.splitlines():
        match = LOCATED.match(line)
        assert match, line
        by_file.setdefault(match["file"], []).append(match)
    assert list(by_file) == [str(bad), *refused], invalid.stdout

    # The planted mistakes, each at the text it is about.
    planted = _planted()
    found = {(int(m["line"]), int(m["column"])): m.string for m in by_file[str(bad)]}
    assert set(found) == set(planted), invalid.stdout
    assert len(by_file[str(bad)]) == len(planted)
    for position, (path, word) in planted.items():
        assert word in found[position] and found[position].endswith(f" [{path}]")
    # Spelled out for a few, so _at cannot hide a mistake of its own.
    assert f"{bad}:8:11: role 'wroker'" in found[8, 11]
    assert f"{bad}:10:10: invalid expression 'P7X': P7X is not an ISO-8601 duration" \
        in found[10, 10]
    assert f"{bad}:12:46: unknown key 'titel' (did you mean 'title'?)" in found[12, 46]
    assert f"{bad}:22:11: step id 'intake' is already used by the step at line 7" \
        in found[22, 11]

    # YAML that does not parse, too much of it, too deep, broken XML: one clear line each.
    assert all(len(by_file[name]) == 1 for name in refused), invalid.stdout
    (yaml_error,) = by_file[str(unclosed)]
    assert (int(yaml_error["line"]), int(yaml_error["column"])) == UNCLOSED_AT
    assert "the YAML does not parse" in yaml_error.string
    (too_big,) = by_file[str(huge)]
    assert too_big.string.startswith(f"{huge}:1:1: the file is ")
    assert "bytes, more than the" in too_big.string
    (too_deep,) = by_file[str(deep)]
    assert int(too_deep["line"]) == 4 and "nests deeper than" in too_deep.string
    (xml_error,) = by_file[str(broken_bpmn)]
    assert int(xml_error["line"]) == MALFORMED_LINE and "not well-formed" in xml_error.string
    assert xml_error.string.count(str(broken_bpmn)) == 1  # the location is given once

    # --json: one report per file, in the order given, with the same problems.
    assert as_json.returncode == 1
    reports = json.loads(as_json.stdout)
    assert set(reports) == {"files"}
    assert [r["file"] for r in reports["files"]] == [
        str(bad), *refused, str(SHIPPED[0]), str(intake)]
    for report in reports["files"]:
        assert set(report) == {"file", "valid", "problems"}
        assert report["valid"] is (not report["problems"])
        for problem in report["problems"]:
            assert set(problem) == PROBLEM_KEYS
            assert problem["file"] == report["file"]
            assert isinstance(problem["line"], int) and problem["line"] >= 1
            assert isinstance(problem["column"], int) and problem["column"] >= 1
            assert isinstance(problem["message"], str) and problem["message"]
    assert [r["valid"] for r in reports["files"]] == [False] * (1 + len(refused)) + [True] * 2
    assert {(p["line"], p["column"]): p["path"] for p in reports["files"][0]["problems"]} == {
        position: path for position, (path, _) in planted.items()}
    assert [(p["line"], p["column"]) for r in reports["files"][1:1 + len(refused)]
            for p in r["problems"]] == [
        (int(m["line"]), int(m["column"])) for name in refused for m in by_file[name]]


def test_validate_offers_the_pathway_ids_of_the_files_not_their_names(offline: Cli,
                                                                      tmp_path: Path) -> None:
    """Files validated together may refer to each other by their pathway ids; an unknown
    pathway's message lists those ids, never a file's name (`My Draft`, `other_file`)."""
    draft = tmp_path / "My Draft.yaml"
    draft.write_text(MISTAKES.split("steps:")[0].replace("broken_support", "drafted")
                     + "steps:\n  - refer: onward\n    pathway: nowhere\n"
                       "  - refer: sideways\n    pathway: real_id\n", encoding="utf-8")
    other = tmp_path / "other_file.yaml"
    other.write_text(MISTAKES.split("steps:")[0].replace("broken_support", "real_id")
                     + "steps:\n  - end: closed\n    reason: completed\n", encoding="utf-8")
    outcome = offline.run_argv(["validate", str(draft), str(other)])
    _no_traceback(outcome)
    assert outcome.returncode == 1
    (line,) = outcome.stdout.splitlines()
    listed = line.split("known pathways (")[1].split(")")[0].split(", ")
    assert "real_id" in listed and "drafted" in listed
    assert "My Draft" not in listed and "other_file" not in listed
    assert set(listed) == {"drafted", "real_id", *SHIPPED_PATHWAYS}


# -- compile -------------------------------------------------------------------------------


def _compile(source: Path, output: Path, *, json_mode: bool = True) -> list[str]:
    return [*(["--json"] if json_mode else []), "compile", str(source), "-o", str(output)]


def _folder(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _check_diagram(bpmn: bytes) -> list[str]:
    """Assert the BPMN has a diagram with a shape per flow node and an edge per flow; return
    the form files its user tasks name."""
    root = etree.fromstring(bpmn, etree.XMLParser(resolve_entities=False, no_network=True))
    assert _local(root) == "definitions" and etree.QName(root).namespace == BPMN_NS
    (process,) = root.findall(f"{{{BPMN_NS}}}process")
    assert process.get("id") == "family_support"
    nodes = [e.get("id") for e in process.iter() if isinstance(e.tag, str)
             and etree.QName(e).namespace == BPMN_NS and _local(e) in FLOW_NODES]
    flows = [e.get("id") for e in process.iter(f"{{{BPMN_NS}}}sequenceFlow")]
    assert nodes and flows and len(set(nodes)) == len(nodes)
    kinds = {_local(e) for e in process.iter() if e.get("id") in nodes}
    assert {"startEvent", "userTask", "exclusiveGateway", "subProcess", "endEvent"} <= kinds

    (diagram,) = root.findall(f"{{{BPMNDI_NS}}}BPMNDiagram")
    (plane,) = diagram.findall(f"{{{BPMNDI_NS}}}BPMNPlane")
    shapes = plane.findall(f"{{{BPMNDI_NS}}}BPMNShape")
    shaped = [s.get("bpmnElement") for s in shapes]
    assert len(set(shaped)) == len(shaped)
    assert set(nodes) <= set(shaped), set(nodes) - set(shaped)
    for shape in shapes:
        (bounds,) = shape.findall(f"{{{DC_NS}}}Bounds")
        assert float(bounds.get("width", 0)) > 0 and float(bounds.get("height", 0)) > 0
    edges = {e.get("bpmnElement"): e for e in plane.findall(f"{{{BPMNDI_NS}}}BPMNEdge")}
    assert set(flows) <= set(edges)
    assert all(len(edges[f].findall(f"{{{DI_NS}}}waypoint")) >= 2 for f in flows)

    forms = []
    for task in process.iter(f"{{{BPMN_NS}}}userTask"):
        (name,) = [p.get("value") for p in task.iter(f"{{{SPIFF_NS}}}property")
                   if p.get("name") == "formJsonSchemaFilename"]
        assert name == f"family_support.{task.get('id')}.schema.json"
        forms.append(name)
    return forms


@pytest.fixture(scope="module")
def compiled_family_support(tmp_path_factory: pytest.TempPathFactory,
                            base_env: dict[str, str]
                            ) -> tuple[Path, dict[str, Any]]:
    """family_support.yaml compiled once (with no database): the BPMN written and what
    compile --json printed. The compile test checks it; the backends publish it."""
    folder = tmp_path_factory.mktemp("compiled")
    output = folder / "out" / "family_support.bpmn"
    printed = Cli(folder, None, base_env).run_argv(
        _compile(DEFINITIONS / "family_support.yaml", output)).ok()
    assert not (folder / "pathways.sqlite").exists()
    return output, printed


def test_compile_writes_deterministic_bpmn_with_a_diagram_and_forms(
        offline: Cli, tmp_path: Path,
        compiled_family_support: tuple[Path, dict[str, Any]]) -> None:
    compiled, written = compiled_family_support
    first_dir = compiled.parent
    other_dir = tmp_path / "other" / "nested"
    bad = tmp_path / "broken_support.yaml"
    bad.write_text(MISTAKES, encoding="utf-8")

    # The second run is a process with a string-hash seed of its own: set order cannot leak.
    other, broken, not_yaml, checked = offline.run_many([
        _compile(DEFINITIONS / "family_support.yaml", other_dir / "family_support.bpmn"),
        _compile(bad, tmp_path / "never" / "broken_support.bpmn"),
        _compile(DATA / "intake.bpmn", tmp_path / "never" / "intake.bpmn"),
        ["validate", str(compiled)],  # what compile writes is valid BPMN with its forms
    ], env={"PYTHONHASHSEED": "random"})
    _no_traceback(other, broken, not_yaml, checked)

    files = _folder(first_dir)
    assert set(written) == {"pathway", "files"} and written["pathway"] == "family_support"
    assert written["files"][0] == str(compiled)
    assert sorted(written["files"]) == sorted(str(first_dir / name) for name in files)
    assert other.ok()["files"] == [f.replace(str(first_dir), str(other_dir))
                                   for f in written["files"]]
    assert _folder(other_dir) == files  # byte for byte
    assert checked.returncode == 0, checked.stdout

    forms = _check_diagram(files["family_support.bpmn"])
    assert set(files) == {"family_support.bpmn", "family_support.roles.json", *forms}
    assert len(forms) == 5  # the pathway's tasks with forms
    assert json.loads(files["family_support.roles.json"])["organisation"] == "ormiston_families"
    for name in forms:
        schema = json.loads(files[name])
        assert schema["type"] == "object" and schema["properties"]

    error = broken.error("invalid_definition")
    assert {(p["line"], p["column"]) for p in error["details"]["problems"]} == set(_planted())
    assert all(set(p) == PROBLEM_KEYS and p["file"] == str(bad)
               for p in error["details"]["problems"])
    assert not (tmp_path / "never").exists()
    assert "intake.bpmn" in not_yaml.error("invalid_argument")["message"]


def test_compiled_bpmn_publishes_and_runs(
        cli: Cli,
        compiled_family_support: tuple[Path, dict[str, Any]]) -> None:
    compiled, _ = compiled_family_support
    published, added = cli.many(
        ["publish", str(compiled)],
        ["clients", "add", "--name", "Fay", "--field", "phone=07700 900456"])
    result = published.ok()
    assert set(result) == PUBLISH_KEYS
    assert (result["pathway"], result["version"], result["changed"]) == (
        "family_support", 1, True)
    started = cli.json("cases", "start", "family_support", "--client", str(added.ok()["id"]))
    assert started["status"] == "active" and started["version"] == 1
    (first,) = started["tasks"]
    assert (first["step"], first["role"]) == ("referral_received", "family_worker")
    assert first["schema"]["required"] == ["first_contact"]
    assert set(first["schema"]["properties"]) == {"phone", "first_contact"}


# -- publish YAML --------------------------------------------------------------------------


def _stored_files(database_url: str, bundle_hash: str) -> dict[str, str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            files = connection.scalar(select(bundles.c.files)
                                      .where(bundles.c.hash == bundle_hash))
    finally:
        engine.dispose()
    assert isinstance(files, dict), bundle_hash
    return files


def test_publish_yaml_versions_by_content_and_runs(
        cli: Cli, database_url: str, tmp_path: Path) -> None:
    source = DEFINITIONS / "housing_support.yaml"
    text = source.read_text(encoding="utf-8")
    published, added = cli.many(
        ["publish", str(source)],
        ["clients", "add", "--name", "Gus", "--field", "release_date=2030-01-10"])
    first = published.ok()
    assert set(first) == PUBLISH_KEYS
    assert (first["pathway"], first["version"], first["changed"]) == (
        "housing_support", 1, True)
    assert re.fullmatch(r"[0-9a-f]{64}", first["hash"])
    client = str(added.ok()["id"])

    # The version holds the YAML source beside the BPMN and forms compiled from it.
    stored = _stored_files(database_url, first["hash"])
    assert stored["housing_support.yaml"] == text
    assert stored == read_bundle(source)[0]
    assert "bpmndi:BPMNDiagram" in stored["housing_support.bpmn"]

    edited = tmp_path / "edited" / "housing_support.yaml"
    edited.parent.mkdir()
    edited_text = text.replace("\ntitle: Housing support\n", "\ntitle: Housing support (new)\n")
    assert edited_text != text
    edited.write_text(edited_text, encoding="utf-8")
    broken = tmp_path / "broken" / "housing_support.yaml"
    broken.parent.mkdir()
    broken_text = text.replace("role: housing_worker", "role: housing_wroker", 1)
    broken.write_text(broken_text, encoding="utf-8")

    again, refused, started = cli.many(
        ["publish", str(source)],
        ["publish", str(broken)],
        ["cases", "start", "housing_support", "--client", client])
    assert again.ok() == {**first, "changed": False}
    error = refused.error("invalid_definition")
    (problem,) = error["details"]["problems"]
    assert set(problem) == PROBLEM_KEYS
    assert (problem["file"], problem["line"], problem["column"], problem["path"]) == (
        str(broken), *_at(broken_text, "housing_wroker"), "steps[0].role")
    assert "housing_wroker" in problem["message"]
    case = started.ok()
    assert case["status"] == "active" and case["version"] == 1
    (assessment,) = case["tasks"]
    assert (assessment["step"], assessment["role"]) == ("housing_assessment", "housing_worker")
    assert assessment["due"].startswith("2029-12-27")  # release_date - P14D

    second, completed = cli.many(
        ["publish", str(edited)],
        ["tasks", "complete", assessment["id"], "--data",
         json.dumps({"current_situation": "hostel", "priority_need": True})])
    revised = second.ok()
    assert (revised["pathway"], revised["version"], revised["changed"]) == (
        "housing_support", 2, True)
    assert revised["hash"] != first["hash"]
    assert _stored_files(database_url, revised["hash"])["housing_support.yaml"] == edited_text
    after = completed.ok()
    assert after["status"] == "active"
    assert [t["step"] for t in after["tasks"]] == ["apply_for_housing"]


# -- init ----------------------------------------------------------------------------------


def test_init_publishes_the_eight_shipped_yaml_pathways(
        fresh_cli: Cli, database_url: str) -> None:
    """Each pathway's current file; gate_reception's launch version (gate_reception.v1.yaml)
    first, so gate_reception is at version 2, each version with the note in its file."""
    initialised = fresh_cli.json("init")
    published = [(r["pathway"], r["version"]) for r in initialised["published"]]
    assert sorted(published) == sorted([(p, 1) for p in SHIPPED_PATHWAYS]
                                       + [("gate_reception", 2)])
    assert all(r["changed"] is True for r in initialised["published"])
    [v1] = [r for r in initialised["published"] if (r["pathway"], r["version"]) == (
        "gate_reception", 1)]
    launch = (DEFINITIONS / "gate_reception.v1.yaml").read_text(encoding="utf-8")
    assert _stored_files(database_url, v1["hash"])["gate_reception.yaml"] == launch
    listed = fresh_cli.json("definitions", "list")
    assert {v["pathway"] for v in listed} == SHIPPED_PATHWAYS
    for version in listed:
        assert version["file"] == f"{version['pathway']}.bpmn"
        assert version["version"] == (2 if version["pathway"] == "gate_reception" else 1)
        shipped = DEFINITIONS / f"{version['pathway']}.yaml"
        stored = _stored_files(database_url, version["hash"])
        assert stored[shipped.name] == shipped.read_text(encoding="utf-8")
        assert version["author"] == "pathways init"
        assert version["note"] == (
            "Adds mental health screening and referral to Mind (mental_health_referral)"
            if version["pathway"] == "gate_reception" else "published by init")
