"""Publishing reads only files inside the definition's own folder (issue 10, item 4).

A BPMN user task names its form in `formJsonSchemaFilename` (or `formUiSchemaFilename`); the
publisher used to read whatever that named (`/etc/passwd`, `../../x`, `/proc/self/environ`)
and store it in the bundle, from where a JSON file's content reached every caseworker as the
task's schema. Each such name is now refused at publish with the element and attribute named,
and nothing is stored. Unit tests of the resolver, then the real CLI on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from adapters.definition_files import MAX_FILE_BYTES, read_bundle
from engine.errors import DefinitionError, FormValidationError
from engine.workflow.definitions import file_name_problem, parse_bundle
from engine.workflow.forms import validate_submission
from tests.bpmn_text import one_form_task
from tests.e2e.test_cli import Cli

SCHEMA = json.dumps({"type": "object", "properties": {"note": {"type": "string"}}})


def bpmn(form: str, *, attribute: str = "formJsonSchemaFilename", process: str = "leaky") -> str:
    """A one-task pathway whose task names `form` (XML-escaped by the caller if need be)."""
    return one_form_task(process, "ask", form, process_title="Leaky", task_title="Ask",
                         attribute=attribute)


FORM_LINE = 9  # the line of the property in bpmn()
# the traversals the CLI end-to-end tests try (each call is a process; the resolver's unit
# tests try them all)
CLI_CASES = ("absolute", "proc_environ", "dotdot_deep", "inner_dotdot", "url_encoded",
             "backslash", "windows_drive")

# (case id, the name as written in the XML attribute)
TRAVERSALS = [
    ("absolute", "/etc/passwd"),
    ("proc_environ", "/proc/self/environ"),
    ("dotdot", "../secret.json"),
    ("dotdot_deep", "../../../../../../etc/passwd"),
    ("inner_dotdot", "foo/../../secret.json"),
    ("dot_segment", "./../secret.json"),
    ("url_encoded", "%2e%2e/secret.json"),
    ("url_encoded_slash", "..%2fsecret.json"),
    ("backslash", "..\\secret.json"),
    ("windows_drive", "C:\\Windows\\win.ini"),
    ("windows_drive_slash", "c:/secret.json"),
    ("unc", "\\\\host\\share\\x.json"),
    ("home", "~/secret.json"),
    ("tab", "secret&#9;.json"),
    ("newline", "secret&#10;.json"),
]


def _layout(tmp_path: Path, form: str, *, attribute: str = "formJsonSchemaFilename") -> Path:
    """tmp/outside/secret.json (a valid schema, so only the path can refuse it) and
    tmp/defs/leaky.bpmn naming `form`; returns the BPMN's path."""
    outside = tmp_path / "outside"
    defs = outside / "defs"
    defs.mkdir(parents=True)
    (outside / "secret.json").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "secret.json").write_text(SCHEMA, encoding="utf-8")
    main = defs / "leaky.bpmn"
    main.write_text(bpmn(form, attribute=attribute), encoding="utf-8")
    return main


def _assert_located(err: DefinitionError, *, attribute: str = "formJsonSchemaFilename") -> None:
    assert err.element == "ask", err.message
    assert err.line == FORM_LINE, err.message
    assert err.details.get("attribute") == attribute, err.details
    assert attribute in err.message and "'ask'" in err.message, err.message


# -- the name check (engine) -------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "/etc/passwd", "../x.json", "foo/../../x", "a/./b.json", "%2e%2e/x", "..\\x", "C:x",
    "c:/x", "x\x00.json", "x\n.json", ".hidden.json", "~/x", "", "a//b.json", "a/" * 150,
])
def test_unsafe_names_are_refused(name: str) -> None:
    assert file_name_problem(name) is not None


@pytest.mark.parametrize("name", [
    "intake.assess.schema.json", "forms/intake.json", "a-b_c.d.json",
])
def test_plain_names_inside_the_folder_are_accepted(name: str) -> None:
    assert file_name_problem(name) is None


def test_the_engine_refuses_a_bundle_naming_a_file_outside_whatever_the_adapter() -> None:
    """Engine.publish is given files by any adapter: parse_bundle checks the names itself."""
    files = {"leaky.bpmn": bpmn("/etc/passwd"), "/etc/passwd": SCHEMA}
    with pytest.raises(DefinitionError) as caught:
        parse_bundle(files, "leaky.bpmn")
    assert caught.value.element is not None or "/etc/passwd" in caught.value.message


def test_the_engine_names_the_element_and_attribute_of_a_bad_reference() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_bundle({"leaky.bpmn": bpmn("../x.json")}, "leaky.bpmn")
    _assert_located(caught.value)


# -- the resolver (adapters.definition_files) ------------------------------------------------


@pytest.mark.parametrize(("case", "form"), TRAVERSALS, ids=[c for c, _ in TRAVERSALS])
def test_resolver_refuses_names_leaving_the_folder(tmp_path: Path, case: str,
                                                   form: str) -> None:
    main = _layout(tmp_path, form)
    with pytest.raises(DefinitionError) as caught:
        read_bundle(main)
    _assert_located(caught.value)


def test_resolver_refuses_the_ui_schema_attribute_too(tmp_path: Path) -> None:
    main = _layout(tmp_path, "/etc/passwd", attribute="formUiSchemaFilename")
    with pytest.raises(DefinitionError) as caught:
        read_bundle(main)
    _assert_located(caught.value, attribute="formUiSchemaFilename")


def test_nul_in_the_name_is_refused_with_its_location(tmp_path: Path) -> None:
    """XML cannot carry NUL (`&#0;`): the file is refused as not well-formed, at the line."""
    main = _layout(tmp_path, "x&#0;.json")
    with pytest.raises(DefinitionError) as caught:
        read_bundle(main)
    assert caught.value.line == FORM_LINE


def test_resolver_refuses_a_symlink_pointing_out(tmp_path: Path) -> None:
    main = _layout(tmp_path, "form.json")
    (main.parent / "form.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(DefinitionError) as caught:
        read_bundle(main)
    _assert_located(caught.value)
    assert "symbolic link" in caught.value.message


def test_resolver_refuses_a_symlinked_folder_pointing_out(tmp_path: Path) -> None:
    main = _layout(tmp_path, "forms/secret.json")
    (main.parent / "forms").symlink_to(tmp_path)
    with pytest.raises(DefinitionError) as caught:
        read_bundle(main)
    _assert_located(caught.value)


def test_resolver_accepts_a_symlink_inside_the_folder(tmp_path: Path) -> None:
    main = _layout(tmp_path, "form.json")
    (main.parent / "real").mkdir()
    (main.parent / "real" / "schema.json").write_text(SCHEMA, encoding="utf-8")
    (main.parent / "form.json").symlink_to(main.parent / "real" / "schema.json")
    files, name = read_bundle(main)
    assert name == "leaky.bpmn" and files["form.json"] == SCHEMA


def test_resolver_refuses_a_fifo_without_hanging(tmp_path: Path) -> None:
    main = _layout(tmp_path, "form.json")
    os.mkfifo(main.parent / "form.json")
    started = time.monotonic()
    with pytest.raises(DefinitionError) as caught:
        read_bundle(main)
    assert time.monotonic() - started < 2
    assert "not a regular file" in caught.value.message


def test_resolver_refuses_a_folder_and_a_device(tmp_path: Path) -> None:
    main = _layout(tmp_path, "form.json")
    (main.parent / "form.json").mkdir()
    with pytest.raises(DefinitionError, match="not a regular file"):
        read_bundle(main)
    (main.parent / "form.json").rmdir()
    (main.parent / "form.json").symlink_to("/dev/zero")  # a device, and outside
    with pytest.raises(DefinitionError):
        read_bundle(main)


def test_resolver_refuses_an_over_large_file(tmp_path: Path) -> None:
    main = _layout(tmp_path, "form.json")
    with open(main.parent / "form.json", "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(DefinitionError, match="bytes"):
        read_bundle(main)


def test_resolver_refuses_a_roles_file_linking_out(tmp_path: Path) -> None:
    main = _layout(tmp_path, "form.json")
    (main.parent / "form.json").write_text(SCHEMA, encoding="utf-8")
    (main.parent / "leaky.roles.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(DefinitionError, match="roles file"):
        read_bundle(main)


def test_a_definitions_folder_may_not_link_a_definition_in_from_outside(tmp_path: Path) -> None:
    main = _layout(tmp_path, "form.json")
    (main.parent / "form.json").write_text(SCHEMA, encoding="utf-8")
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "leaky.bpmn").symlink_to(main)
    with pytest.raises(DefinitionError, match="outside"):
        read_bundle(folder / "leaky.bpmn", folder=folder)


# -- the real CLI, on SQLite and PostgreSQL -------------------------------------------------


def _assert_refused(outcome_error: dict[str, object], *, attribute: str = "formJsonSchemaFilename"
                    ) -> None:
    details = outcome_error["details"]
    assert isinstance(details, dict)
    assert details.get("element") == "ask", outcome_error
    assert details.get("attribute") == attribute, outcome_error
    assert details.get("line") == FORM_LINE, outcome_error


def test_cli_publish_refuses_every_path_out_and_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    mains = [_layout(tmp_path / case, form) for case, form in TRAVERSALS if case in CLI_CASES]
    fifo = _layout(tmp_path / "fifo", "form.json")
    os.mkfifo(fifo.parent / "form.json")
    link_out = _layout(tmp_path / "link_out", "form.json")
    (link_out.parent / "form.json").symlink_to(tmp_path / "link_out" / "secret.json")
    proc_link = _layout(tmp_path / "proc_link", "form.json")
    (proc_link.parent / "form.json").symlink_to("/proc/self/environ")
    calls = [("publish", str(m)) for m in [*mains, fifo, link_out, proc_link]]
    outcomes = []
    for start in range(0, len(calls), 3):  # a few at a time: each call is a Python process
        outcomes += cli.many(*calls[start:start + 3])  # (a FIFO would hang one: timeout)
    for outcome in outcomes:
        _assert_refused(outcome.error("invalid_definition"))
        assert "root:" not in outcome.stdout and "PATH=" not in outcome.stdout
    assert cli.json("definitions", "list") == []
    assert cli.error("versions", "list", "leaky", code="not_found")


def test_cli_publish_accepts_a_symlink_inside_and_validate_reports_a_path_out(
        cli: Cli, tmp_path: Path) -> None:
    good = _layout(tmp_path / "good", "form.json")
    (good.parent / "real.json").write_text(SCHEMA, encoding="utf-8")
    (good.parent / "form.json").symlink_to(good.parent / "real.json")
    bad = _layout(tmp_path / "bad", "../secret.json")
    published, validated, compiled = cli.many(
        ("publish", str(good)), ("validate", str(bad)), ("validate", str(good)))
    assert published.ok()["pathway"] == "leaky"
    assert validated.returncode == 1
    problem = json.loads(validated.stdout)["files"][0]["problems"][0]
    assert problem["path"] == "ask" and problem["line"] == FORM_LINE
    assert "formJsonSchemaFilename" in problem["message"]
    assert compiled.ok()["files"][0]["valid"] is True


def test_cli_init_refuses_a_definitions_folder_reaching_out(cli: Cli, tmp_path: Path) -> None:
    reaching = _layout(tmp_path / "reaching", "../secret.json")
    linked_in = tmp_path / "linked_in"
    linked_in.mkdir()
    target = _layout(tmp_path / "elsewhere", "form.json")
    (target.parent / "form.json").write_text(SCHEMA, encoding="utf-8")
    (linked_in / "leaky.bpmn").symlink_to(target)
    first = cli.run_argv(cli.argv(["--json", "init"]),
                         env={"PATHWAYS_DEFINITIONS_DIR": str(reaching.parent)})
    second = cli.run_argv(cli.argv(["--json", "init"]),
                          env={"PATHWAYS_DEFINITIONS_DIR": str(linked_in)})
    _assert_refused(first.error("invalid_definition"))
    error = second.error("invalid_definition")
    assert "outside" in error["message"]
    assert cli.json("definitions", "list") == []


# -- a form's $ref: nothing fetched from files or the network --------------------------------


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "file:///proc/self/environ",
                                 "../secret.json", "secret.json#/x", "http://127.0.0.1:9/x",
                                 "/etc/passwd"])
def test_a_form_referring_outside_itself_is_refused_at_publish(ref: str) -> None:
    form = {"type": "object", "properties": {"note": {"$ref": ref}}}
    with pytest.raises(DefinitionError) as caught:
        parse_bundle({"leaky.bpmn": bpmn("leaky.form.json"),
                      "leaky.form.json": json.dumps(form)}, "leaky.bpmn")
    assert caught.value.file == "leaky.form.json"
    assert "/properties/note/$ref" in caught.value.message


def test_a_form_referring_inside_itself_is_published() -> None:
    form = {"type": "object", "$defs": {"short": {"type": "string", "maxLength": 5}},
            "properties": {"note": {"$ref": "#/$defs/short"}}}
    parsed = parse_bundle({"leaky.bpmn": bpmn("leaky.form.json"),
                           "leaky.form.json": json.dumps(form)}, "leaky.bpmn")
    assert parsed.forms["leaky.form.json"] == form


def test_validation_never_fetches_a_ref_from_a_file(tmp_path: Path) -> None:
    """A form already stored with an outside $ref (published before this check) is refused
    at submission; the file it names is not read."""
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"type": "string"}), encoding="utf-8")
    form = {"type": "object", "properties": {"note": {"$ref": secret.as_uri()}}}
    with pytest.raises(FormValidationError) as caught:
        validate_submission(form, {"note": 5})
    assert "note" not in caught.value.fields  # had the file been read: "5 is not a string"
