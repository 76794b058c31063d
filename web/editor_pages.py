"""Writing and publishing pathways in the browser (issue 14, item 3): a YAML editor (CodeMirror
from npm, served by the app) checked by the server as the designer types, each problem at its
line and column with its message, a preview of the compiled diagram, and "publish as new
version" with a required note; a BPMN file (with its forms) can be uploaded instead, refused
with the same located messages as `pathways publish`. Designers and admins only; every form
is CSRF-protected (the checks' JSON requests send the token in a header).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest

from dsl import DslProblem, compile_pathway, validate
from engine.errors import DefinitionError
from web.designer import CHANGERS
from web.security import application, current_user, roles_required

bp = Blueprint("editor", __name__)
SOURCE_LIMIT = 256 * 1024  # characters of a pathway's YAML (the largest shipped: about 12,000)
NOTE_LIMIT = 500
UPLOAD_LIMIT = 1024 * 1024  # bytes of an uploaded file
STARTER = """\
pathway: new_pathway
title: A new pathway
description: What the service does, for whom.
organisation: st_giles_trust
roles:
  worker:
    title: Worker
    organisations: [st_giles_trust]

steps:
  - task: first_contact
    role: worker
    title: First contact
    form:
      seen: {type: boolean, required: true, title: Client seen}
  - end: closed
    reason: completed
"""


def _known_pathways() -> list[str]:
    return [v.pathway for v in application().engine.definitions()]


def _check(source: str) -> tuple[list[DslProblem], dict[str, str] | None, str | None]:
    """The source's problems, and when it has none, its compiled bundle and main file."""
    document, problems = validate(source, "pathway.yaml", known_pathways=_known_pathways())
    if problems or document is None:
        return problems, None, None
    compiled = compile_pathway(document)
    return [], {f"{compiled.pathway}.yaml": source, **compiled.files()}, compiled.bpmn_file


def _problem_json(problem: DslProblem) -> dict[str, Any]:
    return {"line": problem.line, "column": problem.column, "path": problem.path,
            "message": problem.message}


def _source(form: Mapping[str, str]) -> str:
    source = form.get("source", "")
    if len(source) > SOURCE_LIMIT:
        raise BadRequest(f"the pathway is longer than {SOURCE_LIMIT:,} characters")
    return source.replace("\r\n", "\n")


def _username() -> str:
    user = current_user()
    assert user is not None  # roles_required ran
    return user.username


@bp.get("/editor")
@roles_required(*CHANGERS)
def new() -> Any:
    return _editor(None, STARTER)


@bp.get("/pathways/<name>/edit")
@roles_required(*CHANGERS)
def edit(name: str) -> Any:
    engine = application().engine
    latest = engine.version_summaries(name)[-1].version  # none: the engine's 404
    files = engine.definition(name, latest.number).files
    return _editor(name, files.get(f"{name}.yaml"), latest=latest.number)


def _editor(name: str | None, source: str | None, *, latest: int | None = None,
            problems: list[DslProblem] | None = None, note: str = "",
            upload_problem: str | None = None, note_problem: str | None = None,
            status: int = 200) -> Any:
    """The editor page; on a first visit (nothing posted) the designer's own draft of this
    pathway, when it started from the same version, takes the place of the published text."""
    draft = None
    if source is not None and not problems and not note_problem and status == 200:
        found = application().engine.definition_draft(_username(), name or "")
        if found is not None and found.based_on == latest:
            draft, source = found, found.source
    return render_template("editor.html", name=name, source=source, latest=latest,
                           problems=problems or [], note=note, upload_problem=upload_problem,
                           note_problem=note_problem, source_limit=SOURCE_LIMIT,
                           draft=draft), status


@bp.post("/editor/draft")
@roles_required(*CHANGERS)
def save_draft() -> Any:
    """Keep what the designer has typed (JSON {"name", "source", "based_on"}), unpublished."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("source"), str):
        raise BadRequest('send JSON {"name": ..., "source": ..., "based_on": ...}')
    name = body.get("name") or ""
    based_on = body.get("based_on")
    if not isinstance(name, str) or len(name) > 200 or not (
            based_on is None or (isinstance(based_on, int) and not isinstance(based_on, bool))):
        raise BadRequest("name must be a pathway id and based_on a version number or null")
    draft = application().engine.save_definition_draft(_username(), name, _source(body),
                                                       based_on)
    return jsonify({"saved_at": draft.saved_at.isoformat()})


@bp.post("/editor/draft/discard")
@roles_required(*CHANGERS)
def discard_draft() -> Any:
    name = request.form.get("name") or ""
    application().engine.discard_definition_draft(_username(), name)
    flash("Your draft was discarded.")
    return redirect(url_for("editor.edit", name=name) if name else url_for("editor.new"))


@bp.post("/editor/check")
@roles_required(*CHANGERS)
def check() -> Any:
    """The problems of the YAML sent (JSON {"source": ...}), each with its line and column,
    and when there are none the compiled BPMN, for the preview."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("source"), str):
        raise BadRequest('send JSON {"source": "the pathway\'s YAML"}')
    source = _source(body)
    problems, files, main = _check(source)
    return jsonify({"problems": [_problem_json(p) for p in problems],
                    "pathway": None if files is None else main.removesuffix(".bpmn")
                    if main else None,
                    "bpmn": files[main] if files is not None and main else None})


def _note(form: Mapping[str, str]) -> tuple[str, str | None]:
    note = (form.get("note") or "").strip()
    if not note:
        return note, "say what this version changes (the note is kept with it)"
    if len(note) > NOTE_LIMIT:
        return note, f"at most {NOTE_LIMIT} characters"
    return note, None


def _published(files: dict[str, str], main: str, note: str, edited: str | None = None
               ) -> Any:
    """Publish, forget the designer's draft (of the pathway edited and the one published),
    and go to the pathway."""
    engine = application().engine
    result = engine.publish(files, main, note=note, author=_username())
    for name in {edited or "", result.pathway}:
        engine.discard_definition_draft(_username(), name)
    if result.changed:
        flash(f"Published {result.pathway} v{result.version}: {note}")
    else:
        flash(f"Nothing published: {result.pathway} v{result.version} is already the same.")
    return redirect(url_for("designer.pathway", name=result.pathway))


@bp.post("/editor/publish")
@roles_required(*CHANGERS)
def publish() -> Any:
    """Publish the YAML as the next version of the pathway it names, with the note; any
    problem is shown at its line with the text kept, and nothing is published."""
    source = _source(request.form)
    name = request.form.get("name") or None
    note, note_problem = _note(request.form)
    problems, files, main = _check(source)
    if problems or files is None or main is None or note_problem:
        return _editor(name, source, problems=problems, note=note,
                       note_problem=note_problem, status=422)
    try:
        return _published(files, main, note, name)
    except DefinitionError as err:  # compiled, but the engine refuses the model
        located = DslProblem("pathway.yaml", err.line or 1, err.column or 1, "", str(err))
        return _editor(name, source, problems=[located], note=note, status=422)


@bp.post("/editor/upload")
@roles_required(*CHANGERS)
def upload() -> Any:
    """Publish an uploaded BPMN file (with the form schemas and roles file it names), with
    the note; refused with the file, line and element the engine names."""
    name = request.form.get("name") or None
    note, note_problem = _note(request.form)
    uploads: list[FileStorage] = [f for f in request.files.getlist("files") if f.filename]
    files: dict[str, str] = {}
    problem = None
    for stored in uploads:
        data = stored.read(UPLOAD_LIMIT + 1)
        filename = (stored.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        if len(data) > UPLOAD_LIMIT:
            problem = f"{filename}: larger than {UPLOAD_LIMIT // 1024} KB"
            break
        try:
            files[filename] = data.decode("utf-8")
        except UnicodeDecodeError:
            problem = f"{filename}: not UTF-8 text"
            break
    mains = [f for f in files if f.endswith(".bpmn")]
    if problem is None and len(mains) != 1:
        problem = "choose one .bpmn file (and the .json forms and roles file it names)"
    if problem is None and note_problem is None:
        try:
            return _published(files, mains[0], note)
        except DefinitionError as err:
            problem = str(err)
    return _editor(name, None, note=note, upload_problem=problem,
                   note_problem=note_problem, status=422)
