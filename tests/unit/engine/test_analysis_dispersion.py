"""Rate comparisons when reconvictions vary more between people than Poisson allows
(issue 12, item 4): the quasi-Poisson variance from per-person counts, checked on a small
example worked by hand and by simulation at variance/mean 1, 2.5 and 4."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InvalidArgumentError
from engine.outcomes.analysis import version_comparison
from engine.outcomes.disclosure import SUPPRESSED
from engine.outcomes.estimates import QUASI_POISSON, RateComparison, compare_rates
from engine.outcomes.protected_tables import protected_rows
from tests.unit.engine.test_analysis import Log


def test_quasi_poisson_on_a_hand_worked_example() -> None:
    # arm 1: 4 people, 4 events (mean 1); arm 2: 4 people, 2 events (mean 0.5)
    # Pearson X2 = (1 + 1 + 4 + 0) / 1 + (2.25 + 0.25 * 3) / 0.5 = 6 + 6 = 12 on 8 - 2 df
    result = compare_rates(4, 4, 2, 4, counts1=[0, 0, 3, 1], counts2=[2, 0, 0, 0])
    assert result.dispersion == pytest.approx(2.0)
    assert result.method.startswith("quasi-poisson")
    assert result.ratio == pytest.approx(2.0)
    se = math.sqrt(2.0 * (1 / 4 + 1 / 2))  # dispersion x (1/events1 + 1/events2)
    # Student's t on 8 - 2 df, as R's quasipoisson: t(0.975, 6) = 2.446912
    assert result.ci_low == pytest.approx(2.0 * math.exp(-2.446912 * se), rel=1e-6)
    assert result.ci_high == pytest.approx(2.0 * math.exp(2.446912 * se), rel=1e-6)
    # two-sided t tail on 6 df, in closed form for even df: t = ln 2 / se
    t = math.log(2.0) / se
    x = 6 / (6 + t * t)
    tail = math.sqrt(1 - x) * (1 + x / 2 + 3 * x * x / 8)  # P(|T| < t), 6 df
    assert result.p_value == pytest.approx(1 - tail)
    assert result.difference == pytest.approx(50.0)


def test_under_dispersed_counts_are_never_given_a_narrower_interval_than_poisson() -> None:
    # everyone has exactly one or two events: Pearson X2 is small, the variance stays Poisson's
    counts1, counts2 = [1, 2] * 20, [1] * 40
    result = compare_rates(60, 40, 40, 40, counts1=counts1, counts2=counts2)
    assert result.dispersion is not None and result.dispersion < 1
    se = math.sqrt(1 / 60 + 1 / 40)
    t78 = 1.990847  # t(0.975, 80 - 2)
    assert result.ci_low == pytest.approx(1.5 * math.exp(-t78 * se), rel=1e-6)
    assert result.ci_high == pytest.approx(1.5 * math.exp(t78 * se), rel=1e-6)


def test_without_per_person_counts_the_exact_poisson_method_is_named() -> None:
    result = compare_rates(1420, 1000, 1550, 1000)
    assert result.dispersion is None
    assert result.method == "exact conditional binomial (clopper-pearson)"


def test_counts_must_agree_with_the_totals() -> None:
    with pytest.raises(InvalidArgumentError):
        compare_rates(5, 2, 1, 2, counts1=[2, 2], counts2=[1, 0])  # 4 events, not 5
    with pytest.raises(InvalidArgumentError):
        compare_rates(4, 3, 1, 2, counts1=[2, 2], counts2=[1, 0])  # 2 people, not 3
    with pytest.raises(InvalidArgumentError):
        compare_rates(4, 2, 1, 2, counts1=[2, 2])  # one arm's counts without the other's


def _negative_binomial(rng: np.random.Generator, mean: float, dispersion: float,
                       size: tuple[int, int]) -> np.ndarray:
    """Counts with this mean and variance/mean = dispersion (Poisson at 1)."""
    if dispersion == 1:
        return rng.poisson(mean, size)
    shape = mean / (dispersion - 1)
    return rng.negative_binomial(shape, shape / (shape + mean), size)


@pytest.mark.slow
@pytest.mark.parametrize("dispersion", [1.0, 2.5, 4.0])
def test_rate_comparison_holds_its_error_rates_on_over_dispersed_counts(
        dispersion: float) -> None:
    """2,000 simulated trials of 1,000 people per arm (not the issue's 400: at 400 the
    binomial noise of a correct method alone is about 1.1 points, too close to the bounds):
    with no difference p < 0.05 in 5% +- 1.5 of them and the interval covers 1 in 95% +- 2;
    with a true ratio of 0.85 the interval covers it in 95% +- 2."""
    rng = np.random.default_rng(12_4_2026 + int(dispersion * 10))
    runs, people, mean = 2000, 1000, 1.5
    for true_ratio in (1.0, 0.85):
        arm1 = _negative_binomial(rng, mean * true_ratio, dispersion, (runs, people))
        arm2 = _negative_binomial(rng, mean, dispersion, (runs, people))
        significant = covered = 0
        for counts1, counts2 in zip(arm1, arm2, strict=True):
            result = compare_rates(int(counts1.sum()), people, int(counts2.sum()), people,
                                   counts1=counts1.tolist(), counts2=counts2.tolist())
            assert result.ci_low is not None and result.ci_high is not None
            covered += result.ci_low <= true_ratio <= result.ci_high
            significant += result.p_value is not None and result.p_value < 0.05
        if true_ratio == 1.0:
            assert 0.035 <= significant / runs <= 0.065, (dispersion, significant / runs)
        assert 0.93 <= covered / runs <= 0.97, (dispersion, true_ratio, covered / runs)


# -- the dashboard's comparison uses each person's count --------------------------------------


def spread_and_even_counts() -> tuple[Log, list[int], list[int]]:
    log = Log()
    ids1 = [log.case(1) for _ in range(10)]
    ids2 = [log.case(2) for _ in range(10)]
    return log, ids1, ids2


def test_version_comparison_of_counts_allows_for_their_dispersion() -> None:
    log, ids1, ids2 = spread_and_even_counts()
    spread = [0] * 8 + [6, 6]  # 12 events, mean 1.2: X2 = (8 x 1.44 + 2 x 23.04) / 1.2 = 48
    even = [1] * 10  # 10 events, X2 = 0
    counts = {**dict(zip(ids1, spread, strict=True)), **dict(zip(ids2, even, strict=True))}
    result = version_comparison(log.cases, log.events, counts, baseline=1,
                                outcome_name="reconvictions")
    vs = result.version(2).vs_baseline
    assert isinstance(vs, RateComparison)
    assert vs == compare_rates(10, 10, 12, 10, counts1=even, counts2=spread)
    assert vs.dispersion == pytest.approx(48 / 18)
    assert vs.method == QUASI_POISSON
    [row] = [r for r in result.rows()
             if r["group"] == "version 2" and r["measure"] == "reconvictions per 100"]
    assert row["dispersion"] == pytest.approx(48 / 18)
    assert row["p_value"] == pytest.approx(vs.p_value)
    assert row["exact_p_value"] is None  # a Wald test is not an exact one


def test_a_hidden_comparison_hides_its_dispersion_too() -> None:
    log, ids1, ids2 = spread_and_even_counts()
    ids2.append(log.case(3))  # a version of one case: below any disclosure threshold
    counts = dict.fromkeys([*ids1, *ids2], 1)
    rows = version_comparison(log.cases, log.events, counts, baseline=1,
                              outcome_name="reconvictions").rows()
    shown = protected_rows(rows, threshold=5)
    [row] = [r for r in shown
             if r["group"] == "version 3" and r["measure"] == "reconvictions per 100"]
    assert row["estimate"] == SUPPRESSED
    assert row["dispersion"] == SUPPRESSED


def test_quasi_poisson_agrees_with_statsmodels_glm_scaled_by_pearson_chi2() -> None:
    """The hand formula is the quasi-Poisson GLM's (log link, arm indicator, scale X2/df)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(124)
    counts1 = _negative_binomial(rng, 1.2, 3.0, (1, 300))[0]
    counts2 = _negative_binomial(rng, 1.6, 3.0, (1, 250))[0]
    ours = compare_rates(int(counts1.sum()), 300, int(counts2.sum()), 250,
                         counts1=counts1.tolist(), counts2=counts2.tolist())
    arm = np.r_[np.ones(300), np.zeros(250)]
    fit = sm.GLM(np.r_[counts1, counts2], sm.add_constant(arm),
                 family=sm.families.Poisson()).fit(scale="X2", use_t=True)
    assert ours.dispersion == pytest.approx(fit.scale)
    assert ours.dispersion is not None and ours.dispersion > 1
    low, high = np.exp(fit.conf_int()[1])
    assert ours.ratio == pytest.approx(math.exp(fit.params[1]))
    assert ours.ci_low == pytest.approx(low)
    assert ours.ci_high == pytest.approx(high)
    assert ours.p_value == pytest.approx(fit.pvalues[1])
    assert fit.df_resid == 548


def test_two_people_leave_no_dispersion_to_estimate_so_the_exact_method_is_used() -> None:
    result = compare_rates(3, 1, 1, 1, counts1=[3], counts2=[1])
    assert result.dispersion is None
    assert result.p_value == compare_rates(3, 1, 1, 1).p_value


def test_no_events_in_one_group_falls_back_to_the_exact_method_and_still_reports_dispersion(
) -> None:
    # no log ratio to put a Wald interval on: the exact conditional method, named as such
    result = compare_rates(5, 10, 0, 10, counts1=[5] + [0] * 9, counts2=[0] * 10)
    assert result.method == "exact conditional binomial (clopper-pearson)"
    assert result.dispersion == pytest.approx((4.5**2 + 9 * 0.5**2) / 0.5 / 18)  # 45 / 18
    assert result.p_value == pytest.approx(compare_rates(5, 10, 0, 10).p_value)


@given(counts1=st.lists(st.integers(0, 6), min_size=1, max_size=60),
       counts2=st.lists(st.integers(0, 6), min_size=1, max_size=60))
def test_the_dispersion_is_pearson_s_x2_over_n_minus_2_person_by_person(
        counts1: list[int], counts2: list[int]) -> None:
    """Counted once per distinct count (a group is 100,000s of people), it is still Pearson's
    X2 summed person by person around each arm's mean, over n - 2 (numpy, another way)."""
    result = compare_rates(sum(counts1), len(counts1), sum(counts2), len(counts2),
                           counts1=counts1, counts2=counts2)
    chi2 = sum(float(((arm - arm.mean()) ** 2).sum() / arm.mean())
               for arm in (np.array(counts1, dtype=float), np.array(counts2, dtype=float))
               if arm.sum() > 0)
    people = len(counts1) + len(counts2)
    expected = chi2 / (people - 2) if people > 2 else None
    assert result.dispersion == (None if expected is None
                                 else pytest.approx(expected, rel=1e-9, abs=1e-12))
