"""The dashboard's decisions in words and its figures as people read them (issue 12, items 5
and 7): web.decisions and web.figures on real comparisons from engine.outcomes.analysis."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.exceptions import BadRequest

from engine.outcomes.analysis import split_by_field, version_comparison
from engine.outcomes.disclosure import SUPPRESSED
from engine.outcomes.estimates import compare_proportions
from engine.outcomes.protected_tables import protected_rows
from tests.unit.engine.test_analysis import Log
from tests.unit.engine.test_analysis_dispersion import spread_and_even_counts
from web import charts, figures
from web.decisions import chosen_version, decisions, forest_svg


def _trial(yes: dict[int, int], size: int) -> tuple[Log, dict[int, bool | int | None]]:
    """`size` cases per version; `yes[v]` of version v's with the outcome."""
    log = Log()
    outcome: dict[int, bool | int | None] = {}
    for version, count in yes.items():
        for i in range(size):
            outcome[log.case(version)] = i < count
    return log, outcome


def test_a_clear_difference_is_said_in_points_with_its_interval_and_no_raw_notation() -> None:
    log, outcome = _trial({1: 60, 2: 120}, 200)  # 30% against 60%
    result = version_comparison(log.cases, log.events, outcome, outcome_name="reconviction")
    [found] = decisions(protected_rows(result.rows(), 10), result, outcome="reconviction")
    expected = compare_proportions(120, 200, 60, 200)
    assert expected.p_value is not None and expected.p_value < 1e-8  # once printed as 1.64e-09
    assert found.sentence == (
        f"Version 2 raised reconviction by 30.0 points (95% interval "
        f"+{expected.ci_low * 100:.1f} points to +{expected.ci_high * 100:.1f} points) "  # type: ignore[operator]
        "compared with version 1 \u2014 evidence of a difference (p < 0.001).")
    assert found.evidence is True and found.question == \
        "Did version 2 differ in reconviction from version 1?"
    assert (found.effect, found.unit) == (pytest.approx(30.0), "points")
    assert not re.search(r"\de-\d", found.sentence)


def test_no_difference_says_there_is_not_enough_evidence_and_names_the_chosen_baseline(
        ) -> None:
    log, outcome = _trial({1: 50, 2: 48, 3: 47}, 100)
    result = version_comparison(log.cases, log.events, outcome, outcome_name="housed",
                                baseline=2)
    said = decisions(protected_rows(result.rows(), 10), result, outcome="housed")
    assert [d.label for d in said] == ["v1 vs v2", "v3 vs v2"]
    assert said[0].sentence.startswith("Version 1 raised housed by 2.0 points")
    assert said[1].sentence.startswith("Version 3 lowered housed by 1.0 points")
    assert all("not enough evidence of a real difference (p = 0." in d.sentence
               and d.evidence is False for d in said)


def test_a_small_sample_reads_fishers_exact_p_and_says_so() -> None:
    log, outcome = _trial({1: 1, 2: 3}, 4)
    result = version_comparison(log.cases, log.events, outcome, outcome_name="housed")
    [found] = decisions(protected_rows(result.rows(), 1), result, outcome="housed")
    fisher = compare_proportions(3, 4, 1, 4).fisher_p_value
    assert fisher is not None
    assert f"(p = {fisher:.2f}; small sample: Fisher's exact test, read it with care)" \
        in found.sentence


def test_a_rate_is_said_as_a_percent_change_with_its_spread() -> None:
    log, ids1, ids2 = spread_and_even_counts()
    counts: dict[int, bool | int | None] = {
        **dict(zip(ids1, [0] * 8 + [6, 6], strict=True)), **dict.fromkeys(ids2, 1)}
    result = version_comparison(log.cases, log.events, counts, baseline=1,
                                outcome_name="reconvictions")
    [found] = decisions(protected_rows(result.rows(), 1), result, outcome="reconvictions")
    assert found.sentence.startswith(
        "Version 2 had a 17% lower rate of reconvictions (rate ratio 0.83, 95% interval ")
    assert "Counts per person vary 2.7 times as much as chance alone would make them; the " \
        "interval allows for that." in found.sentence
    assert found.unit == "% change in the rate" and found.effect == pytest.approx(-16.7, 0.01)


def test_a_rate_on_poisson_like_counts_says_they_vary_no_more_than_chance() -> None:
    """The dispersion the rate interval allowed for is said either way (issue 12, item 4)."""
    log, ids1, ids2 = spread_and_even_counts()
    counts: dict[int, bool | int | None] = {**dict.fromkeys(ids1, 1), **dict.fromkeys(ids2, 2)}
    result = version_comparison(log.cases, log.events, counts, baseline=1,
                                outcome_name="reconvictions")
    [found] = decisions(protected_rows(result.rows(), 1), result, outcome="reconvictions")
    assert "Counts per person vary no more than chance alone would make them." \
        in found.sentence


def test_a_suppressed_comparison_gives_no_figure_in_words_or_in_the_forest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    log, outcome = _trial({1: 10, 2: 17}, 20)  # version 2: 3 without, a small cell
    result = version_comparison(log.cases, log.events, outcome, outcome_name="housed")
    rows = protected_rows(result.rows(), 10)
    assert [r["estimate"] for r in rows if r["measure"] == "housed"
            and r["group"] == "version 2"] == [SUPPRESSED]
    [found] = decisions(rows, result, outcome="housed")
    assert found.sentence == ("Version 2 against version 1: not shown \u2014 a group has too "
                              "few people to show its figures.")
    assert (found.effect, found.low, found.high, found.evidence) == (None, None, None, None)
    drawn: dict[str, Any] = {}

    def forest(title: str, labels: Any, effects: Any, lows: Any, highs: Any,
               unit: str = "points") -> str:
        drawn.update(labels=list(labels), values=[*effects, *lows, *highs])
        return "<svg/>"

    monkeypatch.setattr(charts, "forest", forest)
    assert forest_svg([found], "housed", 10) == "<svg/>"
    assert drawn == {"labels": ["v2 vs v1"], "values": [None] * 3}


def test_a_split_reads_its_holm_adjusted_p_never_the_raw_one() -> None:
    log = Log()
    outcome: dict[int, bool | int | None] = {}
    for i in range(90):
        group = ("a", "b", "c")[i % 3]
        outcome[log.case(1, data={"risk": group})] = (i % 3 == 0 and i % 2 == 0) or i % 7 == 0
    split = split_by_field(log.cases, "risk", outcome, baseline="a")
    said = decisions([], None, outcome="housed",
                     splits=[("risk", protected_rows(split.rows(), 1))])
    assert [d.label for d in said] == ["risk “b” vs “a”", "risk “c” vs “a”"]
    for found, group in zip(said, ("b", "c"), strict=True):
        adjusted = split.group(group).adjusted_p_value
        assert adjusted is not None
        assert f"{figures.p_value(adjusted)}, adjusted for the several groups compared (Holm)" \
            in found.sentence
        assert found.topic == "risk"


def test_missing_outcomes_are_said_with_their_best_and_worst_case() -> None:
    log, outcome = _trial({1: 10, 2: 15}, 20)
    for case_id in list(outcome)[-2:]:  # two of version 2's 'no' not known yet
        outcome[case_id] = None
    result = version_comparison(log.cases, log.events, outcome, outcome_name="housed")
    [found] = decisions(protected_rows(result.rows(), 1), result, outcome="housed")
    assert "Outcomes not known yet: 2 of 20 cases in version 2 and 0 of 20 in version 1" \
        in found.sentence
    assert "the difference would lie between +25.0 points and +35.0 points" in found.sentence


@pytest.mark.parametrize(("p", "said"), [(1.084e-19, "p < 0.001"), (0.0009999, "p < 0.001"),
                                         (0.001, "p = 0.001"), (0.0996, "p = 0.100"),
                                         (0.032, "p = 0.032"),
                                         (0.0049, "p = 0.005"), (0.4, "p = 0.40"),
                                         (None, "no test possible")])
def test_p_values_are_never_in_scientific_notation(p: float | None, said: str) -> None:
    assert figures.p_value(p) == said


def test_cells_carry_their_units_and_human_names() -> None:
    share = {"measure": "reconviction", "value": 0.04545, "ci_low": 0.01, "estimate": -0.0455,
             "comparison": "difference", "p_value": 1.084e-19, "exact_p_value": 0.032,
             "small_sample": True, "n": 22, "count": SUPPRESSED, "cohort": "all"}
    assert figures.cell(share, "value") == "4.5%"
    assert figures.cell(share, "estimate") == "\u22124.5 points"
    assert figures.cell(share, "p_value") == "< 0.001"
    assert figures.cell(share, "exact_p_value") == "0.032"
    assert figures.cell(share, "small_sample") == "yes"
    assert figures.cell(share, "count") == SUPPRESSED
    assert figures.cell(share, "n") == "22"
    assert figures.cell(share, "cohort") == "all cases"
    assert figures.cell({"measure": "met_at_gate missing"}, "measure") == \
        "met at gate: not known yet"
    assert figures.cell(share, "ci_high") == "\u2013"
    rate = {"measure": "reconviction per 100", "value": 13.64, "estimate": 0.83,
            "comparison": "rate ratio"}
    assert figures.cell(rate, "value") == "13.6 per 100"
    assert figures.cell(rate, "estimate") == "0.83\u00d7"
    assert figures.cell({"per_100": 142.0}, "per_100") == "142.0 per 100"
    assert figures.label("ci_low") == "95% interval from"
    assert figures.label("estimate_ci_high") == "Difference: 95% interval to"


def test_a_version_baseline_must_be_a_version_with_cases() -> None:
    log, _ = _trial({1: 1, 3: 1}, 2)
    assert chosen_version(None, log.cases) is None
    assert chosen_version("3", log.cases) == 3
    for bad in ("2", "x", "-1", "9" * 40):
        with pytest.raises(BadRequest, match=r"choose one of the versions with cases \(1, 3\)"):
            chosen_version(bad, log.cases)


def test_the_forest_plot_draws_each_comparison_and_marks_a_gap() -> None:
    svg = charts.forest("Housed", ["v2 vs v1", "v3 vs v1", "v4 vs v1"], [5.0, None, -40.0],
                        [1.0, None, -60.0], [9.0, None, None], "% change in the rate")
    assert svg.startswith("<?xml") and "<svg" in svg and "<script" not in svg
    for text in ("v2 vs v1", "v3 vs v1", "v4 vs v1", "no figure", "% change in the rate"):
        assert f">{text}" in svg, text  # each text as SVG text (web.charts)


def test_a_table_is_built_with_every_text_escaped_and_each_figure_in_its_unit() -> None:
    """The page's tables are built in Python (figures.table_html), not cell by cell in a
    macro: a caseworker's or group's name is text, never markup, and each cell reads as
    figures.cell says (a suppressed figure stays suppressed, no figure is a dash)."""
    rows = [{"name": "<script>alert(1)</script>", "tasks": 1234, "change_pct": 12.345},
            {"name": "O'Neil & Co", "tasks": "suppressed", "change_pct": None}]
    html = str(figures.table_html(rows, ["name", "tasks", "change_pct"], caption="<b>x</b>"))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "O&#39;Neil &amp; Co" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert html.count("<tr>") == 3 and html.count("<td>") == 6
    assert "<td>1,234</td>" in html and "<td>12.3%</td>" in html
    assert "<td>suppressed</td>" in html and f"<td>{figures.NOTHING}</td>" in html
    assert '<th scope="col">Tasks completed</th>' in html
    assert "<tbody>" in str(figures.table_html(None, ["name"]))


def test_a_line_chart_labels_a_dozen_months_at_most_as_text_escaped() -> None:
    """Charts carry their text as SVG text (not a path per glyph), escaped: a name from the
    data cannot add markup; a chart of 42 months labels every fourth, not 42 overlapping."""
    months = [f"{2010 + i // 12}-{i % 12 + 1:02d}" for i in range(42)]
    svg = charts.lines("Tasks <script>alert(1)</script>", months,
                       {"<b>org</b>": [float(i) for i in range(42)],
                        "other": [1.0] * 42}, "tasks")
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;b&gt;org&lt;/b&gt;" in svg
    labelled = [month for month in months if f">{month}<" in svg]
    assert labelled == months[::4]
    few = charts.lines("Tasks", months[:3], {"org": [1.0, 2.0, 3.0]}, "tasks")
    assert all(f">{month}<" in few for month in months[:3])
