"""The designer's pages (issue 14): the pathways, their versions and how new cases are given
one, in the browser rather than only from the command line (`pathways versions list`).

What is shown is about definitions and counts of cases, never a client's record, so the
people who design or pay for a service see it: designers, commissioners and admins. Case
staff work in their inbox and see no page here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import BadRequest

from engine.access import may_open_records
from engine.errors import InvalidArgumentError
from engine.model import AllocationPolicy, PathwayVersion
from engine.versions import StepLoad, describe
from engine.workflow import ParsedDefinition
from web.security import application, current_user, roles_required

bp = Blueprint("designer", __name__)
READERS = ("designer", "commissioner", "admin")
CHANGERS = ("designer", "admin")  # who may change how new cases get a version


@dataclass(frozen=True)
class PathwayRow:
    """One pathway as the list shows it."""

    latest: PathwayVersion
    versions: int
    cases: int
    policy: str


def policy_in_words(policy: AllocationPolicy) -> str:
    """How the pathway's new cases get their version, as a designer would say it."""
    if policy.kind == "fixed" and policy.version is not None:
        return f"every new case on v{policy.version}"
    if policy.kind == "split" and policy.weights:
        total = sum(policy.weights.values())
        shares = ", ".join(f"v{number} {100 * weight / total:.0f}%"
                           for number, weight in sorted(policy.weights.items()))
        seed = f" (seed {policy.seed})" if policy.seed else ""
        return f"split at random: {shares}{seed}"
    return "every new case on the latest version"


@bp.get("/pathways")
@roles_required(*READERS)
def pathways() -> Any:
    engine = application().engine
    rows = []
    for latest in sorted(engine.definitions(), key=lambda v: v.pathway):
        found = engine.version_summaries(latest.pathway)
        rows.append(PathwayRow(latest, len(found), sum(s.cases for s in found),
                               policy_in_words(engine.allocation(latest.pathway))))
    user = current_user()
    return render_template("pathways.html", rows=rows,
                           may_change=user is not None and user.role in CHANGERS)


@bp.get("/pathways/<name>")
@roles_required(*READERS)
def pathway(name: str) -> Any:
    return _pathway_page(name)


def _pathway_page(name: str, problems: dict[str, list[str]] | None = None,
                  form: Mapping[str, str] | None = None, status: int = 200) -> Any:
    engine = application().engine  # a pathway not published: the engine's 404
    found = engine.version_summaries(name)
    policy = engine.allocation(name)
    user = current_user()
    return render_template(
        "pathway.html", name=name, summaries=list(reversed(found)),
        policy=policy_in_words(policy), set_at=policy.set_at, set_by=policy.set_by,
        current=policy, may_change=user is not None and user.role in CHANGERS,
        problems=problems or {}, form=form), status


@bp.post("/pathways/<name>/allocation")
@roles_required(*CHANGERS)
def set_allocation(name: str) -> Any:
    """How the pathway's new cases get a version: the latest, a fixed one, or a seeded
    random split by weight (engine.set_allocation, kept with who set it and when)."""
    engine = application().engine
    chosen, problems = _allocation_asked(request.form, published_versions(name))
    if chosen is not None:
        kind, version, weights, seed = chosen
        user = current_user()
        try:
            policy = engine.set_allocation(name, kind, version=version, weights=weights,
                                           seed=seed, actor=user.username if user else None)
        except InvalidArgumentError as err:
            problems = {"kind": [err.message]}
        else:
            flash(f"New cases of {name.replace('_', ' ')}: {policy_in_words(policy)}.")
            return redirect(url_for("designer.pathway", name=name))
    return _pathway_page(name, problems, request.form, 422)


def _allocation_asked(form: Mapping[str, str], versions: list[int]
                      ) -> tuple[tuple[str, int | None, dict[int, int], str | None] | None,
                                 dict[str, list[str]]]:
    """The policy the form asks for, or what is wrong with it, field by field."""
    kind = form.get("kind", "")
    problems: dict[str, list[str]] = {}
    version: int | None = None
    weights: dict[int, int] = {}
    seed = (form.get("seed") or "").strip() or None
    if kind == "fixed":
        text = form.get("version", "")
        version = int(text) if text.isdigit() else None
        if version not in versions:
            problems["version"] = ["choose one of the published versions"]
    elif kind == "split":
        weights = _split_weights(form, versions, problems)
        if seed is not None and len(seed) > 200:
            problems["seed"] = ["at most 200 characters"]
    elif kind != "latest":
        problems["kind"] = ["choose latest, fixed or split"]
    if problems:
        return None, problems
    return (kind, version, weights, seed), {}


def _split_weights(form: Mapping[str, str], versions: list[int],
                   problems: dict[str, list[str]]) -> dict[int, int]:
    """Each version's weight in a split (blank or 0: not in it); problems noted."""
    weights: dict[int, int] = {}
    for number in versions:
        text = (form.get(f"weight-{number}") or "").strip()
        if not text:
            continue
        if not text.isdigit() or len(text) > 6:
            problems[f"weight-{number}"] = ["a whole number, 0 to 999999"]
        elif int(text) > 0:
            weights[number] = int(text)
    if not problems and len(weights) < 2:
        problems["weights"] = ["give at least two versions a weight above 0"]
    return weights


@dataclass(frozen=True)
class StepRow:
    """One step of a version's diagram, as the table beside it shows it."""

    step: str
    title: str
    hidden: bool  # reveals health or offence data: no counts for who may not open records
    waiting: int
    overdue: int
    in_error: tuple[int, ...]


def _definition(name: str, number: int) -> ParsedDefinition:
    return application().engine.definition(name, number)  # none: the engine's 404


def _steps(name: str, number: int) -> list[StepRow]:
    """Every user task of the version and every step something is at now, in the order
    of the definition; counts at a step that reveals health or offence data only for those
    who may open records."""
    definition = _definition(name, number)
    load = application().engine.step_load(name, number)
    user = current_user()
    sees_all = user is not None and may_open_records(user)
    titles = {step: info.title for step, info in definition.user_tasks.items()}
    rows = []
    for step in dict.fromkeys([*titles, *load]):
        at = load.get(step, StepLoad())
        hidden = step in definition.sensitive_steps and not sees_all
        rows.append(StepRow(step, titles.get(step) or step or "(no step named)", hidden,
                            0 if hidden else at.waiting, 0 if hidden else at.overdue,
                            () if hidden else at.in_error))
    return rows


@bp.get("/pathways/<name>/v<int:number>")
@roles_required(*READERS)
def version(name: str, number: int) -> Any:
    steps = _steps(name, number)
    user = current_user()
    return render_template("pathway_version.html", name=name, number=number, steps=steps,
                           opens_records=user is not None and may_open_records(user),
                           changes=user is not None and user.role in CHANGERS,
                           versions=published_versions(name))


@bp.get("/pathways/<name>/v<int:number>.bpmn")
@roles_required(*READERS)
def version_bpmn(name: str, number: int) -> Any:
    definition = _definition(name, number)
    return Response(definition.files[definition.main_file], mimetype="application/xml",
                    headers={"Content-Disposition":
                             f'inline; filename="{name}-v{number}.bpmn"'})


@bp.get("/pathways/<name>/v<int:number>/counts.json")
@roles_required(*READERS)
def version_counts(name: str, number: int) -> Any:
    """The diagram's overlays: per step shown, its open tasks, overdue ones and cases in
    error (counts only: the page lists the cases, to those who may open them)."""
    return jsonify({"pathway": name, "version": number, "steps": {
        row.step: {"title": row.title, "waiting": row.waiting, "overdue": row.overdue,
                   "error": len(row.in_error)}
        for row in _steps(name, number) if not row.hidden}})


def published_versions(name: str) -> list[int]:
    """The pathway's version numbers, oldest first (not published: the engine's 404)."""
    return [s.version.number for s in application().engine.version_summaries(name)]


def version_asked(text: str, versions: list[int], what: str) -> int:
    """The version a request names in `what`; anything else is a 400 naming the versions."""
    number = int(text) if text.isdigit() else None
    if number is None or number not in versions:
        raise BadRequest(f"{what} must be one of the versions: "
                         f"{', '.join(str(v) for v in versions)}")
    return number


@bp.get("/pathways/<name>/compare")
@roles_required(*READERS)
def compare(name: str) -> Any:
    """Two versions side by side: steps added (on the newer), removed (on the older) and
    changed (on both) coloured, and the changes listed in words."""
    engine = application().engine
    versions = published_versions(name)
    older = version_asked(request.args.get("from") or str(versions[max(0, len(versions) - 2)]),
                          versions, "from")
    newer = version_asked(request.args.get("to") or str(versions[-1]), versions, "to")
    lines = describe(engine.diff(name, older, newer))
    marks_old = {line.step: line.how for line in lines if line.how != "added"}
    marks_new = {line.step: line.how for line in lines if line.how != "removed"}
    return render_template("pathway_compare.html", name=name, versions=versions,
                           older=older, newer=newer, lines=lines,
                           marks_old=json.dumps(marks_old), marks_new=json.dumps(marks_new))
