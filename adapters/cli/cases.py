"""Commands that run cases: cases, tasks, events, timers, messages, worker."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from adapters import collector
from adapters.cli.common import (
    ID,
    BoundedNumber,
    Context,
    UsageProblem,
    case_json,
    case_text,
    cli,
    command,
    emit,
    event_json,
    task_json,
    task_line,
)
from adapters.sql import chain
from adapters.sql.worker_lock import one_worker
from engine.model import CASE_STATUSES
from engine.text import parse_json
from engine.workflow import parse_timestamp

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
    emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: case_text(view))


@cases.command("show")
@click.argument("case_id", type=ID)
@command
def cases_show(ctx: Context, case_id: int) -> None:
    """A case with its data and open tasks."""
    view = ctx.app.engine.get_case(case_id)
    emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: case_text(view))


@cases.command("list")
@click.option("--pathway", help="Only cases of this pathway.")
@click.option("--status", type=click.Choice(CASE_STATUSES), help="Only cases in this status.")
@click.option("--client", "client_id", type=ID, help="Only cases of this client.")
@command
def cases_list(ctx: Context, pathway: str | None, status: str | None,
               client_id: int | None) -> None:
    """Cases, newest last."""
    found = ctx.app.engine.list_cases(pathway=pathway, status=status, client_id=client_id)
    emit(ctx.json_mode, [case_json(c) for c in found],
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
    emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: case_text(view))


@cases.command("cancel")
@click.argument("case_id", type=ID)
@click.option("--reason", default="", help="Why the case is cancelled.")
@click.option("--as", "actor", help="Who cancels it.")
@command
def cases_cancel(ctx: Context, case_id: int, reason: str, actor: str | None) -> None:
    """Cancel a case: its open tasks and timers are withdrawn."""
    view = ctx.app.engine.cancel_case(case_id, actor=actor, reason=reason)
    emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: case_text(view))


@cases.command("finish-adhoc")
@click.argument("case_id", type=ID)
@click.argument("step")
@click.option("--as", "actor", help="Who finishes it.")
@command
def cases_finish_adhoc(ctx: Context, case_id: int, step: str, actor: str | None) -> None:
    """Finish the case's ad-hoc subprocess STEP: its offered tasks are withdrawn and the case
    goes on after it (refused while an activity inside it runs)."""
    view = ctx.app.engine.finish_adhoc(case_id, step, actor=actor)
    emit(ctx.json_mode, case_json(view.case, view.tasks), lambda: case_text(view))


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
    emit(ctx.json_mode, [task_json(t) for t in found],
          lambda: "\n".join(task_line(t) for t in found) or "no open tasks")


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
    emit(ctx.json_mode, answer,
          lambda: "\n".join([f"case {result.case_id}: {result.status}"]
                            + ([f"  error: {result.error.get('message')}"]
                               if result.error else [])
                            + [f"  task {task_line(t)}" for t in result.tasks]))


# -- events, timers, messages, worker, web -------------------------------------------------


@cli.command()
@click.argument("case_id", type=ID)
@command
def events(ctx: Context, case_id: int) -> None:
    """Every recorded step of a case, in order."""
    found = ctx.app.engine.events(case_id)
    emit(ctx.json_mode, [event_json(e) for e in found],
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
    moved = ctx.app.engine.move_waiting_cases()
    emit(ctx.json_mode, {"fired": fired, "moved": moved},
         lambda: f"fired {fired} timer(s)" + (
             f", moved {moved} case(s) at their next round" if moved else ""))


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
    emit(ctx.json_mode, {"delivered": delivered}, lambda: f"delivered {delivered} message(s)")


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
@click.option("--until-idle", is_flag=True, help="Stop after a round that found nothing to "
              "do (no timer due, no message to deliver, no case to move).")
@click.option("--digest", is_flag=True, envvar="PATHWAYS_DIGEST_DAILY", help="Send the "
              "daily e-mail digest (see `digest`) in the first round of each UTC day "
              "[$PATHWAYS_DIGEST_DAILY; the link from $PATHWAYS_PUBLIC_URL].")
@command
def worker(ctx: Context, interval: float, rounds: int | None, until_idle: bool,
           digest: bool) -> None:
    """Fire due timers, deliver kept messages and move the cases that wait for their
    loop's next round to move to a migration's version, round after round.

    A case whose timer or message fails is put in error with the reason (see `cases list
    --status error`), one line is logged on stderr, and the worker goes on with the others.
    The first round of each (UTC) day publishes that day's chain head (see `chain-head`).
    Several workers may run on one PostgreSQL database (each claims disjoint cases); on a
    SQLite database a second worker refuses to start.
    """
    with one_worker(ctx.settings.database_url):
        _work(ctx, interval, rounds, until_idle, digest)


def _work(ctx: Context, interval: float, rounds: int | None, until_idle: bool,
          digest: bool = False) -> None:
    from adapters.metrics import serve_worker_metrics  # prometheus_client: the worker only

    engine = ctx.app.engine
    collector.settle_for_serving()  # it runs for hours: see adapters.collector
    serve_worker_metrics(ctx.app.settings.worker_metrics_port,
                         ctx.app.settings.worker_metrics_address)
    done = 0
    head_day = digest_day = None
    with _stop_on_signals() as stop:
        while not stop.is_set() and (rounds is None or done < rounds):
            fired = engine.fire_due_timers()
            delivered = engine.deliver_messages()
            moved = engine.move_waiting_cases()
            head_day = chain.publish_daily(ctx.app.database, head_day)
            if digest:
                from adapters.cli.digest import URL_ENV, run_daily

                digest_day = run_daily(ctx.app, digest_day, os.environ.get(URL_ENV))
            done += 1
            summary = {"round": done, "fired": fired, "delivered": delivered, "moved": moved}
            line = (f"round {done}: fired {fired} timer(s), delivered {delivered} message(s)"
                    + (f", moved {moved} case(s) at their next round" if moved else ""))
            emit(ctx.json_mode, summary, lambda: line)  # noqa: B023 - called at once
            if until_idle and not (fired or delivered or moved):
                return
            if rounds is None or done < rounds:
                stop.wait(interval)
