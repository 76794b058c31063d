"""The `pathways` command line. Every command takes --json for scripts.

With --json, results are JSON on stdout; failures exit non-zero and print
{"error": {"code", "message", "details"}} on stdout. Without it, results are short text and
errors go to stderr. No failure prints a traceback: a command line click cannot parse is an
`invalid_argument` error, and an exception nobody planned for is an `internal_error` whose
traceback is kept in the incident log (adapters.incidents).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from adapters import incidents
from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import (
    YAML_SUFFIXES,
    definition_paths,
    pathway_name,
    publish_order,
    read_bundle,
)
from adapters.demo import DEMO_PASSWORD, seed_demo
from adapters.settings import Settings
from dsl import DslError, DslProblem
from engine import CaseView, EngineError, InvalidArgumentError, TaskView
from engine.clock import SystemClock, parse_timestamp
from engine.definitions import ParsedDefinition
from engine.errors import DefinitionError
from engine.migration import StepChange, StepSummary, VersionDiff
from engine.model import (
    CASE_STATUSES,
    USER_ROLES,
    AllocationPolicy,
    ApiToken,
    CaseRecord,
    Event,
    Migration,
    OutcomeEvent,
    PathwayVersion,
    User,
)
from engine.numbers import MAX_ID, parse_decimal, parse_int
from engine.outcomes import IMPORT_KINDS, ImportReport, Outcomes
from engine.privacy import Redactor, Sensitivity
from engine.services import MigrationReport, VersionSummary
from engine.text import check_text, is_json, parse_json
from engine.validation import check_offline

F = TypeVar("F", bound=Callable[..., Any])


class UsageProblem(InvalidArgumentError):
    """A command line that cannot be carried out as written."""


class BoundedNumber(click.ParamType):
    """A number option or argument read with engine.numbers: bounded, plain decimal digits
    (no 1e400, inf or 40-digit ids that would reach the database)."""

    def __init__(self, minimum: int, maximum: int, places: int | None = None) -> None:
        self.minimum, self.maximum, self.places = minimum, maximum, places
        self.name = "integer" if places is None else "number"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        field = (param.name if param is not None else None) or "value"
        try:
            if self.places is None:
                return parse_int(value, field=field, minimum=self.minimum, maximum=self.maximum)
            return float(parse_decimal(value, field=field, minimum=self.minimum,
                                       maximum=self.maximum, places=self.places))
        except InvalidArgumentError as err:
            self.fail(err.message, param, ctx)


ID = BoundedNumber(1, MAX_ID)  # ids and version numbers


# -- output --------------------------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _emit(json_mode: bool, payload: Any, text: Callable[[], str]) -> None:
    if json_mode:
        click.echo(json.dumps(payload, default=_default, ensure_ascii=False))
    else:
        click.echo(text())


def task_json(view: TaskView) -> dict[str, Any]:
    task = view.task
    return {"id": task.id, "case": task.case_id, "pathway": task.pathway,
            "version": task.version, "step": task.step, "title": task.title,
            "role": task.role, "schema": view.schema,
            "due": task.due.isoformat() if task.due else None,
            # only on a task whose version cannot be loaded (engine.Engine.list_tasks)
            **({"problem": view.problem} if view.problem is not None else {})}


def case_json(record: CaseRecord, tasks: list[TaskView] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": record.id, "pathway": record.pathway, "version": record.version,
        "client": record.client_id, "status": record.status, "data": record.data,
        "error": record.error, "exit_reason": record.exit_reason,
        "created_at": record.created_at.isoformat() if record.created_at else None,
        "updated_at": record.updated_at.isoformat() if record.updated_at else None,
    }
    if tasks is not None:
        result["tasks"] = [task_json(t) for t in tasks]
    return result


def event_json(event: Event) -> dict[str, Any]:
    return {"seq": event.seq, "type": event.type, "at": event.at.isoformat(),
            "actor": event.actor, "step": event.step, "data": event.data}


def version_json(version: PathwayVersion) -> dict[str, Any]:
    return {"pathway": version.pathway, "version": version.number, "hash": version.bundle_hash,
            "file": version.main_file, "note": version.note, "author": version.author,
            "published_at": version.published_at.isoformat() if version.published_at else None,
            "start_messages": list(version.start_messages)}


def _task_line(view: TaskView) -> str:
    t = view.task
    due = t.due.strftime("%Y-%m-%d %H:%M") if t.due else "-"
    problem = f"  [definition cannot be loaded: {view.problem}]" if view.problem else ""
    return f"{t.id}  case {t.case_id}  {t.pathway} v{t.version}  {t.step}  [{t.role or '-'}]  " \
           f"due {due}  {t.title}{problem}"


def _case_text(view: CaseView) -> str:
    c = view.case
    lines = [f"case {c.id}: {c.pathway} v{c.version}, client {c.client_id}, {c.status}"
             + (f" ({c.exit_reason})" if c.exit_reason else "")]
    if c.error:
        lines.append(f"  error at {c.error.get('step')}: {c.error.get('message')}")
    lines += [f"  task {_task_line(t)}" for t in view.tasks]
    return "\n".join(lines)


# -- plumbing ------------------------------------------------------------------------------


class Context:
    def __init__(self, database_url: str | None, json_mode: bool) -> None:
        self.database_url = database_url
        self.json_mode = json_mode
        self._app: Application | None = None

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.database_url)

    @property
    def app(self) -> Application:
        if self._app is None:
            self._app = bootstrap(self.settings)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def problem_json(problem: DslProblem) -> dict[str, Any]:
    return {"file": problem.file, "line": problem.line, "column": problem.column,
            "path": problem.path, "message": problem.message}


def dsl_error_json(err: DslError) -> dict[str, Any]:
    return {"code": "invalid_definition",
            "message": f"{len(err.problems)} problem(s) in the pathway definition",
            "details": {"problems": [problem_json(p) for p in err.problems]}}


def _fail(json_mode: bool, error: dict[str, Any]) -> None:
    if json_mode:
        click.echo(json.dumps({"error": error}, default=_default, ensure_ascii=False))
    else:
        click.echo(f"error: {error['message']}", err=True)
        for problem in error.get("details", {}).get("problems", []):
            click.echo(f"  {problem['file']}:{problem['line']}:{problem['column']}: "
                       f"{problem['message']}", err=True)
        fields = error.get("details", {}).get("fields")
        for name, problems in (fields or {}).items():
            for problem in problems:
                click.echo(f"  {name}: {problem}", err=True)
    if error["code"] == "internal_error":
        details = error["details"]
        click.echo(f"incident {details['incident']}: the details are in "
                   f"{details['log'] or 'no log (it could not be written)'}", err=True)
    sys.exit(1)


def command(func: F) -> F:
    """Give a command --json and turn engine errors into the documented error output."""

    @click.option("--json", "json_flag", is_flag=True, help="Print JSON for scripts.")
    @click.pass_obj
    @wraps(func)
    def wrapper(ctx: Context, json_flag: bool, *args: Any, **kwargs: Any) -> Any:
        ctx.json_mode = ctx.json_mode or json_flag
        try:
            return func(ctx, *args, **kwargs)
        except EngineError as err:
            _fail(ctx.json_mode, err.to_dict())
        except DslError as err:
            _fail(ctx.json_mode, dsl_error_json(err))
        except OSError as err:
            _fail(ctx.json_mode, {"code": "io_error", "message": str(err), "details": {}})
        except (SQLAlchemyError, ArgumentError) as err:
            _fail(ctx.json_mode, {"code": "database_error",
                                  "message": f"database {_redacted_or_raw(ctx)}: "
                                             f"{str(getattr(err, 'orig', None) or err).strip()}",
                                  "details": {"kind": type(err).__name__}})
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: JsonErrorsGroup.main reports them
        except Exception as err:  # the last resort: an incident, no traceback
            _fail(ctx.json_mode, _incident(err))
        finally:
            ctx.close()

    return wrapper  # type: ignore[return-value]


def _incident(err: BaseException) -> dict[str, Any]:
    """The internal_error for an exception nobody planned for; its traceback goes to the
    incident log (on stderr too with PATHWAYS_DEBUG=1)."""
    context = click.get_current_context(silent=True)
    error = incidents.record(err, where=context.command_path if context else "pathways")
    if incidents.debug():
        click.echo("".join(traceback.format_exception(err)), err=True, nl=False)
    return error


def _wants_json(argv: list[str]) -> bool:
    """--json anywhere before a `--` (the group's or the command's: click has not parsed it
    when the command line itself is wrong)."""
    return "--json" in (argv[:argv.index("--")] if "--" in argv else argv)


def _usage_error(err: click.ClickException) -> dict[str, Any]:
    details: dict[str, Any] = {}
    context = getattr(err, "ctx", None)
    if context is not None:
        details["usage"] = context.get_usage()
    param = getattr(err, "param", None)
    if param is not None and param.name:
        details["fields"] = {param.name: [err.format_message()]}
    code = "io_error" if isinstance(err, click.FileError) else "invalid_argument"
    return {"code": code, "message": err.format_message(), "details": details}


class JsonErrorsGroup(click.Group):
    """The top group: with --json, a command line that cannot be parsed and an exception
    outside any command are the JSON error shape too; never a traceback."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        json_mode = _wants_json(argv)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, **extra)
        try:
            result = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as err:
            if json_mode:
                click.echo(json.dumps({"error": _usage_error(err)}, ensure_ascii=False))
            err.show()
            sys.exit(err.exit_code)
        except click.Abort:
            if json_mode:
                click.echo(json.dumps({"error": {"code": "aborted", "message": "aborted",
                                                 "details": {}}}))
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except Exception as err:  # the last resort: an incident, no traceback
            _fail(json_mode, _incident(err))
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=JsonErrorsGroup)
@click.option("--db", "database_url", metavar="URL",
              help="Database URL (default: $PATHWAYS_DATABASE_URL, else ./pathways.sqlite).")
@click.option("--json", "json_mode", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def cli(click_ctx: click.Context, database_url: str | None, json_mode: bool) -> None:
    """Pathways: run social-outcomes service pathways and record every step."""
    click_ctx.obj = Context(database_url, json_mode)


def main() -> None:
    cli(prog_name="pathways")


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
    app = ctx.app
    folder = app.settings.definitions_dir
    results = []
    ordered = publish_order(folder) if folder.is_dir() else []  # BPMN first, then history
    known = _known_pathways(app) | {pathway_name(path) for path, _ in ordered}
    for path, note in ordered:
        files, main = read_bundle(path, known_pathways=known, folder=folder)
        results.append(asdict(app.engine.publish(files, main, note=note, author="pathways init",
                                                 unless_published=True)))
    payload: dict[str, Any] = {"database": _redacted(app.settings.database_url),
                               "published": results}
    lines = [f"schema ready at {_redacted(app.settings.database_url)}"] + [
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
    _emit(ctx.json_mode, payload, lambda: "\n".join(lines))


def _known_pathways(app: Application) -> set[str]:
    return {version.pathway for version in app.engine.definitions()}


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@command
def validate(ctx: Context, files: tuple[Path, ...]) -> None:
    """Check definitions without publishing; every problem as FILE:LINE:COLUMN: message."""
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
    _emit(ctx.json_mode, {"files": reports},
          lambda: "\n".join(f"{p['file']}:{p['line']}:{p['column']}: {p['message']}"
                            + (f" [{p['path']}]" if p["path"] else "") for p in all_problems)
          or f"{len(files)} file(s) valid")
    if all_problems:
        sys.exit(1)


def _known_pathways_offline(ctx: Context, files: tuple[Path, ...]) -> set[str]:
    """Pathways a `refer` may name: the files validated together, the shipped definitions,
    and, when a database is named (--db or PATHWAYS_DATABASE_URL), those published there.
    Validation never creates a database of its own."""
    folder = ctx.settings.definitions_dir
    names = {pathway_name(path) for path in files}
    names |= {pathway_name(path) for path in definition_paths(folder)} if folder.is_dir() else set()
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
    _emit(ctx.json_mode, {"pathway": main.removesuffix(".bpmn"), "files": written},
          lambda: "\n".join(f"wrote {name}" for name in written))


def _redacted_or_raw(ctx: Context) -> str:
    try:
        return _redacted(ctx.settings.database_url)
    except ArgumentError:
        return repr(ctx.settings.database_url)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--note", default="", help="Why this version was published.")
@click.option("--author", default="", help="Who published it.")
@command
def publish(ctx: Context, file: Path, note: str, author: str) -> None:
    """Publish FILE (BPMN or DSL YAML) as its pathway's next version; same content: no change."""
    files, main = read_bundle(file, known_pathways=_known_pathways(ctx.app))
    result = ctx.app.engine.publish(files, main, note=note, author=author)
    _emit(ctx.json_mode, asdict(result),
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
    _emit(ctx.json_mode, [version_json(v) for v in versions],
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
    _emit(ctx.json_mode, [version_summary_json(s) for s in found],
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
    _emit(ctx.json_mode, diff_json(pathway, old, new, diff),
          lambda: _diff_text(pathway, old, new, diff))


def policy_json(policy: AllocationPolicy) -> dict[str, Any]:
    return {"pathway": policy.pathway, "policy": policy.kind, "version": policy.version,
            "weights": {str(k): v for k, v in sorted(policy.weights.items())},
            "seed": policy.seed,
            "set_at": policy.set_at.isoformat() if policy.set_at else None,
            "set_by": policy.set_by}


def _policy_text(policy: AllocationPolicy) -> str:
    if policy.kind == "fixed":
        what = f"fixed: every new case gets v{policy.version}"
    elif policy.kind == "split":
        total = sum(policy.weights.values())
        shares = ", ".join(f"v{k} {100 * v / total:.0f}%" for k, v in
                           sorted(policy.weights.items()))
        what = f"split: {shares} (seed {policy.seed})"
    else:
        what = "latest: every new case gets the latest version"
    return f"{policy.pathway}: {what}"


def _parse_split(text: str) -> dict[int, int]:
    weights: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",")):
        version, sep, weight = part.partition("=")
        try:
            if not sep:
                raise ValueError
            number = parse_int(version, field="version", minimum=1, maximum=MAX_ID)
            share = parse_int(weight, field="weight", minimum=0, maximum=10**6)
        except InvalidArgumentError as err:
            raise UsageProblem(f"--split: {part[:40]!r}: {err.message}",
                               details={"field": "split"}) from err
        except ValueError as err:
            raise UsageProblem(f"--split {text!r}: {part!r} is not VERSION=WEIGHT "
                               "(e.g. 1=50,2=50)", details={"field": "split"}) from err
        if number in weights:
            raise UsageProblem(f"--split {text!r}: version {number} is given twice",
                               details={"field": "split"})
        weights[number] = share
    return weights


@cli.command()
@click.argument("pathway")
@click.option("--latest", is_flag=True, help="New cases get the latest version (default).")
@click.option("--fixed", type=ID, metavar="N", help="New cases get version N.")
@click.option("--split", metavar="V=W,...", help="Randomise new cases between versions by "
              "weight, e.g. 1=50,2=50.")
@click.option("--seed", help="Seed of the split's draws (default: a random one, recorded).")
@click.option("--as", "actor", help="Who sets the policy.")
@command
def allocate(ctx: Context, pathway: str, latest: bool, fixed: int | None, split: str | None,
             seed: str | None, actor: str | None) -> None:
    """Set (or, with no option, show) which version new cases of PATHWAY get."""
    chosen = [name for name, given in (("--latest", latest), ("--fixed", fixed is not None),
                                       ("--split", split is not None)) if given]
    if len(chosen) > 1:
        raise UsageProblem(f"give one of --latest, --fixed, --split (got {', '.join(chosen)})",
                           details={"options": chosen})
    if seed is not None and split is None:
        raise UsageProblem("--seed only goes with --split", details={"field": "seed"})
    engine = ctx.app.engine
    if not chosen:
        policy = engine.allocation(pathway)
    elif latest:
        policy = engine.set_allocation(pathway, "latest", actor=actor)
    elif fixed is not None:
        policy = engine.set_allocation(pathway, "fixed", version=fixed, actor=actor)
    else:
        assert split is not None
        policy = engine.set_allocation(pathway, "split", weights=_parse_split(split),
                                       seed=seed, actor=actor)
    _emit(ctx.json_mode, policy_json(policy), lambda: _policy_text(policy))


class _MigrateGroup(click.Group):
    """`pathways migrate PATHWAY ...` runs a migration; `migrate revert|list|show ...` the rest."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        position = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        if position is not None and args[position] in self.commands:
            args = [args[position], *args[:position], *args[position + 1:]]
        elif args and args != ["--help"]:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_MigrateGroup)
def migrate() -> None:
    """Move running cases between versions: `migrate PATHWAY --from A --to B`, and
    `migrate revert ID`, `migrate list`, `migrate show ID`."""


def migration_report_json(report: MigrationReport) -> dict[str, Any]:
    return {"migration": report.migration, "pathway": report.pathway,
            "from": report.from_version, "to": report.to_version, "dry_run": report.dry_run,
            "reverts": report.reverts,
            "moved": sum(r.ok for r in report.cases),
            "refused": sum(not r.ok for r in report.cases),
            "cases": [{"case": r.case, "ok": r.ok, "reason": r.reason,
                       "from_step": r.from_step, "to_step": r.to_step}
                      for r in report.cases]}


def _report_text(report: MigrationReport) -> str:
    verb = "would move" if report.dry_run else "moved"
    moved = sum(r.ok for r in report.cases)
    head = (f"dry run: {report.pathway} v{report.from_version} -> v{report.to_version}"
            if report.dry_run else
            f"migration {report.migration}: {report.pathway} v{report.from_version} -> "
            f"v{report.to_version}" + (f" (reverts migration {report.reverts})"
                                       if report.reverts else ""))
    lines = [f"{head}: {verb} {moved} case(s), refused {len(report.cases) - moved}"]
    for r in report.cases:
        if r.ok:
            lines.append(f"  case {r.case}: {verb} ({r.from_step or '-'} -> {r.to_step or '-'})")
        else:
            lines.append(f"  case {r.case}: refused: {r.reason}")
    return "\n".join(lines)


def _progress(json_mode: bool) -> Callable[[int, int], None]:
    """Progress on stderr for batches of 50 cases or more, about every tenth of the way."""

    def report(done: int, total: int) -> None:
        if total >= 50 and (done == total or done % max(1, total // 10) == 0):
            click.echo(f"{done}/{total} cases", err=True)

    return report


def _parse_where(conditions: tuple[str, ...]) -> list[str]:
    steps = []
    for condition in conditions:
        key, sep, value = condition.partition("=")
        if key.strip() != "step" or not sep or not value.strip():
            raise UsageProblem(f"--where {condition!r}: expected step=STEP_ID",
                               details={"field": "where", "value": condition})
        steps.append(value.strip())
    return steps


@migrate.command("run", hidden=True)
@click.argument("pathway")
@click.option("--from", "from_version", type=ID, required=True, help="Version cases are on.")
@click.option("--to", "to_version", type=ID, required=True, help="Version to move them to.")
@click.option("--dry-run", is_flag=True, help="Only say what would happen; change nothing.")
@click.option("--where", "conditions", multiple=True, metavar="step=ID",
              help="Only cases now at this step (repeatable: any of them).")
@click.option("--case", "case_ids", type=ID, multiple=True, help="Only this case "
              "(repeatable).")
@click.option("--as", "actor", help="Who migrates.")
@command
def migrate_run(ctx: Context, pathway: str, from_version: int, to_version: int,
                dry_run: bool, conditions: tuple[str, ...], case_ids: tuple[int, ...],
                actor: str | None) -> None:
    """Move PATHWAY's active cases from version --from to --to, each only if it is safe."""
    report = ctx.app.engine.migrate(
        pathway, from_version, to_version, dry_run=dry_run, steps=_parse_where(conditions),
        case_ids=case_ids, actor=actor, progress=_progress(ctx.json_mode))
    _emit(ctx.json_mode, migration_report_json(report), lambda: _report_text(report))


@migrate.command("revert")
@click.argument("migration_id", type=ID)
@click.option("--as", "actor", help="Who reverts.")
@command
def migrate_revert(ctx: Context, migration_id: int, actor: str | None) -> None:
    """Put the cases migration MIGRATION_ID moved back where they were."""
    report = ctx.app.engine.revert_migration(migration_id, actor=actor,
                                             progress=_progress(ctx.json_mode))
    _emit(ctx.json_mode, migration_report_json(report), lambda: _report_text(report))


def migration_json(migration: Migration) -> dict[str, Any]:
    return {"migration": migration.id, "pathway": migration.pathway,
            "from": migration.from_version, "to": migration.to_version,
            "actor": migration.actor, "filter": migration.filter, "reverts": migration.reverts,
            "created_at": migration.created_at.isoformat(),
            "finished_at": migration.finished_at.isoformat() if migration.finished_at else None}


@migrate.command("list")
@click.option("--pathway", help="Only migrations of this pathway.")
@command
def migrate_list(ctx: Context, pathway: str | None) -> None:
    """Every migration and revert, oldest first."""
    found = ctx.app.engine.migrations(pathway)
    _emit(ctx.json_mode, [migration_json(m) for m in found],
          lambda: "\n".join(
              f"{m.id}  {m.created_at:%Y-%m-%d %H:%M}  {m.pathway} v{m.from_version} -> "
              f"v{m.to_version}  {m.actor or '-'}"
              + (f"  (reverts {m.reverts})" if m.reverts else "") for m in found)
          or "no migrations")


@migrate.command("show")
@click.argument("migration_id", type=ID)
@command
def migrate_show(ctx: Context, migration_id: int) -> None:
    """One migration with what it did to each case."""
    migration, results = ctx.app.engine.migration(migration_id)
    payload = {**migration_json(migration), "cases": [
        {"case": r.case_id, "ok": r.ok, "reason": r.reason, "from_step": r.from_step,
         "to_step": r.to_step, "reverted_by": r.reverted_by} for r in results]}
    _emit(ctx.json_mode, payload, lambda: "\n".join(
        [f"migration {migration.id}: {migration.pathway} v{migration.from_version} -> "
         f"v{migration.to_version}"]
        + [f"  case {r.case_id}: " + (f"moved ({r.from_step or '-'} -> {r.to_step or '-'})"
                                      + (f", put back by {r.reverted_by}"
                                         if r.reverted_by else "")
                                      if r.ok else f"refused: {r.reason}")
           for r in results]))


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
    _emit(ctx.json_mode, {"id": client.id, "name": client.name, "fields": client.fields},
          lambda: str(client.id))


@clients.command("list")
@command
def clients_list(ctx: Context) -> None:
    """Every client."""
    found = ctx.app.engine.clients()
    _emit(ctx.json_mode, [{"id": c.id, "name": c.name, "fields": c.fields} for c in found],
          lambda: "\n".join(f"{c.id}  {c.name}" for c in found) or "no clients")


# -- cases ---------------------------------------------------------------------------------


@cli.group()
def cases() -> None:
    """Cases: one client on one pathway version."""


@cases.command("start")
@click.argument("pathway")
@click.option("--client", "client_id", type=ID, required=True, help="The client's id.")
@click.option("--version", type=ID, help="Run this version instead of the latest.")
@click.option("--as", "actor", help="Who starts it.")
@command
def cases_start(ctx: Context, pathway: str, client_id: int, version: int | None,
                actor: str | None) -> None:
    """Start a case of PATHWAY for a client."""
    view = ctx.app.engine.start_case(pathway, client_id, version=version, actor=actor)
    _emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: _case_text(view))


@cases.command("show")
@click.argument("case_id", type=ID)
@command
def cases_show(ctx: Context, case_id: int) -> None:
    """A case with its data and open tasks."""
    view = ctx.app.engine.get_case(case_id)
    _emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: _case_text(view))


@cases.command("list")
@click.option("--pathway", help="Only cases of this pathway.")
@click.option("--status", type=click.Choice(CASE_STATUSES), help="Only cases in this status.")
@click.option("--client", "client_id", type=ID, help="Only cases of this client.")
@command
def cases_list(ctx: Context, pathway: str | None, status: str | None,
               client_id: int | None) -> None:
    """Cases, newest last."""
    found = ctx.app.engine.list_cases(pathway=pathway, status=status, client_id=client_id)
    _emit(ctx.json_mode, [case_json(c) for c in found],
          lambda: "\n".join(f"{c.id}  {c.pathway} v{c.version}  client {c.client_id}  {c.status}"
                            for c in found) or "no cases")


@cases.command("retry")
@click.argument("case_id", type=ID)
@click.option("--version", type=ID, help="Retry on this (fixed) version of the pathway.")
@click.option("--as", "actor", help="Who retries it.")
@click.option("--data", "data_text", default=None,
              help='Data the failed step lacked, as a JSON object; client fields under "client" '
                   'are saved on the client\'s record, e.g. {"client": {"release_date": '
                   '"2026-03-01"}}.')
@command
def cases_retry(ctx: Context, case_id: int, version: int | None, actor: str | None,
                data_text: str | None) -> None:
    """Run a case's failed step again, e.g. after publishing a fixed version or with the data
    it lacked (--data)."""
    data = None
    if data_text is not None:
        data = parse_json(data_text, field="data")  # refused as the API refuses it
        if not isinstance(data, dict):
            raise UsageProblem("--data must be a JSON object", details={})
    view = ctx.app.engine.retry_case(case_id, version=version, actor=actor, data=data)
    _emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: _case_text(view))


@cases.command("cancel")
@click.argument("case_id", type=ID)
@click.option("--reason", default="", help="Why the case is cancelled.")
@click.option("--as", "actor", help="Who cancels it.")
@command
def cases_cancel(ctx: Context, case_id: int, reason: str, actor: str | None) -> None:
    """Cancel a case: its open tasks and timers are withdrawn."""
    view = ctx.app.engine.cancel_case(case_id, actor=actor, reason=reason)
    _emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: _case_text(view))


# -- tasks ---------------------------------------------------------------------------------


@cli.group()
def tasks() -> None:
    """Human tasks cases are waiting on."""


@tasks.command("list")
@click.option("--case", "case_id", type=ID, help="Only this case's tasks.")
@click.option("--role", help="Only tasks for this role (lane).")
@click.option("--pathway", help="Only tasks of this pathway (any version).")
@command
def tasks_list(ctx: Context, case_id: int | None, role: str | None,
               pathway: str | None) -> None:
    """Open tasks, soonest due first."""
    found = ctx.app.engine.list_tasks(case_id=case_id, role=role, pathway=pathway)
    _emit(ctx.json_mode, [task_json(t) for t in found],
          lambda: "\n".join(_task_line(t) for t in found) or "no open tasks")


@tasks.command("complete")
@click.argument("task_id")
@click.option("--data", "data_text", default="{}", help="The form data as a JSON object.")
@click.option("--as", "actor", help="Who completes it.")
@command
def tasks_complete(ctx: Context, task_id: str, data_text: str, actor: str | None) -> None:
    """Complete TASK with form data, validated against its form."""
    try:  # where it is not JSON, by syntax alone (no number converted)
        json.loads(data_text, parse_int=str, parse_float=str, parse_constant=str)
    except json.JSONDecodeError as err:
        raise UsageProblem(f"--data is not JSON: {err.msg} at line {err.lineno} column "
                           f"{err.colno}", details={"line": err.lineno, "column": err.colno}
                           ) from err
    except RecursionError:
        pass  # parse_json says how deep it may go
    data = parse_json(data_text, field="data")  # the API's strict rules: NaN, 1e400, NUL...
    if not isinstance(data, dict):
        raise UsageProblem("--data must be a JSON object", details={})
    result = ctx.app.engine.complete_task(task_id, data, actor=actor)
    answer: dict[str, Any] = {"case": result.case_id, "status": result.status,
                              "tasks": [task_json(t) for t in result.tasks]}
    if result.error is not None:  # the completion is saved; what stopped the case after it
        answer["error"] = result.error
    _emit(ctx.json_mode, answer,
          lambda: "\n".join([f"case {result.case_id}: {result.status}"]
                            + ([f"  error: {result.error.get('message')}"]
                               if result.error else [])
                            + [f"  task {_task_line(t)}" for t in result.tasks]))


# -- exports -------------------------------------------------------------------------------


@cli.group()
def export() -> None:
    """Export records for other tools: XES event log, CSV, INDIGO impact bond data."""


def _output_option(func: F) -> F:
    return click.option("-o", "--output", type=click.Path(path_type=Path),
                        help="Write to this file (UTF-8) instead of stdout.")(func)


def _deliver(ctx: Context, text: str, output: Path | None, fmt: str, records: int,
             left_out: list[dict[str, Any]]) -> None:
    """The export on stdout, or written to OUTPUT with a one-line report. What was left out
    (versions whose definition cannot be loaded: _LeftOut) is always said: in the report
    (`left_out`), or on stderr when the export itself is on stdout."""
    if output is None:
        click.echo(text, nl=False)
        if left_out:
            click.echo(json.dumps({"left_out": left_out}, ensure_ascii=False)
                       if ctx.json_mode else _left_out_lines(left_out), err=True)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="")
    _emit(ctx.json_mode, {"file": str(output), "format": fmt, "records": records,
                          "left_out": left_out},
          lambda: "\n".join([f"wrote {records} record(s) as {fmt} to {output}",
                             *([_left_out_lines(left_out)] if left_out else [])]))


def _left_out_lines(left_out: list[dict[str, Any]]) -> str:
    lines = []
    for item in left_out:
        what = [f"{item['cases']} case(s)"] if item.get("cases") else []
        if item.get("pathway_described") is False:
            what.append("its pathway entry")
        lines.append(f"warning: left out {' and '.join(what) or 'nothing'} of "
                     f"{item['pathway']} v{item['version']}: {item['reason']}")
    return "\n".join(lines)


class _LeftOut:
    """The versions an export could not load, and what of each it left out.

    A redacted export cannot tell what such a version makes sensitive, so it leaves its
    cases (and their events and tasks) out; a full export keeps them. Either way nothing is
    dropped without being reported."""

    def __init__(self) -> None:
        self.reasons: dict[tuple[str, int], str] = {}
        self.cases: dict[tuple[str, int], int] = {}
        self.undescribed: set[tuple[str, int]] = set()

    def definition(self, engine: Any, pathway: str, number: int) -> ParsedDefinition | None:
        try:
            parsed: ParsedDefinition = engine.definition(pathway, number)
        except DefinitionError as err:
            self.reasons[(pathway, number)] = err.message
            return None
        return parsed

    def count_cases(self, found: list[CaseRecord]) -> None:
        for case in found:
            key = (case.pathway, case.version)
            if key in self.reasons:
                self.cases[key] = self.cases.get(key, 0) + 1

    def report(self) -> list[dict[str, Any]]:
        keys = sorted({*self.cases, *self.undescribed})
        return [{"pathway": p, "version": n, "cases": self.cases.get((p, n), 0),
                 "reason": self.reasons[(p, n)],
                 **({"pathway_described": False} if (p, n) in self.undescribed else {})}
                for p, n in keys]


def _events_by_case(ctx: Context, found: list[CaseRecord]) -> dict[int, list[Event]]:
    return {c.id: ctx.app.engine.events(c.id) for c in found if c.id is not None}


def _full_option(func: F) -> F:
    return click.option("--full/--redacted", default=False, help=(
        "--redacted (the default) leaves out what reveals health or offence data: cases "
        "of sensitive pathways, sensitive steps, referrals and fields; --full keeps "
        "everything."))(func)


def _redactor(ctx: Context, found: list[CaseRecord], full: bool, left_out: _LeftOut
              ) -> Redactor | None:
    """None for a full export; else a redactor that shows no sensitive category, and
    withholds the cases of versions whose definition cannot be loaded (noted in left_out)."""
    if full:
        return None
    engine = ctx.app.engine
    wanted = dict.fromkeys([*((c.pathway, c.version) for c in found),
                            *((v.pathway, v.number) for v in engine.definitions())])
    loaded = {key: left_out.definition(engine, *key) for key in wanted}
    left_out.count_cases(found)
    return Redactor(Sensitivity.of(
        ((p, n, d) for (p, n), d in loaded.items() if d is not None),
        unknown=[key for key, d in loaded.items() if d is None]), frozenset())


@export.command("xes")
@_output_option
@click.option("--pathway", help="Only cases of this pathway.")
@_full_option
@command
def export_xes(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """The event log as XES (IEEE 1849-2016) for process-mining tools: a trace per case."""
    from engine.exports import redact, step_titles, to_xes

    found = ctx.app.engine.list_cases(pathway=pathway)
    events_by_case = _events_by_case(ctx, found)
    left_out = _LeftOut()
    if (redactor := _redactor(ctx, found, full, left_out)) is not None:
        found, events_by_case = redact(redactor, found, events_by_case)
    titles: dict[tuple[str, int], dict[str, str]] = {}
    for key in sorted({(c.pathway, c.version) for c in found}):
        try:  # a version that cannot be loaded keeps its step ids as activity names
            parsed = ctx.app.engine.definition(*key)
        except DefinitionError:
            continue
        titles[key] = step_titles(parsed.spec, parsed.subprocess_specs)
    text = to_xes(found, events_by_case, step_titles=titles,
                  name=f"Pathways: {pathway}" if pathway else "Pathways event log")
    _deliver(ctx, text, output, "xes", sum(len(e) for e in events_by_case.values()),
             left_out.report())


@export.command("cases")
@_output_option
@click.option("--pathway", help="Only cases of this pathway.")
@_full_option
@command
def export_cases(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """Cases as CSV, their data flattened into data.* columns."""
    from engine.exports import cases_csv, redact

    found = ctx.app.engine.list_cases(pathway=pathway)
    left_out = _LeftOut()
    if (redactor := _redactor(ctx, found, full, left_out)) is not None:
        found, _ = redact(redactor, found, {})
    _deliver(ctx, cases_csv(found), output, "csv", len(found), left_out.report())


@export.command("events")
@_output_option
@click.option("--pathway", help="Only cases of this pathway.")
@_full_option
@command
def export_events(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """The event log as CSV, a row per event: the branch each decision took, outcomes."""
    from engine.exports import events_csv, redact

    found = ctx.app.engine.list_cases(pathway=pathway)
    events_by_case = _events_by_case(ctx, found)
    left_out = _LeftOut()
    if (redactor := _redactor(ctx, found, full, left_out)) is not None:
        found, events_by_case = redact(redactor, found, events_by_case)
    _deliver(ctx, events_csv(found, events_by_case), output, "csv",
             sum(len(e) for e in events_by_case.values()), left_out.report())


@export.command("tasks")
@_output_option
@click.option("--pathway", help="Only tasks of this pathway.")
@_full_option
@command
def export_tasks(ctx: Context, output: Path | None, pathway: str | None, full: bool) -> None:
    """Open inbox tasks as CSV, with the step each case waits at."""
    from engine.exports import tasks_csv

    found = [view.task for view in ctx.app.engine.list_tasks(pathway=pathway)]
    cases = ctx.app.engine.list_cases(pathway=pathway)
    clients = {c.id: c.client_id for c in cases if c.id is not None}
    left_out = _LeftOut()
    if (redactor := _redactor(ctx, cases, full, left_out)) is not None:
        found = [task for task in found if redactor.task(task)]
    _deliver(ctx, tasks_csv(found, clients), output, "csv", len(found), left_out.report())


def _programme_directions(ctx: Context, programme_file: Path | None) -> dict[str, str]:
    """Outcome -> direction from the programme file named, else from the definitions
    folder's programmes/peterborough.yaml if it exists ({} without one)."""
    from engine.payments import programme_from_config

    if programme_file is None:
        programme_file = ctx.settings.definitions_dir / "programmes" / "peterborough.yaml"
        if not programme_file.is_file():
            return {}
    try:
        config = yaml.safe_load(programme_file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UsageProblem(f"cannot read the programme file {programme_file}: {err}",
                           details={"file": str(programme_file)}) from err
    return programme_from_config(config).outcome_directions()


@export.command("indigo")
@_output_option
@click.option("--name", default="Pathways programme", show_default=True,
              help="The programme's (impact bond's) name.")
@click.option("--programme", "programme_file", type=click.Path(path_type=Path),
              help="The programme file (default: programmes/peterborough.yaml of the "
                   "definitions folder, when there is one): its outcome measures say which "
                   "outcomes, and which step outcomes, are better lower (direction).")
@click.option("--lower-is-better", "lower_is_better", multiple=True, metavar="OUTCOME",
              help="An outcome that is better lower (e.g. reconvicted), where no measure of "
                   "the programme file says so. Repeatable.")
@_full_option
@command
def export_indigo(ctx: Context, output: Path | None, name: str, programme_file: Path | None,
                  lower_is_better: tuple[str, ...], full: bool) -> None:
    """The programme as an INDIGO impact bond data standard project document (JSON).

    An outcome counts as a positive social outcome for the clients who had it, unless the
    programme's measure for it (--programme, else the definitions folder's programme file)
    or --lower-is-better says fewer is better (reconvictions): then for the clients it is
    recorded for who did not have it."""
    from engine.exports import ProgrammePathway, indigo_project, redact

    directions = _programme_directions(ctx, programme_file)
    directions.update(dict.fromkeys(lower_is_better, "lower_is_better"))

    engine = ctx.app.engine
    found = engine.list_cases()
    events_by_case = _events_by_case(ctx, found)
    left_out = _LeftOut()
    redactor = _redactor(ctx, found, full, left_out)
    if redactor is not None:
        found, events_by_case = redact(redactor, found, events_by_case)
    pathways = []
    for version in engine.definitions():
        if redactor is not None and redactor.hides(
                redactor.sensitivity.pathway(version.pathway)):
            continue
        parsed = left_out.definition(engine, version.pathway, version.number)
        if parsed is None:  # its title, owner and organisations cannot be read
            left_out.undescribed.add((version.pathway, version.number))
            continue
        organisations = sorted({org for orgs in parsed.role_organisations.values()
                                for org in orgs})
        pathways.append(ProgrammePathway(
            version.pathway, version.number,
            str(getattr(parsed.spec, "description", "") or ""), parsed.owner,
            tuple(organisations)))
    document = indigo_project(
        name=name, pathways=pathways, cases=found, events_by_case=events_by_case,
        as_of=SystemClock().now(),
        organisation_names={o.id: o.name for o in ctx.app.accounts.organisations()},
        directions=directions)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    _deliver(ctx, text, output, "indigo", 1, left_out.report())


# -- accounts: organisations, users, API tokens ---------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    """A user for output: never the password hash."""
    return {"username": user.username, "name": user.name, "organisation": user.organisation,
            "role": user.role, "pathway_roles": list(user.pathway_roles),
            "active": user.active}


def token_json(token: ApiToken) -> dict[str, Any]:
    """A token for output: never its hash."""
    return {"id": token.id, "username": token.username, "name": token.name,
            "created_at": token.created_at.isoformat() if token.created_at else None,
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


def _user_line(user: User) -> str:
    roles = f"  [{', '.join(user.pathway_roles)}]" if user.pathway_roles else ""
    state = "" if user.active else "  (deactivated)"
    return f"{user.username}  {user.name}  {user.organisation}  {user.role}{roles}{state}"


def _read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked for twice without echo."""
    if from_stdin:
        line: str = sys.stdin.readline()
        return line.rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                 err=True)
    return password


@cli.group()
def orgs() -> None:
    """Organisations taking part in the programme."""


@orgs.command("add")
@click.argument("organisation_id", metavar="ID")
@click.option("--name", required=True, help="The organisation's name.")
@command
def orgs_add(ctx: Context, organisation_id: str, name: str) -> None:
    """Add an organisation (or rename one)."""
    org = ctx.app.accounts.add_organisation(organisation_id, name)
    _emit(ctx.json_mode, {"id": org.id, "name": org.name}, lambda: org.id)


@orgs.command("list")
@command
def orgs_list(ctx: Context) -> None:
    """Every organisation."""
    found = ctx.app.accounts.organisations()
    _emit(ctx.json_mode, [{"id": o.id, "name": o.name} for o in found],
          lambda: "\n".join(f"{o.id}  {o.name}" for o in found) or "no organisations")


@cli.group()
def users() -> None:
    """People who sign in to the caseworker web and the API."""


@users.command("add")
@click.argument("username")
@click.option("--name", required=True, help="The person's name.")
@click.option("--org", "organisation", required=True, help="Their organisation's id.")
@click.option("--role", required=True, help=f"One of {', '.join(USER_ROLES)}.")
@click.option("--pathway-role", "pathway_roles", multiple=True, metavar="ROLE",
              help="A pathway lane role they work (repeatable; none = any of their "
                   "organisation's).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin instead of asking.")
@command
def users_add(ctx: Context, username: str, name: str, organisation: str, role: str,
              pathway_roles: tuple[str, ...], password_stdin: bool) -> None:
    """Add a user; the password is asked for (twice), never given as an argument."""
    password = _read_password(password_stdin)
    user = ctx.app.accounts.add_user(username, name, organisation, role, password,
                                     pathway_roles)
    _emit(ctx.json_mode, user_json(user), lambda: user.username)


@users.command("list")
@click.option("--org", "organisation", help="Only users of this organisation.")
@command
def users_list(ctx: Context, organisation: str | None) -> None:
    """Users, by username."""
    found = ctx.app.accounts.users(organisation)
    _emit(ctx.json_mode, [user_json(u) for u in found],
          lambda: "\n".join(_user_line(u) for u in found) or "no users")


@users.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin instead of asking.")
@command
def users_password(ctx: Context, username: str, password_stdin: bool) -> None:
    """Set a user's password (which signs them out everywhere)."""
    ctx.app.accounts.get_user(username)  # fail before asking for a password
    user = ctx.app.accounts.set_password(username, _read_password(password_stdin))
    _emit(ctx.json_mode, user_json(user), lambda: f"password of {user.username} set")


@users.command("deactivate")
@click.argument("username")
@command
def users_deactivate(ctx: Context, username: str) -> None:
    """Stop a user signing in: ends their sessions and revokes their API tokens."""
    user = ctx.app.accounts.deactivate(username)
    _emit(ctx.json_mode, user_json(user), lambda: f"{user.username} deactivated")


@users.command("signout")
@click.argument("username")
@command
def users_signout(ctx: Context, username: str) -> None:
    """End every web session of a user at once (they may sign in again)."""
    ended = ctx.app.accounts.end_sessions(username)
    _emit(ctx.json_mode, {"username": username, "sessions_ended": ended},
          lambda: f"{username} signed out everywhere ({ended} session(s) ended)")


@users.group("tokens")
def users_tokens() -> None:
    """API tokens (for the JSON API)."""


@users_tokens.command("add")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@command
def users_tokens_add(ctx: Context, username: str, name: str) -> None:
    """Issue a token; it is printed this once and cannot be shown again."""
    token, plain = ctx.app.accounts.issue_token(username, name)
    _emit(ctx.json_mode, {**token_json(token), "token": plain}, lambda: plain)


@users_tokens.command("list")
@click.argument("username")
@command
def users_tokens_list(ctx: Context, username: str) -> None:
    """A user's tokens (not the tokens themselves)."""
    found = ctx.app.accounts.tokens(username)
    _emit(ctx.json_mode, [token_json(t) for t in found],
          lambda: "\n".join(f"{t.id}  {t.name}  {'revoked' if t.revoked_at else 'live'}"
                            for t in found) or "no tokens")


@users_tokens.command("revoke")
@click.argument("token_id", type=ID)
@command
def users_tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke a token for good."""
    ctx.app.accounts.revoke_token(token_id)
    _emit(ctx.json_mode, {"id": token_id, "revoked": True},
          lambda: f"token {token_id} revoked")


# -- the access log --------------------------------------------------------------------------


@cli.group()
def access() -> None:
    """Who opened which client record, when, why and what they saw."""


@access.command("report")
@click.option("--break-glass", "break_glass", is_flag=True,
              help="Only break-glass accesses: each opening with its reason, and every view "
                   "under it.")
@click.option("--since", "since_text", metavar="DATE", help="From this day (YYYY-MM-DD, UTC).")
@command
def access_report(ctx: Context, break_glass: bool, since_text: str | None) -> None:
    """The access log, oldest first (every entry, or with --break-glass the break-glass
    ones): at, username, organisation, client, action, reason, viewed."""
    try:
        since = date.fromisoformat(since_text) if since_text else None
    except ValueError:
        raise UsageProblem(f"--since {since_text!r}: write the date as YYYY-MM-DD",
                           details={"fields": {"since": ["must be a date (YYYY-MM-DD)"]}}
                           ) from None
    rows = ctx.app.casework.access_report(None, break_glass=break_glass, since=since)
    _emit(ctx.json_mode,
          [{"at": r.at.isoformat(), "username": r.username, "organisation": r.organisation,
            "client": r.client, "action": r.action, "reason": r.reason, "viewed": r.viewed}
           for r in rows],
          lambda: "\n".join(f"{r.at:%Y-%m-%d %H:%M:%S}  {r.username} ({r.organisation})  "
                            f"client {r.client if r.client is not None else '-'}  {r.action}  "
                            f"{r.viewed}" + (f"  reason: {r.reason}" if r.reason else "")
                            for r in rows) or "no access recorded")


# -- events, timers, messages, worker, web -------------------------------------------------


@cli.command()
@click.argument("case_id", type=ID)
@command
def events(ctx: Context, case_id: int) -> None:
    """Every recorded step of a case, in order."""
    found = ctx.app.engine.events(case_id)
    _emit(ctx.json_mode, [event_json(e) for e in found],
          lambda: "\n".join(f"{e.seq:>4}  {e.at:%Y-%m-%d %H:%M:%S}  {e.type:<16} "
                            f"{e.step or '-':<24} {e.actor or ''}" for e in found))


@cli.group()
def timers() -> None:
    """Timer events waiting to fire."""


@timers.command("run")
@click.option("--now", "now_text", metavar="ISO-8601",
              help="Fire what is due at this time (default: now).")
@command
def timers_run(ctx: Context, now_text: str | None) -> None:
    """Fire every timer due at that time."""
    try:
        now = parse_timestamp(now_text) if now_text else None
    except ValueError as err:
        raise UsageProblem(f"--now {now_text!r} is not an ISO-8601 date or time",
                           details={"now": now_text}) from err
    fired = ctx.app.engine.fire_due_timers(now)
    _emit(ctx.json_mode, {"fired": fired}, lambda: f"fired {fired} timer(s)")


@cli.group()
def messages() -> None:
    """Messages between cases."""


@messages.command("deliver")
@command
def messages_deliver(ctx: Context) -> None:
    """Deliver kept messages to cases now waiting for them.

    A case that fails to take its message is put in error with the reason (see `cases list
    --status error`) and logged on stderr; the message stays pending for when a case can take
    it (e.g. after `cases retry`). The other messages are delivered.
    """
    delivered = ctx.app.engine.deliver_messages()
    _emit(ctx.json_mode, {"delivered": delivered}, lambda: f"delivered {delivered} message(s)")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@cli.command()
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds.",
              type=BoundedNumber(0, 86400, places=3))
@click.option("--rounds", type=ID, help="Stop after this many rounds (default: run until "
              "stopped by SIGINT or SIGTERM).")
@command
def worker(ctx: Context, interval: float, rounds: int | None) -> None:
    """Fire due timers and deliver kept messages, round after round.

    A case whose timer or message fails is put in error with the reason (see `cases list
    --status error`), one line is logged on stderr, and the worker goes on with the others.
    """
    engine = ctx.app.engine
    done = 0
    with _stop_on_signals() as stop:
        while not stop.is_set() and (rounds is None or done < rounds):
            fired = engine.fire_due_timers()
            delivered = engine.deliver_messages()
            done += 1
            summary = {"round": done, "fired": fired, "delivered": delivered}
            line = f"round {done}: fired {fired} timer(s), delivered {delivered} message(s)"
            _emit(ctx.json_mode, summary, lambda: line)  # noqa: B023 - called at once
            if rounds is None or done < rounds:
                stop.wait(interval)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=BoundedNumber(1, 65535))
@command
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the web app."""
    from web import create_app

    loopback = host in ("127.0.0.1", "localhost", "::1")
    # Plain HTTP on this machine only: no browser would keep a Secure cookie from some of
    # them, and nothing leaves the machine. Anywhere else cookies stay Secure (use HTTPS).
    app = create_app(ctx.app, test_config={"SESSION_COOKIE_SECURE": False} if loopback
                     else None)
    click.echo(f"Pathways on http://{host}:{port}/ (database "
               f"{_redacted(ctx.app.settings.database_url)})", err=True)
    app.run(host=host, port=port, threaded=True)


# -- outcomes ------------------------------------------------------------------------------


def _outcomes(ctx: Context) -> Outcomes:
    return ctx.app.outcomes


def import_report_json(report: ImportReport) -> dict[str, Any]:
    return {"file": report.filename, "sha256": report.sha256, "kind": report.kind,
            "already_imported": report.already_imported, "rows": report.rows,
            "imported": report.imported, "duplicates": len(report.duplicates),
            "duplicate_lines": report.duplicates,
            "errors": [{"line": e.line, "column": e.column, "message": e.message}
                       for e in report.errors],
            "extracted_on": _iso_day(report.extracted_on)}


def _iso_day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


class Day(click.ParamType):
    """A day, YYYY-MM-DD."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
        except ValueError:
            pass
        self.fail(f"{text[:30]!r} is not a date: expected YYYY-MM-DD, e.g. 2024-03-31",
                  param, ctx)


EXTRACTED_ON_HELP = ("The day the file's data was extracted, YYYY-MM-DD (not after today; no "
                     "event may be recorded after it). Without it the data's extraction date "
                     "is unknown and no cohort's follow-up can be complete on it.")


def outcome_event_json(event: OutcomeEvent) -> dict[str, Any]:
    return {"id": event.id, "client": event.client_id, "kind": event.kind,
            "occurred_on": event.occurred_on.isoformat(),
            "recorded_on": event.recorded_on.isoformat(), "source": event.source,
            "detail": event.detail}


def _import_progress(done: int, total: int) -> None:
    """Progress on stderr for files of more than 1,000 rows, about every tenth of the way."""
    if total > 1000 and (done == total or done % max(1, total // 10) == 0):
        click.echo(f"{done}/{total} rows", err=True)


@cli.group()
def outcomes() -> None:
    """Outcome events: imported from files or recorded by pathway steps."""


@outcomes.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--kind", required=True, type=click.Choice(IMPORT_KINDS),
              help="reconviction: client,offence_date,conviction_date; "
                   "other: client,outcome,date,value.")
@click.option("--as", "actor", help="Who imports it.")
@click.option("--extracted-on", type=Day(), help=EXTRACTED_ON_HELP)
@command
def outcomes_import(ctx: Context, file: Path, kind: str, actor: str | None,
                    extracted_on: date | None) -> None:
    """Import a CSV of outcome events: all rows or none; the same file twice changes nothing."""
    report = _outcomes(ctx).import_csv(file.name, file.read_bytes(), kind, actor=actor,
                                       progress=_import_progress, extracted_on=extracted_on)

    def text() -> str:
        if report.already_imported:
            return f"{file}: already imported (sha256 {report.sha256}); nothing changed"
        return (f"{file}: imported {report.imported} event(s), skipped "
                f"{len(report.duplicates)} already held")

    if not report.rejected:
        _emit(ctx.json_mode, import_report_json(report), text)
        return
    if ctx.json_mode:
        click.echo(json.dumps(import_report_json(report), ensure_ascii=False))
    else:
        click.echo(f"{file}: {len(report.errors)} problem(s); nothing imported", err=True)
        for error in report.errors:
            where = f"{file}:{error.line}" + (f": {error.column}" if error.column else "")
            click.echo(f"  {where}: {error.message}", err=True)
    sys.exit(1)


@outcomes.command("list")
@click.option("--client", "client_id", type=ID, help="Only this client's events.")
@click.option("--kind", help="Only events of this outcome (e.g. reconviction).")
@command
def outcomes_list(ctx: Context, client_id: int | None, kind: str | None) -> None:
    """Outcome events, imported and recorded by pathway steps, by client then date."""
    found = _outcomes(ctx).events(client_id=client_id, kind=kind)
    _emit(ctx.json_mode, [outcome_event_json(e) for e in found],
          lambda: "\n".join(f"client {e.client_id}  {e.kind}  {e.occurred_on.isoformat()}"
                            f"  {e.recorded_on.isoformat()}  {e.source}" for e in found)
          or "no outcome events")


def comparison_rate_json(rate: Any) -> dict[str, Any]:
    return {"cohort": rate.cohort, "kind": rate.kind, "group_size": rate.group_size,
            "per_100": rate.per_100, "binary_rate": rate.binary_rate, "source": rate.source,
            "set_at": rate.set_at.isoformat() if rate.set_at else None, "set_by": rate.set_by}


@outcomes.command("comparison")
@click.argument("cohort", required=False)
@click.option("--kind", default="reconviction", show_default=True, help="The outcome counted.")
@click.option("--size", "group_size", type=BoundedNumber(1, 10**8),
              help="People in the comparison group.")
@click.option("--per-100", type=BoundedNumber(0, 10**6, places=4),
              help="Events per 100 people in the comparison group.")
@click.option("--binary-rate", type=BoundedNumber(0, 100, places=4),
              help="Percent of the group with any event.")
@click.option("--source", default="", help="Where the figures come from.")
@click.option("--as", "actor", help="Who records them.")
@command
def outcomes_comparison(ctx: Context, cohort: str | None, kind: str, group_size: int | None,
                        per_100: float | None, binary_rate: float | None, source: str,
                        actor: str | None) -> None:
    """Record a cohort's comparison-group rates (or, with no figures, list those in force)."""
    service = _outcomes(ctx)
    if cohort is None or (group_size is None and per_100 is None and binary_rate is None):
        found = service.comparison_rates(cohort=cohort, kind=kind)
        _emit(ctx.json_mode, [comparison_rate_json(r) for r in found],
              lambda: "\n".join(f"{r.cohort}  {r.kind}  n={r.group_size}  "
                                f"per 100: {r.per_100}  binary: {r.binary_rate}  {r.source}"
                                for r in found) or "no comparison rates")
        return
    if group_size is None:
        raise UsageProblem("--size is required with the rates", details={"field": "size"})
    rate = service.set_comparison_rates(cohort, kind, group_size=group_size, per_100=per_100,
                                        binary_rate=binary_rate, source=source, actor=actor)
    _emit(ctx.json_mode, comparison_rate_json(rate),
          lambda: f"{rate.cohort} {rate.kind}: comparison recorded")


@outcomes.command("matched-group")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--group", required=True, help="The comparison group's name, e.g. the cohort's.")
@click.option("--kind", default="reconviction", show_default=True, help="The outcome counted.")
@click.option("--as", "actor", help="Who imports it.")
@click.option("--extracted-on", type=Day(), help=EXTRACTED_ON_HELP)
@command
def outcomes_matched_group(ctx: Context, file: Path, group: str, kind: str,
                           actor: str | None, extracted_on: date | None) -> None:
    """Import a matched comparison group (subject,release_date,offence_date,conviction_date;
    one row per event, a subject without events on a row of its own with empty dates)."""
    report = _outcomes(ctx).import_matched_group(group, file.read_bytes(), kind, actor=actor,
                                                 extracted_on=extracted_on)
    errors = [{"line": e.line, "column": e.column, "message": e.message} for e in report.errors]
    _emit(ctx.json_mode, {"group": report.group, "kind": report.kind,
                          "subjects": report.subjects, "events": report.events,
                          "already_imported": report.already_imported, "errors": errors,
                          "extracted_on": _iso_day(report.extracted_on)},
          lambda: "\n".join([f"{file}:{e['line']}:{e['column']}: {e['message']}"
                             for e in errors]) or
          f"group {report.group}: {report.subjects} subject(s), {report.events} event(s)"
          + (" (already imported)" if report.already_imported else ""))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
