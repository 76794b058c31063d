"""The dashboard's figures as a commissioner reads them (issue 12, item 7).

The tables and CSVs hold plain numbers (a share 0..1, a difference 0.0455, a p-value
1.084e-19); scripts rely on those, so they stay. What a page shows goes through here:
shares as percent, differences in points, rates per 100, ratios as "times", p-values never in
scientific notation ("p < 0.001"), and human names for the columns. Pure functions of the
(protected) rows: a suppressed cell stays "suppressed".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from engine.outcomes import SUPPRESSED

NOTHING = "\u2013"  # an en dash: no figure

# what each column of a table is called on the page (the CSV keeps the column's own name)
LABELS: dict[str, str] = {
    "cohort": "Cases compared", "group": "Group", "measure": "Measure", "n": "Cases",
    "count": "Count", "value": "Result", "ci_low": "95% interval from",
    "ci_high": "95% interval to", "compared_with": "Compared with",
    "comparison": "Compared as", "estimate": "Difference from baseline",
    "estimate_ci_low": "Difference: 95% interval from",
    "estimate_ci_high": "Difference: 95% interval to",
    "p_value": "Chance of a difference this large if none (p)",
    "exact_p_value": "Fisher's exact p (small samples)",
    "adjusted_p_value": "p adjusted for several comparisons (Holm)",
    "small_sample": "Small sample?", "dispersion": "Spread of counts (variance ÷ mean)",
    # activity
    "level": "Level", "name": "Name", "organisation": "Organisation", "month": "Month",
    "tasks": "Tasks completed", "previous": "Month before", "change": "Change",
    "change_pct": "Change (%)",
    # cohort results
    "from": "Released from", "to": "Released to", "people": "People",
    "events": "Reconviction events", "per_100": "Events per 100 people",
    "per_100_ci_low": "Per 100: 95% interval from", "per_100_ci_high":
    "Per 100: 95% interval to", "comparison_per_100": "Comparison group per 100",
    "people_with_events": "People reconvicted", "binary_pct": "Reconvicted (%)",
    "binary_ci_low": "Reconvicted: 95% interval from",
    "binary_ci_high": "Reconvicted: 95% interval to", "status": "Follow-up",
    "windows_open": "People still in follow-up", "extracted_on": "Data extracted on",
    "complete_on": "Follow-up complete on",
    # the payment statement's inputs
    "reduction_pct": "Reduction (%)", "meets_cohort_threshold": "Meets the cohort threshold?",
    "early_payment": "Early payment",
}


def table_html(rows: Sequence[Mapping[str, Any]] | None, columns: Sequence[str],
               caption: str | None = None) -> Markup:
    """A table as a commissioner reads it: human column names (label), each figure with its
    unit (cell), every text escaped. Built here, not cell by cell in a template macro: the
    activity table alone has thousands of cells, and a macro call per cell took most of a
    page's time."""
    head = "".join(f'<th scope="col">{escape(label(c))}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell(row, c))}</td>" for c in columns)
                   + "</tr>" for row in rows or ())
    titled = f"<caption>{escape(caption)}</caption>" if caption else ""
    # a region that may scroll sideways takes focus, so the keyboard can scroll it
    named = escape(caption or "Table: " + ", ".join(label(c) for c in columns[:3])
                   + (", …" if len(columns) > 3 else ""))
    return Markup(f'<div class="scroll" tabindex="0" role="region" aria-label="{named}">'  # noqa: S704
                  f'\n<table class="figures">\n  {titled}'
                  f"<thead><tr>{head}</tr></thead>\n  <tbody>\n  {body}\n  </tbody>\n"
                  "</table>\n</div>")


def label(column: str) -> str:
    """The column's name on the page."""
    return LABELS.get(column, column.replace("_", " ").capitalize())


def p_value(value: float | None) -> str:
    """A p-value as people read it: "p < 0.001", "p = 0.032", "p = 0.40" (three places
    below 0.1, where the first digit alone says too little; two above)."""
    if value is None:
        return "no test possible"
    if value < 0.001:
        return "p < 0.001"
    return f"p = {value:.3f}" if value < 0.1 else f"p = {value:.2f}"


def percent(share: float | None, places: int = 1) -> str:
    """A share (0..1) as a percent."""
    return NOTHING if share is None else f"{share * 100:.{places}f}%"


def points(difference: float | None, *, signed: bool = True) -> str:
    """A difference of two shares (0..1) in percentage points, with a true minus sign."""
    if difference is None:
        return NOTHING
    text = f"{difference * 100:+.1f}" if signed else f"{abs(difference) * 100:.1f}"
    return text.replace("-", "\u2212") + " points"


def per_100(rate: float | None) -> str:
    return NOTHING if rate is None else f"{rate:.1f} per 100"


def ratio(value: float | None) -> str:
    return NOTHING if value is None else f"{value:.2f}\u00d7"


def _kind(row: Mapping[str, Any]) -> str:
    """What a comparison row's value is: a rate, hours, a count of cases, or a share."""
    measure = str(row.get("measure") or "")
    if measure.endswith(" per 100"):
        return "rate"
    if measure.endswith(("hours", "from start")):
        return "hours"
    if measure == "cases" or measure.endswith(" missing"):
        return "count"
    return "share"


_COHORTS = {"all": "all cases", "randomised": "randomised cases only"}


def cell(row: Mapping[str, Any], column: str) -> str:
    """One cell of a table as shown on the page, with its unit."""
    value = row.get(column)
    shown = _not_a_number(column, value)
    return shown if shown is not None else _number(row, column, value)


def _not_a_number(column: str, value: Any) -> str | None:
    """Nothing, a suppressed figure, a label or a yes/no, in words; None for a number."""
    if value is None or value == "":
        return NOTHING
    if value == SUPPRESSED:
        return SUPPRESSED
    if isinstance(value, str):
        return _words(column, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return None


def _number(row: Mapping[str, Any], column: str, value: Any) -> str:
    """A number in the unit its column (and, for a comparison's value, its row) says."""
    if column in ("p_value", "exact_p_value", "adjusted_p_value"):
        return p_value(float(value)).removeprefix("p = ").replace("p < ", "< ")
    if column in ("value", "ci_low", "ci_high"):
        return _comparison_value(row, float(value))
    if column.startswith("estimate"):
        return points(float(value)) if row.get("comparison") == "difference" \
            else ratio(float(value))
    if column.startswith("per_100") or column == "comparison_per_100":
        return per_100(float(value))
    if column.startswith("binary_") or column == "change_pct":
        return f"{float(value):.1f}%"
    if column == "dispersion":
        return f"{float(value):.2f}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _comparison_value(row: Mapping[str, Any], value: float) -> str:
    kind = _kind(row)
    if kind == "rate":
        return per_100(value)
    return percent(value) if kind == "share" else _hours(value)


def _words(column: str, value: str) -> str:
    """A label in a table: which cases, which group, which measure, in words."""
    if column == "cohort":
        return _COHORTS.get(value, value)
    if column == "measure" and value.endswith(" missing"):
        return value.removesuffix(" missing").replace("_", " ") + ": not known yet"
    return value.replace("_", " ") if column in ("measure", "group") else value


def _hours(value: float) -> str:
    return f"{value:.1f} h"
