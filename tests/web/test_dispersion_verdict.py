"""The dashboard's verdict on a rate comparison says how much the counts varied between
people, the dispersion the interval allowed for (issue 12, item 4)."""

from __future__ import annotations

from engine.analysis import version_comparison
from tests.unit.engine.test_analysis_dispersion import spread_and_even_counts
from web.commissioner import verdicts


def test_the_verdict_names_the_dispersion_allowed_for() -> None:
    log, ids1, ids2 = spread_and_even_counts()
    counts = {**dict(zip(ids1, [0] * 8 + [6, 6], strict=True)), **dict.fromkeys(ids2, 1)}
    result = version_comparison(log.cases, log.events, counts, baseline=1,
                                outcome_name="reconvictions")
    [said] = verdicts(result)
    assert said.startswith("Version 2 vs 1: reconvictions rate ratio 0.83, 95% CI ")
    assert "counts vary 2.67 times as much as Poisson (variance/mean), allowed for" in said


def test_a_verdict_on_poisson_like_counts_says_so() -> None:
    log, ids1, ids2 = spread_and_even_counts()
    counts = {**dict.fromkeys(ids1, 1), **dict.fromkeys(ids2, 2)}
    [said] = verdicts(version_comparison(log.cases, log.events, counts, baseline=1,
                                         outcome_name="reconvictions"))
    assert "counts vary no more than Poisson (variance/mean 0.00)" in said
