"""Commands of the tamper-evident record: verify, chain-head."""

from __future__ import annotations

import sys
from typing import Any

import click

from adapters.cli.common import ID, Context, cli, command, emit
from adapters.sql import chain


@cli.command()
@click.option("--case", "case_id", type=ID, help="Check this case's chain alone (the "
              "published head, which covers every case, is then not checked).")
@command
def verify(ctx: Context, case_id: int | None) -> None:
    """Recompute every case's chain of event hashes and the latest published chain head.

    Names, per case, the first event altered (its hash no longer matches), missing (a gap
    in the sequence, or a log that ends before the case's last recorded event) or
    reordered; exits 1 when anything is wrong.
    """
    report = chain.verify(ctx.app.database, case_id=case_id)
    emit(ctx.json_mode, report, lambda: _verify_text(report))
    if not report["ok"]:
        sys.exit(1)


def _verify_text(report: dict[str, Any]) -> str:
    lines = [f"{'ok' if report['ok'] else 'FAILED'}: {report['cases_checked']} case(s), "
             f"{report['events_checked']} event(s) checked"]
    lines += [f"  case {p['case']} sequence {p['sequence']}: {p['problem']}: {p['detail']}"
              for p in report["problems"]]
    if report["problems_total"] > len(report["problems"]):
        lines.append(f"  ... {report['problems_total']} case(s) with problems in all")
    head = report["head"]
    if head is None:
        lines.append("no chain head checked")
    else:
        lines.append(f"chain head of {head['day']}: {'ok' if head['ok'] else 'FAILED'}")
        lines += [f"  {problem}" for problem in head["problems"]]
    return "\n".join(lines)


@cli.command("chain-head")
@command
def chain_head(ctx: Context) -> None:
    """Publish today's chain head (UTC day) over every case's last event hash, unless it
    was published already; print it, to be kept outside the database."""
    head = chain.publish_head(ctx.app.database)
    emit(ctx.json_mode, head, lambda: (
        f"chain head of {head['day']}: {head['head']} ({head['cases']} case(s), "
        f"{head['events']} event(s) up to event {head['last_event_id']})"
        + ("" if head["published"] else ", published earlier")))
