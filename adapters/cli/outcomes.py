"""Commands on outcome data: outcomes import, list, comparison, matched-group."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from adapters.cli.common import ID, BoundedNumber, Context, UsageProblem, cli, command, emit
from engine.model import OutcomeEvent
from engine.outcomes import IMPORT_KINDS, ImportReport, Outcomes

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
        emit(ctx.json_mode, import_report_json(report), text)
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
    emit(ctx.json_mode, [outcome_event_json(e) for e in found],
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
        emit(ctx.json_mode, [comparison_rate_json(r) for r in found],
              lambda: "\n".join(f"{r.cohort}  {r.kind}  n={r.group_size}  "
                                f"per 100: {r.per_100}  binary: {r.binary_rate}  {r.source}"
                                for r in found) or "no comparison rates")
        return
    if group_size is None:
        raise UsageProblem("--size is required with the rates", details={"field": "size"})
    rate = service.set_comparison_rates(cohort, kind, group_size=group_size, per_100=per_100,
                                        binary_rate=binary_rate, source=source, actor=actor)
    emit(ctx.json_mode, comparison_rate_json(rate),
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
    emit(ctx.json_mode, {"group": report.group, "kind": report.kind,
                          "subjects": report.subjects, "events": report.events,
                          "already_imported": report.already_imported, "errors": errors,
                          "extracted_on": _iso_day(report.extracted_on)},
          lambda: "\n".join([f"{file}:{e['line']}:{e['column']}: {e['message']}"
                             for e in errors]) or
          f"group {report.group}: {report.subjects} subject(s), {report.events} event(s)"
          + (" (already imported)" if report.already_imported else ""))
    if errors:
        sys.exit(1)
