"""What every command shares: the top group, option types, JSON output, the error shape."""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.errors import EngineError, InvalidArgumentError
from engine.numbers import MAX_ID, parse_decimal, parse_int

if TYPE_CHECKING:  # the rest loads when a command runs: `pathways --help` stays quick
    from adapters.bootstrap import Application
    from adapters.settings import Settings
    from dsl import DslError, DslProblem
    from engine import CaseView, TaskView
    from engine.model import CaseRecord, Event, PathwayVersion

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


def emit(json_mode: bool, payload: Any, text: Callable[[], str]) -> None:
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


def task_line(view: TaskView) -> str:
    t = view.task
    due = t.due.strftime("%Y-%m-%d %H:%M") if t.due else "-"
    problem = f"  [definition cannot be loaded: {view.problem}]" if view.problem else ""
    return f"{t.id}  case {t.case_id}  {t.pathway} v{t.version}  {t.step}  [{t.role or '-'}]  " \
           f"due {due}  {t.title}{problem}"


def case_text(view: CaseView) -> str:
    c = view.case
    lines = [f"case {c.id}: {c.pathway} v{c.version}, client {c.client_id}, {c.status}"
             + (f" ({c.exit_reason})" if c.exit_reason else "")]
    if c.error:
        lines.append(f"  error at {c.error.get('step')}: {c.error.get('message')}")
    lines += [f"  task {task_line(t)}" for t in view.tasks]
    return "\n".join(lines)


# -- plumbing ------------------------------------------------------------------------------


class Context:
    def __init__(self, database_url: str | None, json_mode: bool) -> None:
        self.database_url = database_url
        self.json_mode = json_mode
        self._app: Application | None = None

    @property
    def settings(self) -> Settings:
        from adapters.settings import Settings

        return Settings.from_env(self.database_url)

    @property
    def app(self) -> Application:
        if self._app is None:
            from adapters.bootstrap import bootstrap

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
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        from adapters import logs

        ctx.json_mode = ctx.json_mode or json_flag
        try:
            logs.configure(*logs.from_environment(os.environ))  # PATHWAYS_LOG_FORMAT
            return func(ctx, *args, **kwargs)
        except EngineError as err:
            _fail(ctx.json_mode, err.to_dict())
        except OSError as err:
            _fail(ctx.json_mode, {"code": "io_error", "message": str(err), "details": {}})
        except (SQLAlchemyError, ArgumentError) as err:
            _fail(ctx.json_mode, {"code": "database_error",
                                  "message": f"database {_redacted_or_raw(ctx)}: "
                                             f"{str(getattr(err, 'orig', None) or err).strip()}",
                                  "details": {"kind": type(err).__name__}})
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: JsonErrorsGroup.main reports them
        except Exception as err:  # a definition's problems; else the last resort: an incident
            dsl = sys.modules.get("dsl")  # loaded by any command that can raise DslError
            _fail(ctx.json_mode, dsl_error_json(err) if dsl and isinstance(err, dsl.DslError)
                  else _incident(err))
        finally:
            ctx.close()

    return wrapper  # type: ignore[return-value]


def _incident(err: BaseException) -> dict[str, Any]:
    """The internal_error for an exception nobody planned for; its traceback goes to the
    incident log (on stderr too with PATHWAYS_DEBUG=1)."""
    from adapters import incidents

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
    outside any command are the JSON error shape too; never a traceback.

    Its commands load when first asked for: `lazy` names each one's module and short help
    (adapters.cli fills it), so `pathways --help` imports none of them."""

    lazy: dict[str, tuple[str, str]] = {}  # command -> (module registering it, short help)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(self.lazy[cmd_name][0])
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, from `lazy` for those not loaded yet."""
        names = [name for name in self.list_commands(ctx)
                 if name not in self.commands or not self.commands[name].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(name, self.commands[name].get_short_help_str(limit) if name in self.commands
                 else click.utils.make_default_short_help(self.lazy[name][1], limit))
                for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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



def _redacted_or_raw(ctx: Context) -> str:
    from sqlalchemy.exc import ArgumentError

    try:
        return redacted(ctx.settings.database_url)
    except ArgumentError:
        return repr(ctx.settings.database_url)


def redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
