"""Commands on pathway definitions: init, validate, compile, publish, definitions, versions."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from adapters.cli.common import (
    ID,
    Context,
    UsageProblem,
    cli,
    command,
    emit,
    problem_json,
    redacted,
    version_json,
)
from engine import EngineError

# The DSL compiler, the definition checks and SpiffWorkflow load in the commands that read
# or check definition files: `definitions list` and `versions list` start without them.
if TYPE_CHECKING:
    from adapters.bootstrap import Application
    from engine.cases import VersionSummary
    from engine.versions import StepChange, StepSummary, VersionDiff

# -- definitions ---------------------------------------------------------------------------


@cli.command()
@click.option("--demo", is_flag=True, help="Also seed the demo programme (the One Service: "
              "providers, demo users for each role, about 100 clients) unless it is there.")
@command
def init(ctx: Context, demo: bool) -> None:
    """Create the schema and publish everything in definitions/.

    NAME.vN.yaml files are earlier versions of NAME, published in N order before NAME.yaml;
    a file's `# note: ...` comment is its publish note. Content already published as any
    version of its pathway is not published again, so running init twice changes nothing.
    """
    from adapters.definition_files import pathway_name, publish_order, read_bundle
    from adapters.demo import DEMO_PASSWORD, seed_demo

    app = ctx.app
    folder = app.settings.definitions_dir
    results = []
    ordered = publish_order(folder) if folder.is_dir() else []  # BPMN first, then history
    known = _known_pathways(app) | {pathway_name(path) for path, _ in ordered}
    for path, note in ordered:
        files, main = read_bundle(path, known_pathways=known, folder=folder)
        results.append(asdict(app.engine.publish(files, main, note=note, author="pathways init",
                                                 unless_published=True)))
    payload: dict[str, Any] = {"database": redacted(app.settings.database_url),
                               "published": results}
    lines = [f"schema ready at {redacted(app.settings.database_url)}"] + [
        f"{r['pathway']} v{r['version']} {'published' if r['changed'] else 'unchanged'}"
        for r in results]
    if demo:
        report = seed_demo(app)
        payload["demo"] = {"seeded": report.created, "clients": report.clients,
                           "password": DEMO_PASSWORD,
                           "users": [{"username": u.username, "role": u.role,
                                      "organisation": u.organisation} for u in report.users]}
        lines.append(f"demo programme {'seeded' if report.created else 'already there'}; "
                     f"demo logins (password {DEMO_PASSWORD!r}):")
        lines += [f"  {u.username:<13} {u.role:<13} {u.organisation}" for u in report.users]
    emit(ctx.json_mode, payload, lambda: "\n".join(lines))


def _known_pathways(app: Application) -> set[str]:
    return {version.pathway for version in app.engine.definitions()}


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@command
def validate(ctx: Context, files: tuple[Path, ...]) -> None:
    """Check definitions without publishing; every problem as FILE:LINE:COLUMN: message."""
    from adapters.definition_files import read_bundle
    from dsl import DslError
    from engine.workflow import check_offline

    reports = []
    known = _known_pathways_offline(ctx, files)
    for path in files:
        problems: list[dict[str, Any]] = []
        try:
            check_offline(*read_bundle(path, known_pathways=known))
        except DslError as err:
            problems = [problem_json(p) for p in err.problems]
        except EngineError as err:
            details = err.details
            problems = [{"file": details.get("file", str(path)), "line": details.get("line", 1),
                         "column": details.get("column", 1), "path": details.get("element", ""),
                         "message": getattr(err, "reason", err.message)}]
        reports.append({"file": str(path), "valid": not problems, "problems": problems})
    all_problems = [p for report in reports for p in report["problems"]]
    emit(ctx.json_mode, {"files": reports},
          lambda: "\n".join(f"{p['file']}:{p['line']}:{p['column']}: {p['message']}"
                            + (f" [{p['path']}]" if p["path"] else "") for p in all_problems)
          or f"{len(files)} file(s) valid")
    if all_problems:
        sys.exit(1)


def _known_pathways_offline(ctx: Context, files: tuple[Path, ...]) -> set[str]:
    """Pathways a `refer` may name: the files validated together, the shipped definitions,
    and, when a database is named (--db or PATHWAYS_DATABASE_URL), those published there.
    Validation never creates a database of its own."""
    from adapters.definition_files import definition_paths, pathway_id

    folder = ctx.settings.definitions_dir
    names = {pathway_id(path) for path in files}
    names |= {pathway_id(path) for path in definition_paths(folder)} if folder.is_dir() else set()
    if ctx.database_url or os.environ.get("PATHWAYS_DATABASE_URL"):
        names |= _known_pathways(ctx.app)
    return names


@cli.command(name="compile")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Where to write the BPMN; form schemas are written beside it.")
@command
def compile_command(ctx: Context, file: Path, output: Path) -> None:
    """Compile a DSL pathway to BPMN 2.0 with a diagram (deterministic output)."""
    from adapters.definition_files import YAML_SUFFIXES, read_bundle

    if file.suffix not in YAML_SUFFIXES:
        raise UsageProblem(f"{file} is not a DSL file (.yaml or .yml)", details={})
    files, main = read_bundle(file)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(files[main], encoding="utf-8")
    written = [str(output)]
    for name, text in sorted(files.items()):
        if name.endswith(".json"):
            (output.parent / name).write_text(text, encoding="utf-8")
            written.append(str(output.parent / name))
    emit(ctx.json_mode, {"pathway": main.removesuffix(".bpmn"), "files": written},
          lambda: "\n".join(f"wrote {name}" for name in written))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--note", default="", help="Why this version was published.")
@click.option("--author", default="", help="Who published it.")
@command
def publish(ctx: Context, file: Path, note: str, author: str) -> None:
    """Publish FILE (BPMN or DSL YAML) as its pathway's next version; same content: no change."""
    from adapters.definition_files import read_bundle

    files, main = read_bundle(file, known_pathways=_known_pathways(ctx.app))
    result = ctx.app.engine.publish(files, main, note=note, author=author)
    emit(ctx.json_mode, asdict(result),
          lambda: f"{result.pathway} v{result.version} "
                  f"{'published' if result.changed else 'unchanged (same content)'} "
                  f"{result.hash[:12]}")


@cli.group()
def definitions() -> None:
    """Published pathways."""


@definitions.command("list")
@command
def definitions_list(ctx: Context) -> None:
    """The latest version of every published pathway."""
    versions = ctx.app.engine.definitions()
    emit(ctx.json_mode, [version_json(v) for v in versions],
          lambda: "\n".join(f"{v.pathway}  v{v.number}  {v.bundle_hash[:12]}  {v.note}"
                            for v in versions) or "no pathways published")


# -- versions, allocation, migration -------------------------------------------------------


@cli.group()
def versions() -> None:
    """Published versions of a pathway: list them, compare two."""


def version_summary_json(summary: VersionSummary) -> dict[str, Any]:
    v = summary.version
    return {"pathway": v.pathway, "version": v.number, "hash": v.bundle_hash, "note": v.note,
            "author": v.author,
            "published_at": v.published_at.isoformat() if v.published_at else None,
            "cases": summary.cases}


@versions.command("list")
@click.argument("pathway")
@command
def versions_list(ctx: Context, pathway: str) -> None:
    """Every version of PATHWAY with its note and how many cases run on it."""
    found = ctx.app.engine.version_summaries(pathway)
    emit(ctx.json_mode, [version_summary_json(s) for s in found],
          lambda: "\n".join(
              f"v{s.version.number}  {s.version.bundle_hash[:12]}  "
              f"{s.version.published_at:%Y-%m-%d %H:%M}  {s.cases:>5} case(s)  "
              f"{s.version.author or '-'}  {s.version.note}"
              for s in found if s.version.published_at))


def _step_json(step: StepSummary) -> dict[str, Any]:
    return {"step": step.step, "process": step.process, "title": step.title,
            "type": step.type}


def diff_json(pathway: str, old: int, new: int, diff: VersionDiff) -> dict[str, Any]:
    return {"pathway": pathway, "from": old, "to": new,
            "added": [_step_json(s) for s in diff.added],
            "removed": [_step_json(s) for s in diff.removed],
            "changed": [{"step": c.step, "process": c.process, "title": c.title,
                         "kinds": c.kinds, "changes": c.changes} for c in diff.changed]}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _change_lines(change: StepChange) -> list[str]:
    lines = []
    for kind, detail in change.changes.items():
        if kind == "form":
            parts = [f"{label} {', '.join(detail[key])}" for key, label in (
                ("fields_added", "added"), ("fields_removed", "removed"),
                ("fields_changed", "changed")) if detail.get(key)]
            lines.append(f"    form: {'; '.join(parts) or 'settings changed'}")
        else:
            label = "what comes next" if kind == "order" else kind
            lines.append(f"    {label}: {_short(detail['from'])} -> {_short(detail['to'])}")
    return lines


def _diff_text(pathway: str, old: int, new: int, diff: VersionDiff) -> str:
    if diff.empty:
        return f"{pathway} v{old} -> v{new}: no step changed"

    def where(step: StepSummary | StepChange) -> str:
        return step.step if step.process == pathway else f"{step.step} (in {step.process})"

    lines = [f"{pathway} v{old} -> v{new}: {len(diff.added)} added, {len(diff.removed)} "
             f"removed, {len(diff.changed)} changed"]
    lines += [f"+ {where(s)}  {s.title or ''}  [{s.type}]" for s in diff.added]
    lines += [f"- {where(s)}  {s.title or ''}  [{s.type}]" for s in diff.removed]
    for change in diff.changed:
        lines.append(f"~ {where(change)}  {change.title or ''}")
        lines += _change_lines(change)
    return "\n".join(lines)


@versions.command("diff")
@click.argument("pathway")
@click.argument("old", type=ID)
@click.argument("new", type=ID)
@command
def versions_diff(ctx: Context, pathway: str, old: int, new: int) -> None:
    """Steps added, removed and changed from version OLD to version NEW of PATHWAY."""
    diff = ctx.app.engine.diff(pathway, old, new)
    emit(ctx.json_mode, diff_json(pathway, old, new, diff),
          lambda: _diff_text(pathway, old, new, diff))
