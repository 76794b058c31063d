"""The commissioner's dashboard: did a version do better, how sure are we, what is owed.

Aggregates only (no client appears by name): version comparison with 95% intervals and
tests (engine.outcomes.analysis, scipy/statsmodels), met-at-gate against an outcome, engagement,
caseworker activity month on month, and the payment statement (engine.outcomes.payments) from the
programme's configuration. Every chart (matplotlib SVG) has its numbers in a table and a
CSV download. The routes are here; the figures are gathered by web.dashboard_figures and
the programme's cohorts measured by web.cohort_evidence.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from werkzeug.exceptions import NotFound

from engine.errors import InvalidArgumentError
from engine.numbers import parse_decimal, parse_int
from engine.outcomes import (
    CohortInput,
    activity,
    analysis,
    assumed_figures,
    estimates,
    payment_statement,
)
from web import charts, decisions, figures
from web.cohort_evidence import (
    COHORT_COLUMNS,
    CohortEvidence,
    cohort_evidence,
    programme,
    threshold,
)
from web.dashboard_cache import alongside, cached
from web.dashboard_figures import (
    activity_figures,
    choose,
    drawn,
    outcome_figures,
    request_choices,
    unloadable_notice,
)
from web.security import application, roles_required

bp = Blueprint("commissioner", __name__)
bp.add_app_template_global(figures.cell, "cell")
bp.add_app_template_global(figures.label, "label")
bp.add_app_template_global(figures.table_html, "figures_table")
VIEWERS = ("commissioner", "designer", "admin")
TABLES = ("versions", "gate", "field", "engagement", "activity")  # each shown[f"{name}_rows"]


# Bounds of the payment form's figures: far beyond any real cohort, small enough that the
# statement's exact arithmetic stays instant.
MAX_COHORT = 10_000_000
MAX_EVENTS = 1_000_000_000
MAX_RATE = Decimal(100_000)
FORM_LABELS = {"size": "Cohort size", "events": "Reconviction events",
               "comparison": "Comparison per 100"}


def _statement(form: Any) -> tuple[Any, dict[str, str]]:
    """The payment statement for the cohort figures entered (or the published cohort 1).
    Every figure goes through engine.numbers with explicit bounds: a refusal is said on the
    page (values["error"]), never a 500 or minutes of big-number arithmetic."""
    configured = programme()
    if configured is None:
        return None, {}
    values = {"size": str(form.get("size", "1000")), "events": str(form.get("events", "1420")),
              "comparison": str(form.get("comparison", "155")),
              "final": "yes" if form.get("final") == "yes" else ""}
    try:
        size = parse_int(values["size"], field=FORM_LABELS["size"], minimum=1,
                         maximum=MAX_COHORT)
        events = parse_int(values["events"], field=FORM_LABELS["events"], minimum=0,
                           maximum=MAX_EVENTS)
        rate = parse_decimal(values["comparison"], field=FORM_LABELS["comparison"],
                             minimum=Decimal("0.01"), maximum=MAX_RATE, places=2)
        cohort = CohortInput(configured.cohorts[0].name if configured.cohorts else "cohort 1",
                             size=size, intervention_events=events, comparison_rate=rate)
    except InvalidArgumentError as err:
        problems = err.details.get("fields", {})
        values["error"] = "; ".join(f"{k.split('.')[-1].replace('_', ' ')}: {', '.join(v)}"
                                    for k, v in problems.items()) or err.message
        return None, values
    return payment_statement(configured.mechanism, [cohort],
                             final=values["final"] == "yes"), values


@bp.get("/dashboard")
@roles_required(*VIEWERS)
def dashboard() -> Any:
    pathways = sorted(v.pathway for v in application().engine.definitions())
    pathway = request.args.get("pathway") or ("gate_reception" if "gate_reception" in pathways
                                              else (pathways[0] if pathways else ""))
    if pathway and pathway not in pathways:
        raise NotFound(f"no pathway {pathway!r}")
    configured = programme()
    evidence_of_cohorts = alongside(lambda: cohort_evidence(configured))
    shown = choose(pathway, request.args.get("outcome")) if pathway else None
    statement, payment = _statement(request.args)
    evidence = evidence_of_cohorts()
    cohorts, data_statement = evidence.rows, evidence.statement
    status = 422 if payment.get("error") else 200
    if shown is not None:
        shown["decisions"] = decisions.for_dashboard(shown)
    return render_template(
        "dashboard.html", pathways=pathways, pathway=pathway, shown=shown,
        cohorts=cohorts, cohort_columns=COHORT_COLUMNS, data_statement=data_statement,
        version_chart=bool(shown and shown["outcome"] and any(
            v.outcome is not None for v in shown["comparison"].versions)),
        activity_chart=bool(shown and shown["activity"].organisations),
        statement_suppressed=evidence.suppressed, final_said=evidence.final_said,
        statement=statement, payment=payment, threshold=threshold(),
        unloadable=unloadable_notice()), status


def _statement_inputs(evidence: CohortEvidence) -> list[dict[str, Any]]:
    """The printable statement's table of inputs: each cohort's (protected) figures and, for
    a cohort in the statement, its reduction and early payment (the chart's numbers)."""
    by_name = {c.input.name: c for c in (evidence.statement.cohorts
                                         if evidence.statement else ())}
    found = []
    for row in evidence.rows:
        line = by_name.get(row["cohort"])
        found.append({
            "cohort": row["cohort"], "from": row["from"], "to": row["to"] or "not set",
            "status": row["status"], "people": row["people"], "events": row.get("events"),
            "comparison_per_100": row.get("comparison_per_100"),
            "reduction_pct": None if line is None else _places(line.reduction, 1),
            "meets_cohort_threshold": None if line is None
            else ("yes" if line.meets_cohort_threshold else "no"),
            "early_payment": None if line is None else f"£{line.early_payment:,}"})
    return found


def _places(value: Decimal, places: int) -> str:
    """Rounded half up for display, as the statement's lines are."""
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


STATEMENT_COLUMNS = ("cohort", "from", "to", "status", "people", "events",
                     "comparison_per_100", "reduction_pct", "meets_cohort_threshold",
                     "early_payment")


@bp.get("/dashboard/statement")
@roles_required(*VIEWERS)
def statement_page() -> Any:
    """The payment statement from the data as a document of its own, made to be printed
    (and signed off): headings, the inputs, a chart against the thresholds, the arithmetic,
    and every placeholder figure flagged."""
    configured = programme()
    evidence = cohort_evidence(configured)
    return render_template(
        "statement.html", programme=configured, evidence=evidence,
        statement=evidence.statement, inputs=_statement_inputs(evidence),
        columns=STATEMENT_COLUMNS, threshold=threshold(),
        pooled=_places(evidence.statement.reduction, 1) if evidence.statement else None,
        assumed=assumed_figures(configured.mechanism) if configured else [])


@bp.get("/dashboard/cohorts.svg")
@roles_required(*VIEWERS)
def cohort_chart() -> Any:
    """Each cohort's reduction against the cohort and overall thresholds (an interim or
    hidden cohort is a gap); the numbers are in the statement's table of inputs."""
    configured = programme()
    evidence = cohort_evidence(configured)
    statement = evidence.statement
    if configured is None or statement is None:
        raise NotFound("no payment statement to chart yet")
    reductions = {c.input.name: float(c.reduction) for c in statement.cohorts}
    labels = [row["cohort"] for row in evidence.rows] + ["all cohorts"]
    values = [reductions.get(row["cohort"]) for row in evidence.rows]
    values.append(float(statement.reduction))
    mechanism = configured.mechanism
    svg = charts.bars_against_thresholds(
        f"Reduction in reconviction events ({'final' if statement.final else 'interim'}; "
        "gaps: no result yet)", labels, values,
        [("cohort threshold (early payment)", float(mechanism.cohort_threshold)),
         ("overall threshold", float(mechanism.overall_threshold))],
        missing="interim")
    return Response(svg, mimetype="image/svg+xml", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@bp.get("/dashboard/<name>.svg")
@roles_required(*VIEWERS)
def chart(name: str) -> Any:
    """A chart as an SVG image of its own: matplotlib styles its shapes inline, which the
    pages' Content-Security-Policy rightly forbids, so charts are images with a policy that
    allows only that (no scripts, nothing fetched)."""
    pathway = request.args.get("pathway", "")
    if pathway not in {v.pathway for v in application().engine.definitions()}:
        raise NotFound(f"no pathway {pathway!r}")
    if name not in ("versions", "activity", "forest"):
        raise NotFound(f"no chart {name!r}")
    outcome = request.args.get("outcome")
    if name == "activity":  # the same whatever the outcome and split
        svg = cached("chart", (name, pathway), lambda: drawn(name, activity_figures(pathway)))
    else:
        svg = cached("chart", (name, pathway, outcome, *request_choices()),
                     lambda: drawn(name, outcome_figures(pathway, outcome)))
    if svg is None:
        raise NotFound("no figures for that chart yet")
    return Response(svg, mimetype="image/svg+xml", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@bp.get("/dashboard/<table>.csv")
@roles_required(*VIEWERS)
def table_csv(table: str) -> Any:
    if table == "cohorts":
        rows = cohort_evidence(programme()).rows
        return Response(analysis.csv_text(rows, COHORT_COLUMNS), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="cohorts.csv"'})
    if table not in TABLES:
        raise NotFound(f"no table {table!r}")
    pathway = request.args.get("pathway", "")
    if pathway not in {v.pathway for v in application().engine.definitions()}:
        raise NotFound(f"no pathway {pathway!r}")
    shown = activity_figures(pathway) if table == "activity" \
        else outcome_figures(pathway, request.args.get("outcome"))
    source = shown[f"{table}_rows"]
    if source is None:
        raise NotFound("no figures for that table yet")
    columns = activity.ACTIVITY_COLUMNS if table == "activity" else estimates.COLUMNS
    text = analysis.csv_text(source, columns)
    headers = {"Content-Disposition": f'attachment; filename="{pathway}-{table}.csv"'}
    if left_out := sorted(g.get("unloadable", {})):  # the page says so; a file says it here
        headers["X-Pathways-Left-Out"] = ", ".join(f"{p} v{n}" for p, n in left_out)
    return Response(text, mimetype="text/csv", headers=headers)
