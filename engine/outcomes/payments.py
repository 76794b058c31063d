"""Payment by results: a programme's payment mechanism, and the statement of what it pays.

Modelled on the Peterborough social impact bond (see ../shared/notes/domain.md):

* the **measure** is the frequency of reconviction events, counted per 100 people, for the
  intervention cohort against a matched comparison group; lower is better;
* a cohort whose own **reduction** — (comparison - intervention) / comparison — is at least the
  **cohort threshold** (10%) is paid early, for that cohort alone;
* a reduction of at least the **overall threshold** (7.5%) across the whole pilot (every cohort
  pooled: events summed, people summed) triggers the outcome payment on all cohorts;
* payments are a **price per reconviction event avoided**; events avoided =
  (comparison rate - intervention rate) / 100 * cohort size;
* **caps**: the per-cohort cap limits a cohort's early payment; the overall cap limits everything
  paid (early payments and the final payment together). The final payment is the capped outcome
  payment on all cohorts less the early payments already made, never below zero: an early payment
  is never clawed back, also when the overall threshold is missed.

`payment_statement` shows every input, every computed figure and one human-readable line of
arithmetic per step, so a commissioner can check the sums by hand. `final=False` gives an
interim statement (some cohorts still to come): early payments only.

Rounding rule (ROUNDING): everything is computed exactly (rational arithmetic) from the counts
— people and events, of the cohort and of its matched comparison group (matched_cohort_input:
never a rate rounded for display, which can put an exact 10% reduction at 9.99998%); the
threshold tests compare exact reductions with the thresholds. A payment is rounded to the
penny, half up (decimal.ROUND_HALF_UP), once — when events avoided * price is worked out — and
caps apply to those rounded amounts. The figures in the statement's fields are exact to 28
significant digits; the arithmetic lines show rates and events to 2 decimal places and
reductions to 1 (more where needed to show which side of a threshold a reduction falls),
trailing zeros dropped: rounded for display only. Amounts are in pounds.

Pure: no I/O. `mechanism_from_config` / `programme_from_config` validate mappings as read from
definitions/programme.yaml and raise InvalidArgumentError with every problem by field path
(details["fields"]).

This module gathers the payments' names; the parts are engine.outcomes.payment_mechanism
(the programme and its mechanism), engine.outcomes.payment_config (reading the programme
file), engine.outcomes.payment_statement (the statement), engine.outcomes.payment_figures (its
arithmetic as shown) and engine.outcomes.payment_checks (the bounds on every figure).
"""

from __future__ import annotations

from engine.outcomes.payment_checks import (
    MAX_AMOUNT,
    MAX_EVENTS,
    MAX_PEOPLE,
    MAX_PER,
    MAX_PLACES,
    MAX_RATE,
)
from engine.outcomes.payment_config import mechanism_from_config, programme_from_config
from engine.outcomes.payment_figures import GE, MINUS, POUND, TIMES
from engine.outcomes.payment_mechanism import (
    MEASURES,
    CohortDefinition,
    PaymentMechanism,
    Programme,
    assumed_figures,
)
from engine.outcomes.payment_statement import (
    ROUNDING,
    CohortInput,
    CohortStatement,
    PaymentStatement,
    matched_cohort_input,
    payment_statement,
)

__all__ = [
    "GE", "MAX_AMOUNT", "MAX_EVENTS", "MAX_PEOPLE", "MAX_PER", "MAX_PLACES", "MAX_RATE",
    "MEASURES", "MINUS", "POUND", "ROUNDING", "TIMES", "CohortDefinition", "CohortInput",
    "CohortStatement", "PaymentMechanism", "PaymentStatement", "Programme", "assumed_figures",
    "matched_cohort_input", "mechanism_from_config", "payment_statement",
    "programme_from_config",
]
