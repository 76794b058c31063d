"""A programme and its payment mechanism as configured (engine.outcomes.payments has the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.outcomes.outcome_measures import OutcomeMeasure, outcome_directions
from engine.outcomes.payment_checks import (
    MAX_AMOUNT,
    MAX_PER,
    Problems,
    add_problem,
    invalid,
    out_of_bounds,
    too_big,
)

MEASURES = {"frequency": "frequency of reconviction events per {per} people"}

# the figures `assumed` may name, and how a statement names them
ASSUMABLE = {
    "cohort_threshold_percent": "cohort threshold",
    "overall_threshold_percent": "overall threshold",
    "price_per_event_avoided": "price per event avoided",
    "caps.per_cohort": "cap per cohort",
    "caps.overall": "overall cap",
}


@dataclass(frozen=True)
class PaymentMechanism:
    """How a programme pays for outcomes. Percentages are percent (10 = 10%), amounts pounds."""

    cohort_threshold: Decimal
    """Reduction (percent) a cohort needs on its own to be paid early (Peterborough: 10)."""
    overall_threshold: Decimal
    """Reduction (percent) across all cohorts pooled that triggers payment (Peterborough: 7.5)."""
    price_per_event: Decimal
    """Pounds paid per reconviction event avoided."""
    cohort_cap: Decimal | None = None
    """Most one cohort's early payment can be, pounds; None: no cap."""
    overall_cap: Decimal | None = None
    """Most everything paid can be (early and final payments together), pounds; None: no cap."""
    early_payment: bool = True
    """Whether a cohort reaching cohort_threshold is paid early."""
    measure: str = "frequency"
    """The outcome measure: "frequency" of reconviction events (lower is better)."""
    per: int = 100
    """Rates are events per this many people."""
    assumed: tuple[str, ...] = ()
    """Figures of the programme file that are placeholders, not the contract's (e.g.
    "price_per_event_avoided"): every statement says so, so none is mistaken for a bill."""

    def __post_init__(self) -> None:
        problems = _mechanism_problems(self)
        if problems:
            raise invalid("invalid payment mechanism", problems)

    @property
    def measure_description(self) -> str:
        return MEASURES[self.measure].format(per=self.per)


def _mechanism_problems(mechanism: PaymentMechanism) -> Problems:
    problems: Problems = {}
    for name in ("cohort_threshold", "overall_threshold"):
        value = getattr(mechanism, name)
        if not 0 < value < 100:
            add_problem(problems, name, f"must be a percentage above 0 and below 100, not {value}")
    if mechanism.price_per_event <= 0:
        add_problem(problems, "price_per_event",
                    f"must be above 0, not {mechanism.price_per_event}")
    for name in ("cohort_cap", "overall_cap"):
        cap = getattr(mechanism, name)
        if cap is not None and cap < 0:
            add_problem(problems, name, f"must be 0 or more, not {cap}")
    for name, maximum in (("cohort_threshold", Decimal(100)), ("overall_threshold", Decimal(100)),
                          ("price_per_event", MAX_AMOUNT), ("cohort_cap", MAX_AMOUNT),
                          ("overall_cap", MAX_AMOUNT)):
        why = out_of_bounds(getattr(mechanism, name), maximum)
        if why is not None:
            problems[name] = [why]
    if too_big(mechanism.per, MAX_PER):
        add_problem(problems, "per", f"must be at most {MAX_PER}")
    if mechanism.measure not in MEASURES:
        add_problem(problems, "measure",
                    f"unknown measure {mechanism.measure!r}; known: {', '.join(sorted(MEASURES))}")
    if mechanism.per <= 0:
        add_problem(problems, "per", f"must be above 0, not {mechanism.per}")
    return problems


def assumed_figures(mechanism: PaymentMechanism) -> list[str]:
    """The placeholder figures of the mechanism (payment_mechanism.assumed), as a statement
    names them (e.g. "price per event avoided")."""
    return [ASSUMABLE.get(name, name) for name in mechanism.assumed]


@dataclass(frozen=True)
class CohortDefinition:
    """A cohort as the programme defines it: who is in it (releases in a span of months)."""

    name: str
    releases_from: str | None = None
    """First month of releases, YYYY-MM."""
    releases_to: str | None = None
    """Last month of releases, YYYY-MM; None when not known or still open."""
    description: str = ""


@dataclass(frozen=True)
class Programme:
    name: str
    mechanism: PaymentMechanism
    cohorts: tuple[CohortDefinition, ...] = ()
    description: str = ""
    # how outcomes are counted (engine.outcomes.OutcomeMeasure), configured, not coded
    measures: tuple[OutcomeMeasure, ...] = ()

    def outcome_directions(self) -> dict[str, str]:
        """Outcome name -> higher_is_better / lower_is_better, from the measures (their
        kinds and the step outcomes they name): which way each outcome is good news."""
        return outcome_directions(self.measures)
