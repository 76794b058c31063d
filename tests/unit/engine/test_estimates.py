"""The estimates (engine/outcomes/estimates.py): known examples checked against numbers computed
independently here or published, a coverage simulation, edge cases, and Holm's adjustment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.errors import InvalidArgumentError
from engine.outcomes.estimates import (
    compare_proportions,
    compare_rates,
    holm,
    proportion_ci,
    rate_ci,
)

Z = 1.959963984540054  # the 97.5% point of the standard normal


def wilson(x: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson's score interval, written out (Wilson 1927; Newcombe 1998 method 3)."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# -- known examples ---------------------------------------------------------------------------


def test_wilson_interval_matches_the_formula() -> None:
    result = proportion_ci(7, 20)
    low, high = wilson(7, 20)
    assert result.rate == pytest.approx(0.35)
    assert result.ci_low == pytest.approx(low, abs=1e-12)
    assert result.ci_high == pytest.approx(high, abs=1e-12)
    assert (result.count, result.n, result.method) == (7, 20, "wilson")


def test_difference_matches_newcombes_published_example_and_hand_computation() -> None:
    # Newcombe (1998), Stat Med 17:873, Table II example (a): 56/70 vs 48/80;
    # method 10 (hybrid score) gives 0.0524 to 0.3339.
    result = compare_proportions(56, 70, 48, 80)
    assert result.difference == pytest.approx(0.2)
    assert result.ci_low == pytest.approx(0.0524, abs=5e-5)
    assert result.ci_high == pytest.approx(0.3339, abs=5e-5)
    # the same interval built by hand from the two Wilson intervals
    p1, p2 = 56 / 70, 48 / 80
    l1, u1 = wilson(56, 70)
    l2, u2 = wilson(48, 80)
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    assert result.ci_low == pytest.approx(low, abs=1e-9)
    assert result.ci_high == pytest.approx(high, abs=1e-9)
    # p-value: the pooled two-proportion z test, written out
    pooled = 104 / 150
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 70 + 1 / 80))
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
    assert not result.small_sample


def test_fisher_exact_matches_the_lady_tasting_tea() -> None:
    # Fisher (1935): 3 of 4 cups right either way; two-sided p = 34/70 = 0.4857
    result = compare_proportions(3, 4, 1, 4)
    assert result.fisher_p_value == pytest.approx(34 / 70)
    assert result.small_sample


def test_rate_comparison_matches_peterborough_cohort_one_scale() -> None:
    # 142 vs 155 reconviction events per 100, 1,000 people each (MoJ, 2014)
    result = compare_rates(1420, 1000, 1550, 1000)
    assert result.ratio == pytest.approx(1420 / 1550)
    assert result.difference == pytest.approx(-13.0)
    # the exact interval is close to the log-normal (Wald) one for counts this large
    se = math.sqrt(1 / 1420 + 1 / 1550)
    assert result.ci_low == pytest.approx(1420 / 1550 * math.exp(-Z * se), abs=2e-3)
    assert result.ci_high is not None
    assert result.ci_high == pytest.approx(1420 / 1550 * math.exp(Z * se), abs=2e-3)
    # and the exact conditional test agrees with the normal approximation of it
    share = 1420 / 2970
    z = (share - 0.5) / math.sqrt(0.25 / 2970)
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), abs=2e-3)
    assert result.p_value is not None and result.p_value < 0.05


def test_rate_interval_with_no_events_is_the_exact_poisson_bound() -> None:
    result = rate_ci(0, 10)  # per 100: upper bound of a zero count is -ln(0.025)
    assert result.rate == 0
    assert result.ci_low == pytest.approx(0)
    assert result.ci_high == pytest.approx(-math.log(0.025) / 10 * 100, rel=1e-6)


# -- simulation -------------------------------------------------------------------------------


def test_interval_covers_zero_about_95_percent_of_the_time_when_there_is_no_difference(
) -> None:
    rng = np.random.default_rng(20100910)
    trials, n1, n2, p = 2000, 80, 90, 0.3
    covered = significant = 0
    for s1, s2 in zip(rng.binomial(n1, p, trials), rng.binomial(n2, p, trials), strict=True):
        result = compare_proportions(int(s1), n1, int(s2), n2)
        assert result.ci_low is not None and result.ci_high is not None
        covered += result.ci_low <= 0 <= result.ci_high
        significant += result.p_value is not None and result.p_value < 0.05
    assert 0.935 <= covered / trials <= 0.965
    assert 0.035 <= significant / trials <= 0.065


# -- edges ------------------------------------------------------------------------------------


def test_no_cases_gives_no_numbers() -> None:
    empty = proportion_ci(0, 0)
    assert (empty.rate, empty.ci_low, empty.ci_high) == (None, None, None)
    diff = compare_proportions(0, 0, 3, 10)
    assert (diff.difference, diff.ci_low, diff.ci_high, diff.p_value,
            diff.fisher_p_value) == (None, None, None, None, None)
    assert rate_ci(0, 0).rate is None
    assert compare_rates(3, 0, 1, 10).ratio is None


def test_all_successes_and_extremes() -> None:
    full = proportion_ci(10, 10)
    assert full.rate == 1 and full.ci_high == pytest.approx(1)
    assert full.ci_low == pytest.approx(wilson(10, 10)[0])
    same = compare_proportions(5, 5, 5, 5)
    assert same.difference == 0 and same.p_value == 1.0 and same.fisher_p_value == 1.0
    assert same.ci_low is not None and same.ci_high is not None
    assert same.ci_low < 0 < same.ci_high
    apart = compare_proportions(5, 5, 0, 5)
    assert apart.difference == 1
    assert apart.fisher_p_value == pytest.approx(2 / 252)  # 2 / C(10, 5)
    assert apart.ci_low is not None and apart.ci_low > 0 and apart.ci_high == pytest.approx(1)
    none = compare_rates(0, 10, 0, 10)
    assert none.ratio is None and none.p_value == 1.0
    only_first = compare_rates(5, 10, 0, 10)
    assert only_first.ratio is None and only_first.ci_high is None
    assert only_first.ci_low is not None and 0 < only_first.ci_low < 1
    assert only_first.p_value == pytest.approx(2 * 0.5**5)  # 5 of 5 events, even odds


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        proportion_ci(5, 4)
    with pytest.raises(InvalidArgumentError):
        compare_proportions(-1, 4, 1, 4)
    with pytest.raises(InvalidArgumentError):
        rate_ci(-1, 4)


def test_holm_adjusts_p_values_by_hand() -> None:
    """Holm (1979) on 0.01, 0.04, 0.03, 0.005: sorted 0.005*4 = 0.02, 0.01*3 = 0.03,
    0.03*2 = 0.06, 0.04*1 = 0.04 -> 0.06 (never below the one before); None stays None and
    does not count."""
    assert holm([0.01, 0.04, None, 0.03, 0.005]) == pytest.approx(
        [0.03, 0.06, None, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []
