"""The dashboard's answers in words, one sentence per question (issue 12, item 7).

"Did version 2 do better than version 1?" is answered as a commissioner would say it:
"Version 2 raised met at gate by 6.1 points (95% interval 2.0 to 10.2 points) compared with
version 1 — evidence of a difference (p < 0.001)." Each decision is read from the protected rows
(engine.outcomes.protected_tables.protected_rows), the same figures the tables show, so a suppressed
cell can never be recovered from a sentence or from the forest plot drawn from the same decisions;
where a comparison is suppressed the sentence says so and the plot has a gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import BadRequest

from engine.outcomes import SUPPRESSED, analysis
from web import charts
from web.figures import p_value, points

Row = Mapping[str, Any]
EVIDENCE_LEVEL = 0.05


@dataclass(frozen=True)
class Decision:
    """One question answered: the sentence, whether the data give evidence of a difference
    (None: no test, or suppressed), and the effect with its interval on the forest plot's
    scale (points for shares, percent change for rates; None: a gap)."""

    question: str
    sentence: str
    evidence: bool | None
    label: str
    effect: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str = "points"
    topic: str = "versions"  # or the split's title


def _shown(value: Any) -> float | None:
    return None if value is None or value == SUPPRESSED or value == "" else float(value)


def _name(outcome: str | None) -> str:
    return (outcome or "the outcome").replace("_", " ")


def _version(group: str) -> str:
    return group.capitalize() if group.startswith("version ") else f"“{group}”"


def decisions(rows: Sequence[Row], comparison: analysis.VersionComparison | None, *,
              outcome: str | None, splits: Sequence[tuple[str, Sequence[Row]]] = ()
              ) -> list[Decision]:
    """Every version against its baseline (all cases, then randomised cases only), then
    every group of each split (`splits`: the split's title and its protected rows) against
    the split's baseline, with the split's Holm-adjusted p."""
    found: list[Decision] = []
    measure = comparison._outcome_measure() if comparison else None
    missing = comparison.missing_measure() if comparison else None
    for row in rows:
        if row["measure"] == measure and row.get("compared_with"):
            where = " (randomised cases only)" if row["cohort"] == "randomised" else ""
            found.append(_decision(
                row, outcome, subject=_version(row["group"]), against=row["compared_with"],
                where=where, adjusted=False,
                missing=_missing_words(rows, row, missing, comparison), topic="versions"))
    for title, split_rows in splits:
        compared = [r for r in split_rows if r.get("compared_with")]
        for row in compared:
            found.append(_decision(
                row, outcome, subject=f"Cases with {title} “{row['group']}”",
                against=f"“{row['compared_with']}”", where="", adjusted=len(compared) > 1,
                missing="", topic=title))
    return found


def _decision(row: Row, outcome: str | None, *, subject: str, against: str, where: str,
              adjusted: bool, missing: str, topic: str) -> Decision:
    name = _name(outcome)
    label = f"{subject.replace('Version ', 'v').replace('Cases with ', '')} vs " \
            f"{against.replace('version ', 'v')}{' (randomised)' if where else ''}"
    question = f"Did {subject[0].lower() + subject[1:]}{where} differ in {name} from {against}?"
    estimate = _shown(row.get("estimate"))
    unit = "points" if row.get("comparison") == "difference" else "% change in the rate"
    if SUPPRESSED in (row.get("count"), row.get("estimate")):
        return Decision(question, f"{subject}{where} against {against}: not shown — a group "
                        "has too few people to show its figures.", None, label, unit=unit,
                        topic=topic)
    if estimate is None:
        return Decision(question, f"{subject}{where} against {against}: no comparison "
                        "possible yet (a group has no known outcome).", None, label,
                        unit=unit, topic=topic)
    low, high = _shown(row.get("estimate_ci_low")), _shown(row.get("estimate_ci_high"))
    compared = f"{subject}{where}"
    if row.get("comparison") == "difference":
        effect, scaled = _difference(compared, name, against, estimate, low, high)
    else:
        effect, scaled = _rate_ratio(compared, name, against, estimate, low, high)
    chance, evidence = _chance(row, adjusted)
    sentence = f"{effect} — {chance}.{_spread(row)}{missing}"
    effect_, low_, high_ = scaled
    return Decision(question, sentence, evidence, label, effect_, low_, high_, unit=unit,
                    topic=topic)


def _difference(compared: str, name: str, against: str, estimate: float, low: float | None,
                high: float | None) -> tuple[str, list[float | None]]:
    """A difference of shares in words, and (estimate, low, high) in points."""
    way = "raised" if estimate > 0 else "lowered" if estimate < 0 else "did not change"
    by = f" by {points(estimate, signed=False)}" if estimate else ""
    effect = (f"{compared} {way} {name}{by} (95% interval {points(low)} to "
              f"{points(high)}) compared with {against}")
    return effect, [None if v is None else v * 100 for v in (estimate, low, high)]


def _rate_ratio(compared: str, name: str, against: str, estimate: float, low: float | None,
                high: float | None) -> tuple[str, list[float | None]]:
    """A rate ratio in words, and (estimate, low, high) as a % change in the rate."""
    change = (estimate - 1) * 100
    way = "lower" if change < 0 else "higher"
    upper = "no upper limit" if high is None else f"{high:.2f}"
    effect = (f"{compared} had a {abs(change):.0f}% {way} rate of {name} (rate "
              f"ratio {estimate:.2f}, 95% interval {low or 0:.2f} to {upper}) than "
              f"{against}")
    return effect, [None if v is None else (v - 1) * 100 for v in (estimate, low, high)]


def _chance(row: Row, adjusted: bool) -> tuple[str, bool | None]:
    """How sure: the p-value to read (Holm-adjusted across a split; Fisher's exact test
    under a small sample) in words."""
    small = row.get("small_sample") is True
    if adjusted:
        value = _shown(row.get("adjusted_p_value"))
        how = f"{p_value(value)}, adjusted for the several groups compared (Holm)"
    else:
        value = _shown(row.get("exact_p_value") if small else row.get("p_value"))
        how = p_value(value)
    if small:
        how += "; small sample: Fisher's exact test, read it with care"
    if value is None:
        return f"no test possible ({how})", None
    if value < EVIDENCE_LEVEL:
        return f"evidence of a difference ({how})", True
    return f"not enough evidence of a real difference ({how})", False


def _spread(row: Row) -> str:
    """The over-dispersion the rate interval allowed for, in words."""
    dispersion = _shown(row.get("dispersion"))
    if dispersion is None:
        return ""
    if dispersion <= 1:
        return " Counts per person vary no more than chance alone would make them."
    return (f" Counts per person vary {dispersion:.1f} times as much as chance alone would "
            "make them; the interval allows for that.")


def _missing_words(rows: Sequence[Row], row: Row, measure: str | None,
                   comparison: analysis.VersionComparison | None) -> str:
    """Outcomes not known yet, in both versions, and how far they could move the answer
    (best/worst case), unless a missing count is suppressed: the bounds would give it away."""
    found = {(r["cohort"], r["group"]): r for r in rows if r["measure"] == measure}
    pair = [found.get((row["cohort"], g)) for g in (row["group"], row["compared_with"])]
    if measure is None or None in pair:
        return ""
    counts = [(r["count"], r["n"]) for r in pair if r is not None]
    if all(count == 0 for count, _ in counts):
        return ""
    if any(SUPPRESSED in cell for cell in counts):
        return " Outcomes not known yet: too few to show; those cases are left out."
    (mine, my_n), (theirs, their_n) = counts
    text = (f" Outcomes not known yet: {mine} of {my_n} cases in {row['group']} and "
            f"{theirs} of {their_n} in {row['compared_with']}; those cases are left out.")
    return text + _bounds_words(row, comparison)


def _bounds_words(row: Row, comparison: analysis.VersionComparison | None) -> str:
    """How far the unknown outcomes could move the difference (best and worst case)."""
    cohort = comparison.randomised if row["cohort"] == "randomised" and comparison \
        else comparison
    if cohort is None:
        return ""
    bounds = cohort.version(int(str(row["group"]).split()[-1])).outcome_bounds
    if bounds is None or bounds.low.difference is None or bounds.high.difference is None:
        return ""
    return (" If every unknown outcome went against one version and then the other, "
            f"the difference would lie between {points(bounds.low.difference)} and "
            f"{points(bounds.high.difference)}.")


def forest_svg(found: Sequence[Decision], outcome: str | None, threshold: int) -> str | None:
    """The decisions' effects with their intervals against a line of no difference (a
    forest plot); a comparison that is suppressed or impossible is a gap. None: nothing to
    plot. Shares and rates are on different scales, so only the first decision's unit is
    drawn (every comparison of one outcome has the same kind)."""
    if not found:
        return None
    unit = found[0].unit
    chosen = [d for d in found if d.unit == unit]
    return charts.forest(
        f"{_name(outcome).capitalize()}: each comparison with its 95% interval "
        f"(gaps: fewer than {threshold} people, or no comparison)",
        [d.label for d in chosen], [d.effect for d in chosen], [d.low for d in chosen],
        [d.high for d in chosen], unit)


def chosen_version(text: str | None, cases: Sequence[Any]) -> int | None:
    """The version every other is compared with (?versus=N), or None for the default (the
    earliest version). A version that has no cases is refused with the ones to choose."""
    if not text:
        return None
    present = sorted({case.version for case in cases})
    number = int(text) if text.strip().isdigit() and len(text.strip()) < 7 else None
    if number not in present:
        raise BadRequest(f"cannot compare against version {text[:20]!r}: choose one of the "
                         f"versions with cases ({', '.join(map(str, present)) or 'none'})")
    return number


def for_dashboard(shown: Mapping[str, Any]) -> list[Decision]:
    """The dashboard's decisions from what it shows (web.dashboard_figures.choose): versions,
    then the split by an answer and, for another outcome than itself, met at the gate."""
    if not shown.get("outcome"):
        return []
    splits: list[tuple[str, Sequence[Row]]] = []
    if shown.get("field_rows") and shown.get("field"):
        splits.append((str(shown["field"]).replace("_", " "), shown["field_rows"]))
    if shown.get("gate_rows") and shown["outcome"] != "met_at_gate":
        splits.append(("met at the gate", shown["gate_rows"]))
    return decisions(shown["versions_rows"], shown["comparison"], outcome=shown["outcome"],
                     splits=splits)
