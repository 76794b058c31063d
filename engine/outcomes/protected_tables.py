"""The dashboard's tables as they may be shown: engine.outcomes.disclosure's rule applied to the
rows of a comparison table (versions, a split, engagement) and to the activity table. Every count
too small to show is hidden, with whatever would give it away: the group's other measures, a step's
times, a comparison against a hidden baseline, a month's change."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from engine.outcomes import disclosure
from engine.outcomes.activity import ACTIVITY_COLUMNS, UNKNOWN_ORGANISATION, Activity, MonthActivity

# the columns a hidden comparison row blanks (labels such as group and measure stay)
_FIGURES = ("n", "count", "value", "ci_low", "ci_high", "estimate", "estimate_ci_low",
            "estimate_ci_high", "p_value", "exact_p_value", "dispersion", "adjusted_p_value",
            "small_sample")
_VERSUS = ("estimate", "estimate_ci_low", "estimate_ci_high", "p_value", "exact_p_value",
           "dispersion", "adjusted_p_value", "small_sample")
_TOTAL_GROUP = "all"
_HOURS = (" median hours", " mean hours", " median hours from start")

RowKey = tuple[Any, Any, Any]  # (cohort, group, measure)
CellKey = tuple[str, str, str]  # (level, name, month) of the activity table


# -- comparison tables ------------------------------------------------------------------------


def protected_rows(rows: Sequence[Mapping[str, Any]],
                   threshold: int = disclosure.DEFAULT_THRESHOLD) -> list[dict[str, Any]]:
    """The rows of a comparison table (versions, a split, engagement) as they may be shown:
    engine.outcomes.disclosure's rule applied to each measure across the groups of each cohort. A
    group too small to show is hidden in every measure; a step's times go with its
    completion count; a difference or p-value goes when its baseline's row is hidden."""
    out = [dict(row) for row in rows]
    where: dict[RowKey, int] = {(row["cohort"], row["group"], row["measure"]): index
                                for index, row in enumerate(out)}
    hidden = _hidden_counts(out, threshold)
    hidden |= _hidden_times(out, where, hidden, threshold)
    for index, row in enumerate(out):
        if index in hidden:
            row.update(dict.fromkeys(_FIGURES, disclosure.SUPPRESSED))
            continue
        baseline = where.get((row["cohort"], row.get("compared_with"), row["measure"]))
        if baseline is not None and baseline in hidden:
            row.update(dict.fromkeys(_VERSUS, disclosure.SUPPRESSED))
    return out


def _is_time(row: Mapping[str, Any]) -> bool:
    return str(row["measure"]).endswith(_HOURS)


def _hidden_counts(out: Sequence[Mapping[str, Any]], threshold: int) -> set[int]:
    """The rows of counts to hide, measure by measure within each cohort. The cases measure
    goes first: a group hidden there is hidden in every other measure of its cohort."""
    partitions: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for index, row in enumerate(out):
        if not _is_time(row):
            partitions[(row["cohort"], row["measure"])].append(index)
    hidden: set[int] = set()
    small_groups: dict[Any, set[Any]] = defaultdict(set)
    for (cohort, measure), members in sorted(partitions.items(),
                                             key=lambda item: item[0][1] != "cases"):
        groups, totals = _hidden_in_measure(out, members, small_groups[cohort], threshold)
        hidden.update(groups, totals)
        if measure == "cases":
            small_groups[cohort].update(out[index]["group"] for index in groups)
    return hidden


def _hidden_in_measure(out: Sequence[Mapping[str, Any]], members: Sequence[int],
                       small_groups: set[Any], threshold: int) -> tuple[list[int], list[int]]:
    """One measure of one cohort: the groups' rows to hide (with those already hidden for
    being small) and the total rows ('all') whose own counts are small."""
    groups = [i for i in members if out[i]["group"] != _TOTAL_GROUP]
    totals = [i for i in members if out[i]["group"] == _TOTAL_GROUP]
    forced = {k for k, i in enumerate(groups) if out[i]["group"] in small_groups}
    chosen = disclosure.suppress_groups([_cells(out[i]) for i in groups], threshold,
                                        forced=forced)
    return ([groups[k] for k in chosen],
            [i for i in totals if any(disclosure.small(c, threshold) for c in _cells(out[i]))])


def _hidden_times(out: Sequence[Mapping[str, Any]], where: Mapping[RowKey, int],
                  hidden: set[int], threshold: int) -> set[int]:
    """A step's times go when its completion count is hidden (or absent), or when too few
    completions were timed."""
    found: set[int] = set()
    for index, row in enumerate(out):
        if not _is_time(row):
            continue
        measure = str(row["measure"])
        step = next(measure[:-len(end)] for end in _HOURS if measure.endswith(end))
        basis = where.get((row["cohort"], row["group"], f"{step} completed"))
        if basis is None or basis in hidden or disclosure.small(row["n"], threshold):
            found.add(index)
    return found


def _cells(row: Mapping[str, Any]) -> tuple[float, ...]:
    """The counts of one row: a group's size; a share's count with and without; a rate's
    people and events."""
    n, count = row.get("n") or 0, row.get("count") or 0
    if row["measure"] == "cases" or str(row["measure"]).endswith(" per 100"):
        return (n, count)
    return (n, count, n - count)


# -- the activity table -----------------------------------------------------------------------


def protected_activity(activity: Activity, threshold: int = disclosure.DEFAULT_THRESHOLD
                       ) -> list[dict[str, Any]]:
    """Activity rows (ACTIVITY_COLUMNS) as they may be shown. Organisations by month form one
    table (each organisation's total taken to be known); each organisation's caseworkers by
    month another, whose column totals are that organisation's months (known when shown;
    under a hidden month every caseworker's count is hidden). The month before, the change
    and the change in percent go with the counts they come from."""
    months = list(activity.months)
    hidden = _hidden_organisations(activity.organisations, months, threshold)
    by_org: dict[str, list[MonthActivity]] = defaultdict(list)
    for row in activity.caseworkers:
        by_org[row.organisation or UNKNOWN_ORGANISATION].append(row)
    for organisation, rows in by_org.items():
        hidden.update(_hidden_caseworkers(organisation, rows, months, hidden, threshold))
    return [_shown_activity(row, months, hidden)
            for row in (*activity.organisations, *activity.caseworkers)]


def _tasks_by_name(rows: Sequence[MonthActivity]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        found[row.name][row.month] = row.tasks
    return found


def _hidden_organisations(rows: Sequence[MonthActivity], months: Sequence[str],
                          threshold: int) -> dict[CellKey, bool]:
    """Which organisation-months to hide: each organisation's total known, no month's."""
    organisations = _tasks_by_name(rows)
    names = sorted(organisations)
    matrix = [[organisations[name].get(m, 0) for m in months] for name in names]
    cells = disclosure.suppress_table(matrix, threshold, known_rows=[True] * len(names),
                                      known_columns=[False] * len(months))
    return {("organisation", name, month): (r, c) in cells
            for r, name in enumerate(names) for c, month in enumerate(months)}


def _hidden_caseworkers(organisation: str, rows: Sequence[MonthActivity],
                        months: Sequence[str], hidden: Mapping[CellKey, bool],
                        threshold: int) -> dict[CellKey, bool]:
    """Which of one organisation's caseworker-months to hide: its shown months are the
    known column totals, and under a hidden month every caseworker's count goes."""
    workers = _tasks_by_name(rows)
    people = sorted(workers)
    matrix = [[workers[p].get(m, 0) for m in months] for p in people]
    org_hidden = [hidden.get(("organisation", organisation, m), True) for m in months]
    forced = {(r, c) for r in range(len(people)) for c in range(len(months)) if org_hidden[c]}
    cells = disclosure.suppress_table(
        matrix, threshold, known_rows=[False] * len(people),
        known_columns=[not h for h in org_hidden], forced=forced)
    return {("caseworker", person, month): (r, c) in cells
            for r, person in enumerate(people) for c, month in enumerate(months)}


def _shown_activity(row: MonthActivity, months: Sequence[str],
                    hidden: Mapping[CellKey, bool]) -> dict[str, Any]:
    """One activity row with its hidden counts, and what is worked out from them, blanked."""
    values = {column: getattr(row, column) for column in ACTIVITY_COLUMNS}
    index = months.index(row.month)
    this = hidden.get((row.level, row.name, row.month), True)
    before = index > 0 and hidden.get((row.level, row.name, months[index - 1]), True)
    if this:
        values["tasks"] = disclosure.SUPPRESSED
    if before:
        values["previous"] = disclosure.SUPPRESSED
    if this or before:
        values["change"] = values["change_pct"] = disclosure.SUPPRESSED
    return values
